"""The GP searcher proposes with one BLAS thread: cheaper for its small matrices, the same
proposals whatever the process's BLAS setting, and the setting is restored afterwards."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from jupyter_hpo import Int, Real
from jupyter_hpo.searchers._blas_threads import one_blas_thread
from jupyter_hpo.simulation import Simulation
from jupyter_hpo.space import Space


def blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_one_thread_inside_and_the_previous_setting_after():
    with threadpool_limits(limits=2, user_api="blas"):
        with one_blas_thread():
            assert blas_threads() == {1}
            with one_blas_thread():  # nested
                assert blas_threads() == {1}
            assert blas_threads() == {1}
        assert blas_threads() == {2}


def test_threads_proposing_at_once_take_turns_and_the_setting_is_restored_after_both():
    entered, inside = threading.Event(), threading.Event()
    seen: list[set[int]] = []

    def other() -> None:
        entered.set()
        with one_blas_thread():  # waits until the main thread has left
            inside.set()
            seen.append(blas_threads())
        seen.append(blas_threads())

    with threadpool_limits(limits=2, user_api="blas"):
        worker = threading.Thread(target=other)
        with one_blas_thread():
            worker.start()
            assert entered.wait(10)
            assert not inside.wait(0.2)
            assert blas_threads() == {1}
        worker.join(10)
        assert seen == [{1}, {2}]
        assert blas_threads() == {2}


def test_an_exception_inside_still_restores_the_setting():
    with threadpool_limits(limits=2, user_api="blas"):
        with pytest.raises(RuntimeError), one_blas_thread():
            raise RuntimeError("boom")
        assert blas_threads() == {2}


@dataclass
class Bowl:
    """Learning curves that fall towards a 3-d bowl's value (a simulated clock: 1 s/epoch)."""

    space: Space = field(default_factory=lambda: Space({
        "x": Real(0.0, 1.0), "y": Real(1e-3, 1.0, log=True), "n": Int(1, 40)}))
    metric: str = "loss"
    mode: str = "min"
    max_t: int = 27
    resource: str = "epoch"

    def evaluate(self, config: dict[str, Any], epoch: int) -> tuple[float, float]:
        final = (config["x"] - 0.3) ** 2 + math.log10(config["y"] / 0.05) ** 2 / 9 \
            + (config["n"] - 17) ** 2 / 400
        return final + 0.5 * (1.0 + final) * math.exp(-epoch / 4.0), 1.0


def _proposals(threads: int) -> dict[int, dict]:
    sim = Simulation(Bowl())
    with threadpool_limits(limits=threads, user_api="blas"):
        study = sim.study(4, searcher="bayesopt", scheduler="hyperband", trials=120, seed=5,
                          scheduler_options={"grace_period": 1, "reduction_factor": 3})
        sim.run(study)
        assert blas_threads() == {threads}  # what the study found is left as it was
    assert study.controller is not None
    return dict(study.controller.scheduler.configs)


def test_a_seeded_study_proposes_the_same_whatever_the_blas_threads():
    assert _proposals(2) == _proposals(1)
