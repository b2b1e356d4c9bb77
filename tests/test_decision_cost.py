"""Smoke test of benchmarks/decision_cost.py: it runs, and prints both tables with every row."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "decision_cost.py"
METHODS = ("ASHA (random + Hyperband stopping)", "bayesopt + Hyperband stopping (MOBSTER)",
           "random + Hyperband promotion", "bayesopt + Hyperband promotion",
           "bohb + Hyperband stopping", "default (auto scheduler + auto searcher)",
           "Optuna TPE + HyperbandPruner", "Optuna Random + HyperbandPruner")
NUMBER = r"\s*[0-9.]+\s*"


@pytest.fixture(scope="module")
def quick_run():
    return subprocess.run([sys.executable, str(SCRIPT), "--quick"], check=False, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_quick_run_exits_cleanly(quick_run):
    assert quick_run.returncode == 0, quick_run.stderr
    assert quick_run.stdout.startswith("Machine: ")


def row_cells(stdout: str, method: str) -> list[str]:
    """The numbers of ``method``'s row of the first table (it must have exactly one)."""
    rows = [line for line in stdout.splitlines() if line.startswith(f"| {method} |")]
    assert len(rows) == 1, stdout
    return [cell.strip() for cell in rows[0].strip("|").split("|")[1:]]


@pytest.mark.parametrize("method", METHODS)
def test_each_method_has_a_row_of_positive_numbers(quick_run, method):
    cells = row_cells(quick_run.stdout, method)
    trials, reports, seconds, per_report, per_trial, ratio = (float(c) for c in cells)
    assert trials == 40 and reports >= trials
    assert seconds > 0 and per_report > 0 and per_trial > 0 and ratio > 0


def test_the_promotion_scaling_table_has_a_row_per_size(quick_run):
    for n in (100, 200, 400):
        assert re.search(rf"^\| {n} \|{NUMBER}\|{NUMBER}\|", quick_run.stdout, re.MULTILINE), \
            quick_run.stdout


def test_the_cpu_after_proposals_table_has_a_row_per_proposal(quick_run):
    table = quick_run.stdout.split("CPU after a FIFO bayesopt proposal", 1)[1]
    for i in (1, 2, 3):
        row = re.search(rf"^\| {i} \|({NUMBER})\|({NUMBER})\|$", table, re.MULTILINE)
        assert row, quick_run.stdout
        assert float(row.group(1)) > 0 and float(row.group(2)) >= 0


def _asha_row(*args: str) -> list[str]:
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--sizes", "100", "--methods",
                          METHODS[0], *args], check=True, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    return row_cells(run.stdout, METHODS[0])


def test_seeds_sum_the_studies_of_each_seed(quick_run):
    """--seeds 2 sums the trials and reports of the studies of seeds 0 and 1 (each seeded
    study makes the same decisions, so its report count is the single-seed run's)."""
    seed0 = row_cells(quick_run.stdout, METHODS[0])
    seed1, both = _asha_row("--seed", "1"), _asha_row("--seeds", "2")
    assert int(both[0]) == int(seed0[0]) + int(seed1[0]) == 80
    assert int(both[1]) == int(seed0[1]) + int(seed1[1])
    assert int(seed0[1]) != int(seed1[1])  # the seeds' studies differ
