"""Failed trials: how many trials each searcher sends where trials fail, against Optuna.

A training diverges (NaN) or runs out of memory in part of the space; the objective raises
there. A searcher that forgets failed trials never sees a result in that region, so a model
may keep proposing there. The problem: ``lr`` log-uniform in [1e-4, 1], ``wd`` in [0, 1];
trials with ``lr > 0.1`` (a quarter of the log range) fail; elsewhere the loss is
``(log10 lr - log10 0.05)^2 + 0.1 wd`` (minimum 0 at lr = 0.05, wd = 0, next to the failing
region). Each method runs ``--trials`` sequential trials per seed; the table gives the failed
trials and the best loss (mean over seeds).

    python benchmarks/failures.py              # 5 seeds, 40 trials: about a minute
    python benchmarks/failures.py --seeds 2 --trials 15   # a smoke test
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
import warnings
from collections.abc import Callable

FAIL_ABOVE = 0.1


def loss(lr: float, wd: float) -> float:
    if lr > FAIL_ABOVE:
        raise FloatingPointError("the loss diverged to nan")
    return (math.log10(lr) - math.log10(0.05)) ** 2 + 0.1 * wd


def ours(searcher: str) -> Callable[[int, int], tuple[int, float]]:
    def run(seed: int, trials: int) -> tuple[int, float]:
        from jupyter_hpo import Real, tune

        study = tune(lambda c: loss(c["lr"], c["wd"]),
                     {"lr": Real(1e-4, 1.0, log=True), "wd": Real(0.0, 1.0)},
                     metric="loss", mode="min", trials=trials, seed=seed, storage=None,
                     searcher=searcher, max_initial_failures=trials)
        failed = sum(t.status.value == "failed" for t in study.trials)
        return failed, study.best_value if study.best_value is not None else math.nan
    return run


def optuna(sampler: str) -> Callable[[int, int], tuple[int, float]]:
    def run(seed: int, trials: int) -> tuple[int, float]:
        import optuna as opt

        opt.logging.set_verbosity(opt.logging.ERROR)
        samplers = {"TPE": lambda: opt.samplers.TPESampler(seed=seed),
                    "GP": lambda: opt.samplers.GPSampler(seed=seed),
                    "random": lambda: opt.samplers.RandomSampler(seed=seed)}
        study = opt.create_study(direction="minimize", sampler=samplers[sampler]())

        def objective(trial: opt.Trial) -> float:
            return loss(trial.suggest_float("lr", 1e-4, 1.0, log=True),
                        trial.suggest_float("wd", 0.0, 1.0))

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study.optimize(objective, n_trials=trials, catch=(FloatingPointError,))
        failed = sum(t.state == opt.trial.TrialState.FAIL for t in study.trials)
        done = [t.value for t in study.trials if t.value is not None]
        return failed, min(done) if done else math.nan
    return run


METHODS = {
    "default (auto)": ours("auto"),
    "bayesopt": ours("bayesopt"),
    "tpe": ours("tpe"),
    "random": ours("random"),
    "Optuna TPE": optuna("TPE"),
    "Optuna GP": optuna("GP"),
    "Optuna random": optuna("random"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import optuna as opt

    import jupyter_hpo

    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs; Python "
          f"{platform.python_version()}, jupyter_hpo {jupyter_hpo.__version__}, optuna "
          f"{opt.__version__}")
    print(f"{args.trials} trials per seed, seeds 0-{args.seeds - 1}; trials with lr > "
          f"{FAIL_ABOVE} fail (a quarter of the log range)\n")
    print("| method | failed trials (per seed) | mean failed | mean best loss | seconds |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, run in METHODS.items():
        start = time.perf_counter()
        results = [run(seed, args.trials) for seed in range(args.seeds)]
        seconds = time.perf_counter() - start
        failed = [f for f, _ in results]
        best = [b for _, b in results if not math.isnan(b)]
        mean_best = sum(best) / len(best) if best else math.nan
        print(f"| {name} | {', '.join(map(str, failed))} | {sum(failed) / len(failed):.1f} | "
              f"{mean_best:.4f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
