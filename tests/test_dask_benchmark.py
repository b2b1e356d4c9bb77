"""Smoke test of benchmarks/dask_overhead.py: it runs and prints its four tables, with the
Dask executor, the process executor and Optuna on Dask side by side (numbers not checked)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"-?\d+\.\d+"
LINES = re.MULTILINE


def quick_run() -> tuple[int, str, str]:
    """``dask_overhead.py --quick`` (about 20 s here, 30 s beside three busy processes); if it
    runs past 280 s it is stopped with SIGABRT, so that the failure shows where every thread
    of it was (faulthandler), not only that it timed out, and unbuffered (``-u``), so that
    its output shows how far it got (a pipe's buffer is lost at the abort)."""
    process = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-u", str(ROOT / "benchmarks" / "dask_overhead.py"),
         "--quick"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        out, err = process.communicate(timeout=280)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        try:
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()
        pytest.fail(f"dask_overhead.py --quick ran past 280 s; its output:\n{out[-2000:]}\n"
                    f"where its threads were:\n{err[-6000:]}")
    return process.returncode, out, err


@pytest.mark.timeout(340)
def test_quick_run_prints_every_table():
    returncode, out, err = quick_run()
    assert returncode == 0, err[-3000:]
    assert re.search(r"^Machine: .* \d+ CPUs, .*distributed .*optuna ", out, LINES)
    for row in ("two distributed.Queue (chosen)", "worker log_event + subscribe_topic up, Queue down",
                "direct RPC worker -> kernel Server (reference)"):
        assert re.search(rf"^\| {re.escape(row)} \| {NUMBER} \| {NUMBER} \|$", out, LINES), row
    for row in ("jupyter_hpo, Dask executor (LocalCluster, 2 processes)",
                "jupyter_hpo, process executor (2 workers)",
                "Optuna, 2 Dask tasks, journal file storage (report + should_prune)"):
        assert re.search(rf"^\| {re.escape(row)} \| {NUMBER} \| {NUMBER} \|$", out, LINES), row
    for row in ("jupyter_hpo, Dask executor", "jupyter_hpo, process executor",
                "Optuna, 1 Dask task, journal file storage"):
        assert re.search(rf"^\| {re.escape(row)} \| {NUMBER} \|$", out, LINES), row
    for workers in (1, 2):
        assert re.search(rf"^\| {workers} \| {NUMBER}( \| {NUMBER}){{3}} \|$", out, LINES)
