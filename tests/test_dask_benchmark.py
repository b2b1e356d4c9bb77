"""Smoke test of benchmarks/dask_overhead.py: it runs and prints its four tables, with the
Dask executor, the process executor and Optuna on Dask side by side (numbers not checked)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"-?\d+\.\d+"
LINES = re.MULTILINE


@pytest.mark.timeout(300)
def test_quick_run_prints_every_table():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dask_overhead.py"),
                          "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=280,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
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
