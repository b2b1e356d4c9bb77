"""How well a rung ranks trials by its value alone, by the value extrapolated along the fall
since the rung below (the auto scheduler's ``extrapolate``) and by the value at max_t that a
pooled learning-curve model predicts (its ``curve_model``), on the recorded learning-curve
tables.

For each table and metric, it draws ``--measured`` rows as the trials that ran to the end (the
auto scheduler's measuring trials), fits the extrapolation's β on them with the scheduler's own
``extrapolation()``, and ranks 150 other rows at rungs 3 and 9 (the value at epoch 1 and 3
below them) by their value and by value + β·fall. It prints the Spearman ρ of each ranking with
the rows' final values, the same with the rule the scheduler applies (the extrapolation only
where its leave-one-out ρ on the measured rows beats the value's by the margin), and the
normalised regret of the best final value among the top third of each ranking (what a cut
keeping 1/3 would keep); means over ``--draws`` draws.

The pooled models (``jupyter_hpo.schedulers._curve_model``) take the curves' shape from the
measured rows' whole curves (``a + b·exp(-k·t/max_t)`` or the power law ``a + b·(t/max_t)^-c``,
k or c shared) and each ranked row's level and scale from its own values up to the rung; each
is shown alone and with the scheduler's rule (used only where its leave-one-out ρ on the
measured rows beats the value's by ``CURVE_MARGIN``). The last lines give the sums of the kept
third's regrets over all tables and both rungs, and each one's paired difference from the
scheduler's rule with its standard error over the draws.

With ``--rate-models`` it also ranks by the exponential whose rate differs between rows
(``jupyter_hpo.schedulers._rate_model``): taken from the measured rows near each row's
configuration (the space's unit cube; ``config rate``), from the measured rows alike together
with the row's own values up to the rung (``trial rate``, the auto scheduler's
``curve_model="trial"``), or both (``config + trial rate``); each alone and under the rule.

    python benchmarks/extrapolation.py [--measured 8] [--draws 100] [--tables gbm_synth ...]
        [--rate-models]
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np
from search_quality import TABLE_SPACES

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from jupyter_hpo.schedulers._adaptive import AdaptiveScheduler
from jupyter_hpo.schedulers._curve_model import (
    curve_predictions,
    curve_residuals,
    shared_rate,
)
from jupyter_hpo.schedulers._rank_correlation import extrapolation, spearman
from jupyter_hpo.schedulers._rate_model import fit_rate_model

RUNGS = ((3, 1), (9, 3))  # (rung, the rung below it), epochs counted from 1
FAMILIES = {"exp": "exponential", "power": "power law"}
RANKINGS = ("value", "extrapolated", "scheduler's rule", "exponential", "exponential's rule",
            "power law", "power law's rule")
#: ``--rate-models``: the rates of ``_rate_model``, ranking -> (by configuration, own
#: reports' weight), each alone and under the rule
RATE_MODELS = {"config rate": (True, 0.0), "trial rate": (False, 1.0),
               "config + trial rate": (True, 1.0)}
RATE_RANKINGS = tuple(f"{name}{rule}" for name in RATE_MODELS for rule in ("", "'s rule"))


def rho(a: np.ndarray, b: np.ndarray) -> float:
    return spearman(np.column_stack([a, b]))


def pooled(curves: np.ndarray, fit: np.ndarray, rest: np.ndarray, rung: int, family: str
           ) -> tuple[np.ndarray, float]:
    """The pooled model's predicted final values of the ``rest`` rows from their values up
    to ``rung``, the shape fitted on the ``fit`` rows' whole curves; and the leave-one-out ρ
    of its predictions for the ``fit`` rows (each with the shape fitted without it)."""
    max_t = curves.shape[1]
    epochs = np.arange(1, max_t + 1, dtype=float)
    best, held_out = shared_rate(curve_residuals(epochs, curves[fit], max_t, family))
    early = epochs[:rung]
    guesses = curve_predictions(early, curves[fit, :rung], max_t, family)
    held = guesses[np.arange(len(fit)), held_out]
    return (curve_predictions(early, curves[rest, :rung], max_t, family)[:, best],
            rho(held, curves[fit, -1]))


def by_rate(curves: np.ndarray, units: np.ndarray | None, fit: np.ndarray, rest: np.ndarray,
            rung: int, own_weight: float) -> tuple[np.ndarray, float]:
    """The same as ``pooled`` for the exponential whose rate differs between rows
    (``_rate_model``): from the ``fit`` rows' whole curves near each row's configuration
    (``units``, the space's unit cube; None weighs them alike) and the row's own values up to
    ``rung`` (weighed ``own_weight``)."""
    max_t = curves.shape[1]
    epochs = np.arange(1, max_t + 1, dtype=float)
    early = epochs[:rung]
    model = fit_rate_model(curve_residuals(epochs, curves[fit], max_t),
                           curve_residuals(early, curves[fit, :rung], max_t),
                           None if units is None else units[fit], own_weight)
    guesses = curve_predictions(early, curves[fit, :rung], max_t)
    held = guesses[np.arange(len(fit)), model.held_out]
    rates = model.rates(curve_residuals(early, curves[rest, :rung], max_t),
                        None if units is None else units[rest])
    predicted = curve_predictions(early, curves[rest, :rung], max_t)
    return predicted[np.arange(len(rest)), rates], rho(held, curves[fit, -1])


def unit_rows(data: np.lib.npyio.NpzFile, kind: str) -> np.ndarray:
    """The table rows' configurations in the unit cube of the kind's space."""
    space = TABLE_SPACES[kind]()
    columns = {name: data[name].tolist() for name in space}
    rows = len(next(iter(columns.values())))
    return np.array([space.to_unit({n: c[i] for n, c in columns.items()}) for i in range(rows)])


def compare(curves: np.ndarray, units: np.ndarray | None, measured: int, draws: int,
            rng: np.random.Generator) -> dict[int, dict[str, tuple[float, float, list[float]]]]:
    """rung -> ranking -> (mean ρ with the final value, mean regret of the kept third, the
    regret in each draw); the rate models too where ``units`` (the rows' configurations) are
    given."""
    rankings = RANKINGS if units is None else RANKINGS + RATE_RANKINGS
    final = curves.shape[1] - 1
    margin = AdaptiveScheduler.EXTRAPOLATION_MARGIN
    out: dict[int, dict[str, tuple[float, float, list[float]]]] = {}
    for rung, below in RUNGS:
        rhos: dict[str, list[float]] = {k: [] for k in rankings}
        regrets: dict[str, list[float]] = {k: [] for k in rankings}
        for _ in range(draws):
            rows = rng.permutation(len(curves))
            fit, rest = rows[:measured], rows[measured:measured + 150]
            value, before = curves[:, rung - 1], curves[:, below - 1]
            fall = value - before
            slope, rho_line = extrapolation(value[fit], fall[fit], curves[fit, final])
            plain = rho(value[fit], curves[fit, final])
            use = rho_line > plain + margin
            scores = {"value": value[rest], "extrapolated": value[rest] + slope * fall[rest]}
            scores["scheduler's rule"] = scores["extrapolated"] if use else scores["value"]
            for family, name in FAMILIES.items():
                predicted, rho_model = pooled(curves, fit, rest, rung, family)
                scores[name] = predicted
                scores[f"{name}'s rule"] = predicted \
                    if rho_model > plain + AdaptiveScheduler.CURVE_MARGIN else scores["value"]
            for name, (by_config, own_weight) in (RATE_MODELS if units is not None
                                                  else {}).items():
                predicted, rho_model = by_rate(curves, units if by_config else None, fit, rest,
                                               rung, own_weight)
                scores[name] = predicted
                scores[f"{name}'s rule"] = predicted \
                    if rho_model > plain + AdaptiveScheduler.CURVE_MARGIN else scores["value"]
            ends = curves[rest, final]
            spread = max(float(np.ptp(ends)), 1e-12)
            for name, score in scores.items():
                rhos[name].append(rho(score, ends))
                kept = np.argsort(score, kind="stable")[: len(rest) // 3]
                regrets[name].append((ends[kept].min() - ends.min()) / spread)
        out[rung] = {k: (float(np.mean(rhos[k])), float(np.mean(regrets[k])), regrets[k])
                     for k in rankings}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measured", type=int, default=8,
                        help="rows that ran to the end, on which β is fitted (8)")
    parser.add_argument("--draws", type=int, default=100, help="draws per table (100)")
    parser.add_argument("--tables", nargs="*", default=None,
                        help="table files' stems in benchmarks/tables (all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate-models", action="store_true",
                        help="also the rates per configuration and per trial (_rate_model)")
    args = parser.parse_args(argv)
    rankings = RANKINGS + RATE_RANKINGS if args.rate_models else RANKINGS
    files = sorted((HERE / "tables").glob("*.npz"))
    if args.tables:
        files = [f for f in files if f.stem in args.tables]
        if not files:
            parser.error(f"no table among {args.tables} in {HERE / 'tables'}")
    rng = np.random.default_rng(args.seed)
    print(f"Machine: {platform.platform()}, Python {platform.python_version()}; "
          f"{args.measured} measured rows, {args.draws} draws per table")
    print()
    print("| table | metric | rung | " + " | ".join(f"ρ {k}" for k in rankings)
          + " | kept-third regret: " + " | ".join(rankings) + " |")
    print("| --- | --- | ---: |" + " ---: |" * (2 * len(rankings)))
    totals = {k: np.zeros(args.draws) for k in rankings}  # per draw, over tables and rungs
    for path in files:
        with np.load(path) as data:
            metrics = [m for m in ("error", "logloss") if m in data.files]
            tables = {m: data[m].astype(np.float64) for m in metrics}
            units = unit_rows(data, path.stem.split("_")[0]) if args.rate_models else None
        for metric, curves in tables.items():
            finite = np.all(np.isfinite(curves), axis=1)
            for rung, row in compare(curves[finite], None if units is None else units[finite],
                                     args.measured, args.draws, rng).items():
                for name in rankings:
                    totals[name] += row[name][2]
                print(f"| {path.stem} | {metric} | {rung} | "
                      + " | ".join(f"{row[k][0]:.2f}" for k in rankings) + " | "
                      + " | ".join(f"{row[k][1]:.4f}" for k in rankings) + " |")
    print()
    print("Sum of kept-third regrets: "
          + ", ".join(f"{name} {total.mean():.3f}" for name, total in totals.items()))
    for base in ("scheduler's rule", "exponential's rule"):
        rule = totals[base]
        print(f"Paired difference from the {base} (± standard error over the draws): "
              + ", ".join(f"{name} {(total - rule).mean():+.3f} ± "
                          f"{(total - rule).std(ddof=1) / np.sqrt(args.draws):.3f}"
                          for name, total in totals.items() if total is not rule))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
