"""Paired comparison of two methods from the per-seed regrets of ``search_quality.py --finals``.

A change to the default is judged by how much it moves the sum of its mean final regrets over
all benchmarks, with the standard error of that difference paired by seed (the same seed draws
the same first configurations and table noise for every method), and by which benchmarks move
by more than two paired standard errors. Several files may be given (say the default's run and a
variant's, or seeds 0-29 and 30-89): each run is keyed by its seed, so runs are paired only on
the seeds both methods have, and a method found in two files for the same seed must agree.

    python benchmarks/compare_finals.py "default (auto)" v1 base.json v1.json --seeds 30-89
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

Runs = dict[str, dict[str, dict[int, float]]]  # benchmark -> method -> seed -> regret


def load(paths: list[Path], key: str) -> Runs:
    """The regrets under ``key`` ("final" or "at_0.3") of every file, keyed by seed (files of
    older runs, without "seeds", hold seeds 0, 1, ...)."""
    runs: Runs = {}
    for path in paths:
        for bench, methods in json.loads(path.read_text()).items():
            for method, values in methods.items():
                if key not in values:
                    raise ValueError(f"{path}: {method} on {bench} has no {key!r} regrets "
                                     f"(write the file with search_quality.py --finals)")
                seeds = values.get("seeds", range(len(values[key])))
                into = runs.setdefault(bench, {}).setdefault(method, {})
                for seed, regret in zip(seeds, values[key]):
                    if into.setdefault(seed, regret) != regret:
                        raise ValueError(f"{method} on {bench}, seed {seed}: {path} says "
                                         f"{regret}, an earlier file {into[seed]}")
    return runs


def compare(runs: Runs, base: str, other: str, seeds: range | None = None) -> list[str]:
    """Lines of the comparison: the sums and their paired difference ± its standard error over
    seeds, then each benchmark where the two differ, with its paired z (``<--`` beyond 2)."""
    benches = [b for b, methods in runs.items() if base in methods and other in methods]
    if not benches:
        found = sorted({m for methods in runs.values() for m in methods})
        raise ValueError(f"no benchmark has both {base!r} and {other!r}; the files hold "
                         f"{found}")
    common = set.intersection(*(set(runs[b][base]) & set(runs[b][other]) for b in benches))
    chosen = sorted(s for s in common if seeds is None or s in seeds)
    if len(chosen) < 2:
        raise ValueError(f"{len(chosen)} seed(s) in common: a standard error needs two")
    totals = [0.0] * len(chosen)
    lines, sum_base, sum_other = [], 0.0, 0.0
    for bench in benches:
        a = [runs[bench][base][s] for s in chosen]
        b = [runs[bench][other][s] for s in chosen]
        diff = [y - x for x, y in zip(a, b)]
        totals = [t + d for t, d in zip(totals, diff)]
        sum_base += statistics.mean(a)
        sum_other += statistics.mean(b)
        if a == b:
            continue
        se = statistics.stdev(diff) / math.sqrt(len(chosen))
        z = statistics.mean(diff) / se if se > 0 else 0.0
        flag = "  <--" if abs(z) > 2 else ""
        lines.append(f"  {bench:30s} {statistics.mean(a):.4f} -> {statistics.mean(b):.4f} "
                     f"({z:+.1f} SE){flag}")
    se_total = statistics.stdev(totals) / math.sqrt(len(chosen))
    plural = "" if len(benches) == 1 else "s"
    head = (f"seeds {chosen[0]}-{chosen[-1]} ({len(chosen)}), {len(benches)} benchmark{plural}: "
            f"{base} {sum_base:.3f}, {other} {sum_other:.3f}, difference "
            f"{sum_other - sum_base:+.3f} ± {se_total:.3f}")
    return [head, *lines]


def seed_range(text: str) -> range:
    """``30-89`` -> seeds 30 to 89; ``5`` -> seed 5."""
    first, _, last = text.partition("-")
    try:
        lo, hi = int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write FIRST-LAST, e.g. 30-89") from None
    if lo < 0 or hi < lo:
        raise argparse.ArgumentTypeError(f"{text!r}: write FIRST-LAST with 0 <= FIRST <= LAST")
    return range(lo, hi + 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the method compared against, e.g. 'default (auto)'")
    parser.add_argument("other", help="the method (or --variant name) judged")
    parser.add_argument("files", nargs="+", type=Path, help="--finals files of search_quality")
    parser.add_argument("--key", choices=("final", "at_0.3"), default="final",
                        help="the final regret (default) or the regret at 0.3 of the budget")
    parser.add_argument("--seeds", type=seed_range, default=None, metavar="FIRST-LAST",
                        help="only these seeds (default: every seed both methods ran)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    try:
        lines = compare(load(args.files, args.key), args.base, args.other, args.seeds)
    except ValueError as exc:
        parser.error(str(exc))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
