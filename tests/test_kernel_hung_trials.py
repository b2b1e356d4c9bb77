"""A real kernel whose %%hpo study stops while a trial in a thread never reports again: the
cell says why it still waits and what to do, and two interrupts end it and its code."""

from __future__ import annotations

import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = pytest.mark.timeout(120)

HANGING_CELL = """%%hpo --trials 4 --workers 1 --metric loss --mode min --time-limit 1s --searcher grid
import time
i = Categorical(0, 1)
while i == 1:  # a loop that never reports: two interrupts end it at its next line
    time.sleep(0.05)
loss = float(i)
"""

WORKER_THREADS = """import threading, time
for _ in range(200):
    workers = [t.name for t in threading.enumerate() if t.name.startswith("hpo-worker")]
    if not workers:
        break
    time.sleep(0.05)
print(workers)
"""


def read_until(kc, msg_id: str, needle: str) -> str:
    """The cell's printed text up to the first that holds ``needle`` (or, for ``None``,
    up to the cell's end)."""
    text = ""
    while True:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            text += msg["content"]["text"]
            if needle is not None and needle in text:
                return text
        if needle is None and msg["msg_type"] == "status" \
                and msg["content"]["execution_state"] == "idle":
            return text


def test_a_study_stopped_by_its_time_limit_says_which_thread_trial_it_waits_for(tmp_path):
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        kc.execute_interactive("%load_ext jupyter_hpo", timeout=60)
        msg_id = kc.execute(HANGING_CELL)
        text = read_until(kc, msg_id, "is waiting for trial 1")
        assert "stopping (time limit reached)" in text
        assert "To end it now, interrupt the kernel twice" in text and "--executor process" in text
        km.interrupt_kernel()
        read_until(kc, msg_id, "interrupt again to force")
        km.interrupt_kernel()
        read_until(kc, msg_id, None)
        msg_id = kc.execute("print(sorted(t.status.value for t in _hpo.trials))")
        assert read_until(kc, msg_id, None).strip() == "['cancelled', 'completed']"
        msg_id = kc.execute(WORKER_THREADS)  # the trial's code ended: its thread is gone
        assert read_until(kc, msg_id, None).strip() == "[]"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
