"""How well a rung ranks trials by its value alone and by the value extrapolated along the fall
since the rung below (the auto scheduler's ``extrapolate``), on the recorded learning-curve
tables.

For each table and metric, it draws ``--measured`` rows as the trials that ran to the end (the
auto scheduler's measuring trials), fits the extrapolation's β on them with the scheduler's own
``extrapolation()``, and ranks 150 other rows at rungs 3 and 9 (the value at epoch 1 and 3
below them) by their value and by value + β·fall. It prints the Spearman ρ of each ranking with
the rows' final values, the same with the rule the scheduler applies (the extrapolation only
where its leave-one-out ρ on the measured rows beats the value's by the margin), and the
normalised regret of the best final value among the top third of each ranking (what a cut
keeping 1/3 would keep); means over ``--draws`` draws.

    python benchmarks/extrapolation.py [--measured 8] [--draws 100] [--tables gbm_synth ...]
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from jupyter_hpo.schedulers._adaptive import (
    AdaptiveScheduler,
    extrapolation,
    spearman,
)

RUNGS = ((3, 1), (9, 3))  # (rung, the rung below it), epochs counted from 1
RANKINGS = ("value", "extrapolated", "scheduler's rule")


def rho(a: np.ndarray, b: np.ndarray) -> float:
    return spearman(np.column_stack([a, b]))


def compare(curves: np.ndarray, measured: int, draws: int, rng: np.random.Generator
            ) -> dict[int, dict[str, tuple[float, float]]]:
    """rung -> ranking -> (mean ρ with the final value, mean regret of the kept third)."""
    final = curves.shape[1] - 1
    out: dict[int, dict[str, tuple[float, float]]] = {}
    for rung, below in RUNGS:
        rhos: dict[str, list[float]] = {k: [] for k in RANKINGS}
        regrets: dict[str, list[float]] = {k: [] for k in RANKINGS}
        for _ in range(draws):
            rows = rng.permutation(len(curves))
            fit, rest = rows[:measured], rows[measured:measured + 150]
            value, before = curves[:, rung - 1], curves[:, below - 1]
            fall = value - before
            slope, rho_line = extrapolation(value[fit], fall[fit], curves[fit, final])
            use = rho_line > rho(value[fit], curves[fit, final]) \
                + AdaptiveScheduler.EXTRAPOLATION_MARGIN
            scores = {"value": value[rest], "extrapolated": value[rest] + slope * fall[rest]}
            scores["scheduler's rule"] = scores["extrapolated"] if use else scores["value"]
            ends = curves[rest, final]
            spread = max(float(np.ptp(ends)), 1e-12)
            for name, score in scores.items():
                rhos[name].append(rho(score, ends))
                kept = np.argsort(score, kind="stable")[: len(rest) // 3]
                regrets[name].append((ends[kept].min() - ends.min()) / spread)
        out[rung] = {k: (float(np.mean(rhos[k])), float(np.mean(regrets[k])))
                     for k in RANKINGS}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measured", type=int, default=8,
                        help="rows that ran to the end, on which β is fitted (8)")
    parser.add_argument("--draws", type=int, default=100, help="draws per table (100)")
    parser.add_argument("--tables", nargs="*", default=None,
                        help="table files' stems in benchmarks/tables (all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    files = sorted((HERE / "tables").glob("*.npz"))
    if args.tables:
        files = [f for f in files if f.stem in args.tables]
        if not files:
            parser.error(f"no table among {args.tables} in {HERE / 'tables'}")
    rng = np.random.default_rng(args.seed)
    print(f"Machine: {platform.platform()}, Python {platform.python_version()}; "
          f"{args.measured} measured rows, {args.draws} draws per table")
    print()
    print("| table | metric | rung | ρ value | ρ extrapolated | ρ scheduler's rule | "
          "kept-third regret: value | extrapolated | rule |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    totals = dict.fromkeys(RANKINGS, 0.0)
    for path in files:
        with np.load(path) as data:
            metrics = [m for m in ("error", "logloss") if m in data.files]
            tables = {m: data[m].astype(np.float64) for m in metrics}
        for metric, curves in tables.items():
            curves = curves[np.all(np.isfinite(curves), axis=1)]
            for rung, row in compare(curves, args.measured, args.draws, rng).items():
                for name in RANKINGS:
                    totals[name] += row[name][1]
                print(f"| {path.stem} | {metric} | {rung} | "
                      + " | ".join(f"{row[k][0]:.2f}" for k in RANKINGS) + " | "
                      + " | ".join(f"{row[k][1]:.4f}" for k in RANKINGS) + " |")
    print()
    print("Sum of kept-third regrets: "
          + ", ".join(f"{name} {total:.3f}" for name, total in totals.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
