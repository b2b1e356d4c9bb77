"""Drive searchers and schedulers synchronously (a simulated clock) on synthetic problems.

Shared by the tests of every searcher, so that "beats random search" means the same thing for
all of them: the same problems, budgets, seeds and statistics.
"""

from __future__ import annotations

import heapq
import math
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from jupyter_hpo.schedulers import make_scheduler
from jupyter_hpo.searchers import make_searcher
from jupyter_hpo.space import Categorical, Int, Real, Space
from jupyter_hpo.trial import Decision

Objective = Callable[[dict[str, Any], float], float]


def branin_space() -> Space:
    return Space({"x1": Real(-5, 10), "x2": Real(0, 15)})


def branin(config: dict[str, Any], epoch: float = 1.0) -> float:
    """Branin (minimum 0.397887 at three points); ``epoch`` is ignored."""
    x1, x2 = config["x1"], config["x2"]
    a, b, c, r, s, t = 1, 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return a * (x2 - b * x1 ** 2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


def mixed_space() -> Space:
    return Space({"lr": Real(1e-4, 1e-1, log=True), "units": Int(8, 512, log=True),
                  "act": Categorical("relu", "tanh", "sigmoid"), "dropout": Real(0.0, 0.6)})


def mixed_loss(config: dict[str, Any], epoch: float = 1.0) -> float:
    """A loss with a known optimum (lr 1e-2, 128 units, tanh, dropout 0.2) that decreases
    with ``epoch`` like a learning curve (``epoch`` in 1..27, the value at 27 is the target)."""
    distance = ((math.log10(config["lr"]) + 2) ** 2
                + (math.log2(config["units"]) - 7) ** 2 / 4
                + (config["dropout"] - 0.2) ** 2 * 10
                + {"relu": 0.3, "tanh": 0.0, "sigmoid": 0.8}[config["act"]])
    return distance + 2.0 * math.exp(-epoch / 6.0)


def run_fifo(searcher: str, objective: Objective, space: Space, trials: int, seed: int,
             workers: int = 1, mode: str = "min", **options: Any) -> list[float]:
    """Final values in trial order; ``workers`` proposals are pending at any time."""
    sched = make_scheduler("fifo", make_searcher(searcher, space, "loss", mode, seed,
                                                 **options), "loss", mode)
    values: dict[int, float] = {}
    running: list[int] = []
    started = 0
    while len(values) < trials:
        while len(running) < workers and started < trials:
            suggestion = sched.suggest(started)
            if suggestion is None:
                break
            running.append(started)
            started += 1
        if not running:
            break
        trial_id = running.pop(0)  # the oldest pending trial finishes first
        value = objective(sched.configs[trial_id], 27.0)
        sched.on_trial_result(trial_id, {"loss": value})
        sched.on_trial_complete(trial_id, {"loss": value})
        values[trial_id] = value
    return [values[i] for i in sorted(values)]


def run_hyperband(searcher: str, objective: Objective, space: Space, epochs_budget: float,
                  seed: int, workers: int = 4, max_t: int = 27, mode: str = "min",
                  **options: Any) -> tuple[float, float]:
    """Asynchronous Hyperband on a simulated clock (one epoch = one time unit) until
    ``epochs_budget`` epochs were spent; returns (best value at max_t, epochs spent)."""
    sched = make_scheduler("hyperband", make_searcher(searcher, space, "loss", mode, seed,
                                                      **options),
                           "loss", mode, max_t=max_t, grace_period=1, reduction_factor=3,
                           seed=seed)
    events: list[tuple[float, int, int]] = []  # (time, trial_id, epoch)
    spent, next_id, best = 0.0, 0, math.inf if mode == "min" else -math.inf
    better = (lambda a, b: a < b) if mode == "min" else (lambda a, b: a > b)
    for _ in range(workers):
        if sched.suggest(next_id) is not None:
            heapq.heappush(events, (1.0, next_id, 1))
            next_id += 1
    while events and spent < epochs_budget:
        now, trial_id, epoch = heapq.heappop(events)
        spent += 1
        value = objective(sched.configs[trial_id], float(epoch))
        decision = sched.on_trial_result(trial_id, {"epoch": epoch, "loss": value})
        if epoch == max_t and better(value, best):
            best = value
        if decision is Decision.CONTINUE and epoch < max_t:
            heapq.heappush(events, (now + 1, trial_id, epoch + 1))
            continue
        sched.on_trial_complete(trial_id, {"epoch": epoch, "loss": value})
        if sched.suggest(next_id) is not None:
            heapq.heappush(events, (now + 1, next_id, 1))
            next_id += 1
    return best, spent


def best_so_far(values: list[float], mode: str = "min") -> float:
    return min(values) if mode == "min" else max(values)


def wins_against_random(searcher: str, objective: Objective, space: Space, trials: int,
                        seeds: range, **options: Any) -> tuple[int, float, float]:
    """(seeds where ``searcher``'s best beats random's, its median best, random's median
    best), each searcher given the same budget and seeds."""
    ours = [best_so_far(run_fifo(searcher, objective, space, trials, s, **options))
            for s in seeds]
    theirs = [best_so_far(run_fifo("random", objective, space, trials, s)) for s in seeds]
    wins = sum(a < b for a, b in zip(ours, theirs))
    return wins, float(np.median(ours)), float(np.median(theirs))


def curve_loss(config: dict[str, Any], epoch: float = 1.0) -> float:
    """Learning curves on ``mixed_space`` whose early epochs are informative but imperfect.

    ``final(x) + a(x) * exp(-epoch / tau(x)) + noise``: the final loss is smallest (0) at lr
    10**-2.5, 128 units, tanh and dropout 0.25; the time constant ``tau`` shrinks with the
    learning rate and grows with dropout and width, so fast-converging configurations (large
    lr, little dropout) look better early than they end. ``noise`` is a deterministic value in
    [0, 0.02) per configuration and epoch; at epoch 27 (the target) every value is positive
    and the optimum's is below 0.03 (its curve is within 0.006 of its final loss)."""
    lr, units, act, dropout = config["lr"], config["units"], config["act"], config["dropout"]
    final = ((math.log10(lr) + 2.5) ** 2
             + (math.log2(units) - 7) ** 2 / 4
             + (dropout - 0.25) ** 2 * 10
             + {"relu": 0.2, "tanh": 0.0, "sigmoid": 0.6}[act])
    tau = 3.0 * math.sqrt(10 ** -2.5 / lr) * (1 + 2 * dropout) * (units / 128) ** 0.25
    start = 2.0 + {"relu": 0.0, "tanh": 0.3, "sigmoid": 0.5}[act]
    key = f"{lr!r}|{units!r}|{act!r}|{dropout!r}|{float(epoch)!r}".encode()
    noise = 0.02 * (zlib.crc32(key) / 2 ** 32)
    return final + start * math.exp(-epoch / tau) + noise
