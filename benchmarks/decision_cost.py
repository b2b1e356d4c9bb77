"""Decision cost: the CPU that scheduling and searching take per report in a simulated study.

One quiet process replays a study of ``--trials`` trials (4 workers, grace period 1, reduction
factor 3, max_t 27) on an analytic multi-fidelity benchmark of ``search_quality.py`` with
``jupyter_hpo.simulation``, and times (``time.process_time``) every call into the study's
scheduler (``on_trial_result``, ``suggest``, ``promote``, ``add_trial``, the trial endings)
and into its searcher (``suggest``): the decisions, without the study's own bookkeeping. Each
method's study runs ``--repeat`` times (3), the methods in turns, and the least CPU counts:
the same study makes the same decisions, so the least is the one the machine disturbed least.
Each study starts after 0.3 s idle, so BLAS threads a GP study before it left spinning are not
counted in its calls (with OpenBLAS's default threads they were, ASHA's included).
With ``--seeds N`` each method runs the studies of N seeds and the table sums them: one
seed's report count moves the per-report ratio by as much as a change of the decisions does.
Optuna's TPE and random samplers with its ``HyperbandPruner`` run on the same benchmark through
ask-and-tell in the same kind of event loop, timing ``study.ask``, ``trial.report``,
``trial.should_prune`` and ``study.tell``. A second table counts the process's CPU while the
proposing thread sleeps after a FIFO bayesopt proposal: what BLAS worker threads burn spinning
after the GP's calls (none with ``OPENBLAS_NUM_THREADS=1``). A third times the promotion variant of
Hyperband alone (random searcher): each trial reports epoch 1 and then the next ``suggest``
runs, so the paused trials pile up; its total (the least of 3 runs) should grow about
linearly.

    python benchmarks/decision_cost.py            # 750 trials per method (a few minutes)
    python benchmarks/decision_cost.py --quick    # a few seconds (tests/test_decision_cost.py)
    python benchmarks/decision_cost.py --seeds 5  # the first table over 5 studies per method
"""

from __future__ import annotations

import argparse
import functools
import heapq
import itertools
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_quality import BENCHMARKS, _optuna_distribution

import jupyter_hpo
from jupyter_hpo.schedulers import HyperbandScheduler
from jupyter_hpo.searchers import make_searcher
from jupyter_hpo.simulation import Simulation
from jupyter_hpo.space import Real, Space

WORKERS = 4
GRACE, ETA = 1, 3
#: label -> (searcher, Hyperband type)
OURS = {
    "ASHA (random + Hyperband stopping)": ("random", "stopping"),
    "bayesopt + Hyperband stopping (MOBSTER)": ("bayesopt", "stopping"),
    "random + Hyperband promotion": ("random", "promotion"),
    "bayesopt + Hyperband promotion": ("bayesopt", "promotion"),
    "bohb + Hyperband stopping": ("bohb", "stopping"),
    "default (auto scheduler + auto searcher)": ("auto", "auto"),
}
OPTUNA = ("Optuna TPE + HyperbandPruner", "Optuna Random + HyperbandPruner")
ASHA = "ASHA (random + Hyperband stopping)"
#: idle time before each timed study: OpenBLAS's worker threads spin for about 0.1 s of CPU after
#: a GP's calls, which would otherwise be counted in the next study's calls (ASHA's included)
SETTLE_S = 0.3
SCHEDULER_CALLS = ("on_trial_result", "suggest", "promote", "add_trial", "on_trial_complete",
                   "on_trial_error", "on_trial_remove")


class Stopwatch:
    """CPU seconds spent in wrapped calls; a call made from inside another one is not counted
    twice."""

    def __init__(self) -> None:
        self.seconds, self.depth = 0.0, 0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.depth:
                return function(*args, **kwargs)
            self.depth += 1
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.process_time() - start
                self.depth -= 1

        return timed


class Cost:
    """What one method's study took: CPU seconds in decisions, reports and trials."""

    def __init__(self, seconds: float, reports: int, trials: int) -> None:
        self.seconds, self.reports, self.trials = seconds, reports, trials

    def __add__(self, other: Cost) -> Cost:
        """Two studies' costs together (several seeds of one method)."""
        return Cost(self.seconds + other.seconds, self.reports + other.reports,
                    self.trials + other.trials)

    @property
    def per_report_ms(self) -> float:
        return 1000 * self.seconds / max(self.reports, 1)

    @property
    def per_trial_ms(self) -> float:
        return 1000 * self.seconds / max(self.trials, 1)


def run_ours(bench: Any, searcher: str, kind: str, trials: int, seed: int,
             searcher_options: dict[str, Any] | None = None) -> Cost:
    """A simulated study with every scheduler and searcher call timed."""
    sim = Simulation(bench)
    options: dict[str, Any] = {"grace_period": GRACE, "reduction_factor": ETA}
    if kind != "auto":  # the auto scheduler is always the stopping kind
        options["type"] = kind
    study = sim.study(WORKERS, searcher=searcher, scheduler="auto" if kind == "auto"
                      else "hyperband", trials=trials, seed=seed, scheduler_options=options,
                      searcher_options=searcher_options or {})
    controller = study.controller
    assert controller is not None
    scheduler = controller.scheduler
    watch, reports = Stopwatch(), [0]
    result = scheduler.on_trial_result

    def counted(trial_id: int, values: dict[str, Any]) -> Any:
        reports[0] += 1
        return result(trial_id, values)

    scheduler.on_trial_result = counted  # type: ignore[method-assign]
    for name in SCHEDULER_CALLS:
        setattr(scheduler, name, watch.wrap(getattr(scheduler, name)))
    scheduler.searcher.suggest = watch.wrap(scheduler.searcher.suggest)  # type: ignore[method-assign]
    sim.run(study)
    return Cost(watch.seconds, reports[0], len(scheduler.configs))


def run_optuna(bench: Any, method: str, trials: int, seed: int) -> Cost:
    """Optuna ask-and-tell on the same clock; only its own calls are timed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if "TPE" in method:
        sampler: Any = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    pruner = optuna.pruners.HyperbandPruner(min_resource=GRACE, max_resource=bench.max_t,
                                            reduction_factor=ETA)
    direction = "minimize" if bench.mode == "min" else "maximize"
    watch = Stopwatch()
    # a fixed name: HyperbandPruner assigns brackets by hashing it with the trial number
    study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner,
                                study_name=f"decision-cost-{seed}")
    ask, tell = watch.wrap(study.ask), watch.wrap(study.tell)
    distributions = {name: _optuna_distribution(domain) for name, domain in bench.space.items()}
    events: list[tuple[float, int, Any, int]] = []
    order = itertools.count()
    now, started, reports = 0.0, 0, 0

    def schedule(trial: Any, epoch: int) -> None:
        _, seconds = bench.evaluate(trial.params, epoch)
        heapq.heappush(events, (now + seconds, next(order), trial, epoch))

    def start() -> None:
        nonlocal started
        if started < trials:
            started += 1
            trial = ask(distributions)
            schedule(trial, 1)

    for _ in range(WORKERS):
        start()
    while events:
        now, _, trial, epoch = heapq.heappop(events)
        value, _ = bench.evaluate(trial.params, epoch)
        reports += 1
        watch.wrap(trial.report)(value, epoch)
        if epoch == bench.max_t:
            tell(trial, value)
            start()
        elif watch.wrap(trial.should_prune)():
            tell(trial, state=optuna.trial.TrialState.PRUNED)
            start()
        else:
            schedule(trial, epoch + 1)
    return Cost(watch.seconds, reports, started)


def promotion_scaling(n: int, seed: int = 0) -> float:
    """CPU seconds of the promotion variant alone: each trial reports epoch 1 (and pauses),
    then the next suggest runs."""
    space = Space({"x": Real(0.0, 1.0)})
    scheduler = HyperbandScheduler(make_searcher("random", space, "loss", "min", seed=seed),
                                   "loss", "min", max_t=27, grace_period=GRACE,
                                   reduction_factor=ETA, type="promotion", seed=seed)
    losses = np.random.default_rng(seed).random(n)
    start = time.process_time()
    suggestion = scheduler.suggest(0)
    next_id = 1
    for i in range(n):
        assert suggestion is not None
        trial_id = suggestion.resume_trial
        if trial_id is None:
            trial_id, epoch = next_id - 1, 1
        else:
            epoch = 3  # a promoted trial reaches its next rung
        scheduler.on_trial_result(trial_id, {"epoch": epoch, "loss": float(losses[i])})
        suggestion = scheduler.suggest(next_id)
        if suggestion is not None and suggestion.resume_trial is None:
            next_id += 1
    return time.process_time() - start


def idle_cpu_after_proposals(observed: int = 100, proposals: int = 5, idle: float = 0.3,
                             seed: int = 0) -> list[tuple[float, float]]:
    """CPU seconds of a FIFO bayesopt proposal (one acquisition each, after ``observed``
    final results) and of the whole process during the ``idle`` seconds after it, while the
    calling thread sleeps: what BLAS threads left spinning burn (OpenBLAS's threads wait for
    work in a busy loop for about 0.1 s after each multithreaded call)."""
    bench = BENCHMARKS["branin-mf"]()
    searcher = make_searcher("bayesopt", bench.space, "loss", "min", seed=seed)
    rng = np.random.default_rng(seed)
    for trial_id in range(observed):
        config = bench.space.sample(rng)
        searcher.observe(trial_id, config, {"loss": float(bench.evaluate(config, bench.max_t)[0])},
                         final=True)
    rows = []
    for trial_id in range(observed, observed + proposals):
        time.sleep(idle)  # whatever ran before has stopped spinning
        start = time.process_time()
        searcher.suggest(trial_id)
        middle = time.process_time()
        time.sleep(idle)
        rows.append((middle - start, time.process_time() - middle))
        searcher.remove(trial_id)
    return rows


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"load average {load}; Python {platform.python_version()}, jupyter_hpo "
            f"{jupyter_hpo.__version__}, numpy {np.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="40 trials per method, scaling up to 400 trials (smoke test)")
    parser.add_argument("--trials", type=int, default=None, help="trials per study (750)")
    parser.add_argument("--benchmark", default="branin-mf", choices=sorted(BENCHMARKS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1,
                        help="studies of seeds --seed, --seed + 1, ...; the first table sums "
                             "their CPU, reports and trials (1)")
    parser.add_argument("--methods", nargs="*", default=None, help="subset of the methods")
    parser.add_argument("--repeat", type=int, default=None,
                        help="studies per method, in turns; the least CPU counts (3; quick 1)")
    parser.add_argument("--sizes", nargs="*", type=int, default=None,
                        help="trials in the promotion scaling table (250 500 1000 2000)")
    args = parser.parse_args(argv)
    trials = args.trials or (40 if args.quick else 750)
    sizes = args.sizes or ((100, 200, 400) if args.quick else (250, 500, 1000, 2000))
    methods = args.methods or [*OURS, *OPTUNA]
    bench = BENCHMARKS[args.benchmark]()
    try:
        import optuna
        peers = f", optuna {optuna.__version__}"
    except ImportError:
        methods = [m for m in methods if m not in OPTUNA]
        peers = ", optuna not installed"
    print(f"Machine: {machine()}{peers}")
    print(f"Benchmark {args.benchmark}, {trials} trials, {WORKERS} workers, grace period "
          f"{GRACE}, reduction factor {ETA}, max_t {bench.max_t}, "
          + (f"seed {args.seed}" if args.seeds == 1 else
             f"seeds {args.seed}-{args.seed + args.seeds - 1} (the table sums their studies)"))
    print()
    costs: dict[str, Cost] = {}
    for seed in range(args.seed, args.seed + args.seeds):
        least: dict[str, Cost] = {}
        for _ in range(args.repeat or (1 if args.quick else 3)):  # in turns: the machine drifts
            for method in methods:
                time.sleep(SETTLE_S)
                if method in OURS:
                    cost = run_ours(bench, *OURS[method], trials, seed)
                else:
                    cost = run_optuna(bench, method, trials, seed)
                print(f"  {method}, seed {seed}: {cost.seconds:.2f} s", file=sys.stderr,
                      flush=True)
                if method not in least or cost.seconds < least[method].seconds:
                    least[method] = cost
        for method, cost in least.items():
            costs[method] = costs[method] + cost if method in costs else cost
    reference = costs.get(ASHA)
    print("| method | trials | reports | decisions CPU (s) | per report (ms) | per trial (ms) "
          "| per report / ASHA |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for method, cost in costs.items():
        ratio = f"{cost.per_report_ms / reference.per_report_ms:.1f}" if reference else "-"
        print(f"| {method} | {cost.trials} | {cost.reports} | {cost.seconds:.3f} "
              f"| {cost.per_report_ms:.3f} | {cost.per_trial_ms:.3f} | {ratio} |")
    print()
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"CPU after a FIFO bayesopt proposal (100 final results; OPENBLAS_NUM_THREADS "
          f"{threads}), the proposing thread asleep for 0.3 s afterwards:")
    print()
    print("| proposal | proposal CPU (ms) | process CPU during the 0.3 s after it (ms) |")
    print("| ---: | ---: | ---: |")
    for i, (proposal, after) in enumerate(idle_cpu_after_proposals(proposals=3 if args.quick
                                                                  else 5)):
        print(f"| {i + 1} | {1000 * proposal:.1f} | {1000 * after:.1f} |")
    print()
    print("Promotion variant alone (each trial reports epoch 1, then the next suggest):")
    print()
    print("| trials | CPU (s) | per trial (µs) | growth vs previous row |")
    print("| ---: | ---: | ---: | ---: |")
    previous = None
    for n in sizes:
        seconds = min(promotion_scaling(n, args.seed) for _ in range(3))
        growth = "-" if previous is None else f"{seconds / previous:.2f}x"
        print(f"| {n} | {seconds:.4f} | {1e6 * seconds / n:.1f} | {growth} |")
        previous = max(seconds, 1e-9)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
