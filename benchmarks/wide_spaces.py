"""Proposal cost in wide spaces: the default searcher's GP with OpenBLAS's default threads and
with one, and our TPE, next to Optuna's samplers, in the same run.

Each row is one study of a cheap objective (a sum of the numbers plus a value per category) in
a fresh interpreter, so that ``OPENBLAS_NUM_THREADS`` takes effect: ours is
``jupyter_hpo.tune`` with its defaults (the auto searcher, FIFO: no resource) and one worker,
and with ``searcher="tpe"``;
Optuna's is ``study.optimize`` with ``GPSampler`` (its Gaussian process) and ``TPESampler``.
Wall-clock and process CPU seconds of the whole study, objective included (it costs
microseconds). Wide spaces are where the GP's matrix products grow large enough for OpenBLAS
to start threads (see ``jupyter_hpo/searchers/_blas.py``).

    python benchmarks/wide_spaces.py            # about two minutes on 2 cores
    python benchmarks/wide_spaces.py --quick    # small studies, a few seconds each
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

#: name -> (number of Real dimensions, choices of one categorical (0: none), trials)
SPACES = {"12 reals": (12, 0, 200), "40 reals": (40, 0, 120),
          "1 real + a 500-way categorical": (1, 500, 60)}
OURS = "jupyter_hpo default (auto, GP)"
OUR_TPE = "jupyter_hpo tpe"
PEERS = ("Optuna GPSampler", "Optuna TPESampler")

CHILD = r"""
import json, sys, time
reals, choices, trials, method = json.loads(sys.argv[1])
def value(numbers, category):
    return sum(numbers) + (0 if category is None else (int(category[1:]) % 7) / 7)
start, cpu = time.perf_counter(), time.process_time()
if method.startswith("jupyter_hpo"):
    from jupyter_hpo import Categorical, Real, tune
    space = {f"x{i}": Real(0, 1) for i in range(reals)}
    if choices:
        space["cat"] = Categorical(*[f"c{i}" for i in range(choices)])
    tune(lambda c: value([c[f"x{i}"] for i in range(reals)], c.get("cat")), space,
         metric="loss", mode="min", trials=trials, workers=1, seed=0, storage=None,
         searcher="tpe" if method.endswith("tpe") else "auto")
else:
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = (optuna.samplers.GPSampler(seed=0) if "GP" in method
               else optuna.samplers.TPESampler(seed=0))
    def objective(t):
        numbers = [t.suggest_float(f"x{i}", 0, 1) for i in range(reals)]
        category = t.suggest_categorical("cat", [f"c{i}" for i in range(choices)]) \
            if choices else None
        return value(numbers, category)
    optuna.create_study(sampler=sampler).optimize(objective, n_trials=trials)
print(json.dumps([time.perf_counter() - start, time.process_time() - cpu]))
"""


def run(method: str, reals: int, choices: int, trials: int, threads: str | None
        ) -> tuple[float, float]:
    """(wall, CPU) seconds of one study in a fresh interpreter."""
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)
    if threads is not None:
        env["OPENBLAS_NUM_THREADS"] = threads
    done = subprocess.run([sys.executable, "-c", CHILD,
                           json.dumps([reals, choices, trials, method])],
                          env=env, capture_output=True, text=True, check=True, timeout=1800)
    wall, cpu = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of the trials")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; seconds of a whole study "
          f"(wall / process CPU), one worker")
    print()
    print("| space | trials | method | BLAS threads | wall (s) | CPU (s) |")
    print("| --- | ---: | --- | --- | ---: | ---: |")
    for name, (reals, choices, trials) in SPACES.items():
        trials = max(10, trials // 5) if args.quick else trials
        rows = [(OURS, None), (OURS, "1"), (OUR_TPE, None), *((peer, None) for peer in PEERS)]
        for method, threads in rows:
            wall, cpu = run(method, reals, choices, trials, threads)
            shown = "default" if threads is None else threads
            print(f"| {name} | {trials} | {method} | {shown} | {wall:.2f} | {cpu:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
