"""The study runs a model-based searcher's proposals with one BLAS thread and restores the
limits afterwards (OpenBLAS's threads made proposals 50x slower in a busy 2-core kernel)."""

from __future__ import annotations

import threading
import time

import numpy as np  # noqa: F401  (loads numpy's OpenBLAS, which the limits apply to)
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from jupyter_hpo.controller.blas_threads import one_blas_thread
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.searchers import Searcher
from jupyter_hpo.space import Real, Space
from jupyter_hpo.study import Study


def blas_threads() -> list[int]:
    """The thread counts of the loaded BLAS libraries."""
    return sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})


class Recording(Searcher):
    """Proposes 0.1, 0.2, ... and records the BLAS threads each proposal ran with."""

    def __init__(self, *args, uses_blas: bool) -> None:
        super().__init__(*args)
        self.uses_blas = uses_blas
        self.seen: list[list[int]] = []

    def _suggest(self, trial_id):
        self.seen.append(blas_threads())
        return {"x": (trial_id % 10) / 10}


@pytest.mark.parametrize("uses_blas", [True, False])
@pytest.mark.parametrize("background", [False, True])
def test_proposals_of_a_searcher_that_uses_blas_run_with_one_thread(uses_blas, background):
    """Also when the study proposes from its loop's thread and its trials' threads (started
    in the background), whichever thread sets or restores the limit."""
    space = Space({"x": Real(0, 1)})

    def objective(config):
        time.sleep(0.002)
        return config["x"]

    with threadpool_limits(limits=2, user_api="blas"):
        searcher = Recording(space, "loss", "min", uses_blas=uses_blas)
        study = Study(FunctionObjective(objective, "loss"), space, metric="loss", mode="min",
                      trials=12, workers=2, searcher=searcher, storage="none")
        if background:
            study.start()
            assert study.wait(timeout=30)
        else:
            study.run()
        assert blas_threads() == [2]  # restored after every proposal
    assert len(searcher.seen) == 12
    assert all(seen == ([1] if uses_blas else [2]) for seen in searcher.seen)


def test_nested_and_concurrent_blocks_share_one_limit_and_restore_it_once():
    with threadpool_limits(limits=2, user_api="blas"):
        inside, entered, leave = [], threading.Barrier(2), threading.Event()

        def propose():
            with one_blas_thread():
                entered.wait()
                inside.append(blas_threads())
                leave.wait()

        other = threading.Thread(target=propose)
        other.start()
        with one_blas_thread(), one_blas_thread():
            entered.wait()
            inside.append(blas_threads())
        assert blas_threads() == [1]  # the other thread still proposes
        leave.set()
        other.join()
        assert inside == [[1], [1]] and blas_threads() == [2]
