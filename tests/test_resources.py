"""GPU detection, slot planning, and the devices thread trials get."""

from __future__ import annotations

import math
import os
import threading
from collections import Counter

import pytest

from jupyter_hpo import HPOError, Real, Space, Study, tune
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.resources import FAKE_GPUS_ENV, Slot, detect_gpus, plan_slots, slots_note
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


def test_slots_note_says_why_fewer_trials_run_at_once_than_asked():
    assert slots_note(8, None, 2, 2, cpu_count=4) == (
        "--workers 8: 2 trials run at once, as many as 4 CPUs allow with --cpus-per-trial 2")
    assert slots_note(2, None, 8, 1, cpu_count=4) == (
        "--cpus-per-trial 8 is more than the 4 CPUs of this machine: one trial runs at a time, "
        "with 8 threads")
    assert slots_note(3, 1, None, 2, cpu_count=4) == (
        "--workers 3: 2 trials run at once, as many as the GPUs hold with --gpus-per-trial 1")
    assert slots_note(2, None, 2, 2, cpu_count=4) is None
    assert slots_note(None, None, 1, 4, cpu_count=4) is None
    assert slots_note(None, 0.5, None, 4, cpu_count=4) is None


def test_a_study_notes_the_workers_it_could_not_run(monkeypatch, capsys):
    monkeypatch.setenv(FAKE_GPUS_ENV, "1")
    fn = FunctionObjective(lambda config: config["x"], "v")
    study = Study(fn, Space({"x": Real(0, 1)}), metric="v", mode="max", trials=2, workers=3,
                  gpus_per_trial=0.5)
    assert study.workers == 2
    assert study.notes == [("--workers 3: 2 trials run at once, as many as the GPUs hold "
                            "with --gpus-per-trial 0.5")]
    too_many = (os.cpu_count() or 1) + 1
    study = Study(fn, Space({"x": Real(0, 1)}), metric="v", mode="max", trials=2,
                  cpus_per_trial=too_many)
    assert study.workers == 1
    assert study.notes == [(f"--cpus-per-trial {too_many} is more than the "
                            f"{os.cpu_count()} CPUs of this machine: one trial runs at a time, "
                            f"with {too_many} threads")]
    assert Study(fn, Space({"x": Real(0, 1)}), metric="v", mode="max", workers=2).notes == []


@pytest.mark.parametrize("kwargs, message", [
    ({"gpus_per_trial": 0.3, "gpu_count": 2}, "fraction 1/k"),
    ({"gpus_per_trial": 1.5, "gpu_count": 2}, "whole number"),
    ({"gpus_per_trial": -1, "gpu_count": 2}, "must be > 0 (or 0 for none)"),
    ({"gpus_per_trial": 3, "gpu_count": 2},
     "gpus_per_trial is 3, which needs 3 GPUs, but this machine has 2"),
    ({"gpus_per_trial": 0.5, "gpu_count": 0}, FAKE_GPUS_ENV),
    ({"gpus_per_trial": 0.5, "gpu_count": 0}, "leave gpus_per_trial out to run on the CPU"),
    ({"cpus_per_trial": 0}, "cpus_per_trial is 0, but must be > 0"),
    ({"cpus_per_trial": math.inf}, ("cpus_per_trial is inf, but must be a finite number > 0: "
                                    "the CPU threads each trial uses, e.g. cpus_per_trial=2")),
    ({"cpus_per_trial": "2"},  # was Python's "'>' not supported between ..."
     "cpus_per_trial is '2' (str), but must be a number, e.g. cpus_per_trial=1"),
    ({"cpus_per_trial": True}, "cpus_per_trial is True (bool), but must be a number"),
    ({"gpus_per_trial": "1", "gpu_count": 2},
     "gpus_per_trial is '1' (str), but must be a number"),
])
def test_bad_resource_requests_say_what_to_do(kwargs, message):
    with pytest.raises(HPOError, match=None) as info:
        plan_slots(None, **kwargs)
    assert message in str(info.value)


@pytest.mark.timeout(60)
def test_an_infinite_cpus_per_trial_is_refused_before_any_trial(capsys):
    """cpus_per_trial=inf ran "one trial at a time, with inf threads"; with worker processes
    their OMP_NUM_THREADS could not be set (OverflowError in the kernel's thread for the
    worker), and the study waited for that trial for good."""
    for executor in ("thread", "process"):
        with pytest.raises(HPOError, match="cpus_per_trial is inf, but must be a finite"):
            tune(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", trials=1,
                 cpus_per_trial=math.inf, executor=executor)
    assert "inf threads" not in capsys.readouterr().out


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
