"""GPU detection, slot planning, and the devices thread trials get."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from jupyter_hpo import HPOError, Real, Space, Study
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.resources import FAKE_GPUS_ENV, Slot, detect_gpus, plan_slots
from jupyter_hpo.widgets import render


def test_fake_gpu_count_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(FAKE_GPUS_ENV, "3")
    assert detect_gpus() == 3
    monkeypatch.setenv(FAKE_GPUS_ENV, "two")
    with pytest.raises(HPOError, match="whole number"):
        detect_gpus()


def test_without_resource_options_there_is_one_cpu_slot_per_worker():
    assert plan_slots(3) == [Slot(), Slot(), Slot()]
    assert plan_slots(None) == [Slot()]
    assert Slot().label == "cpu" and Slot().environment() == {}


def test_fractional_gpus_pack_trials_onto_each_gpu():
    slots = plan_slots(None, gpus_per_trial=0.5, gpu_count=2)
    assert [s.gpus for s in slots] == [(0,), (0,), (1,), (1,)]
    assert [s.environment()["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0", "0", "1", "1"]
    quarter = plan_slots(None, gpus_per_trial=0.25, gpu_count=1)
    assert len(quarter) == 4 and {s.label for s in quarter} == {"GPU 0"}


def test_whole_gpus_per_trial_and_the_workers_cap():
    slots = plan_slots(None, gpus_per_trial=2, gpu_count=5)
    assert [s.gpus for s in slots] == [(0, 1), (2, 3)]
    assert slots[1].label == "GPUs 2,3"
    assert slots[1].environment()["CUDA_VISIBLE_DEVICES"] == "2,3"
    assert len(plan_slots(3, gpus_per_trial=0.5, gpu_count=4)) == 3


def test_cpus_per_trial_caps_concurrency_and_sets_thread_counts():
    slots = plan_slots(8, cpus_per_trial=2, cpu_count=4)
    assert len(slots) == 2
    assert slots[0].environment() == {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    assert len(plan_slots(None, cpus_per_trial=1, cpu_count=3)) == 3
    assert len(plan_slots(2, cpus_per_trial=8, cpu_count=4)) == 1  # never zero slots


@pytest.mark.parametrize("kwargs, message", [
    ({"gpus_per_trial": 0.3, "gpu_count": 2}, "fraction 1/k"),
    ({"gpus_per_trial": 1.5, "gpu_count": 2}, "whole number"),
    ({"gpus_per_trial": -1, "gpu_count": 2}, "must be > 0"),
    ({"gpus_per_trial": 3, "gpu_count": 2}, "needs 3 GPUs, but this machine has 2"),
    ({"gpus_per_trial": 0.5, "gpu_count": 0}, FAKE_GPUS_ENV),
    ({"cpus_per_trial": 0}, "--cpus-per-trial is 0, but must be > 0"),
])
def test_bad_resource_requests_say_what_to_do(kwargs, message):
    with pytest.raises(HPOError, match=None) as info:
        plan_slots(None, **kwargs)
    assert message in str(info.value)


def test_thread_trials_get_the_device_of_their_slot(monkeypatch):
    monkeypatch.setenv(FAKE_GPUS_ENV, "2")
    barrier = threading.Barrier(4, timeout=30)
    seen = []

    def fn(config, trial, device):
        seen.append((trial.trial_id, str(device), trial.resources))
        barrier.wait()  # all four run at once, so each holds its own slot
        return config["x"]

    study = Study(FunctionObjective(fn, "v"), Space({"x": Real(0, 1)}), metric="v",
                  mode="max", trials=4, workers=None, gpus_per_trial=0.5, seed=0)
    study.run()
    assert study.workers == 4
    assert Counter(device for _, device, _ in seen) == {"cuda:0": 2, "cuda:1": 2}
    assert Counter(label for _, _, label in seen) == {"GPU 0": 2, "GPU 1": 2}
    header, rows = render.table_rows(study, sort_by="trial")
    assert header[-3] == "device"
    assert Counter(row[-3] for row in rows) == {"GPU 0": 2, "GPU 1": 2}
    assert "device" not in render.table_rows(Study(
        FunctionObjective(fn, "v"), Space({"x": Real(0, 1)}), metric="v", mode="max"))[0]
