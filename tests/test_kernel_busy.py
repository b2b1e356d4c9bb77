"""A real kernel (jupyter_client) shows busy while a blocking %%hpo cell runs.

A frontend shows the kernel's state from the last ``status`` message on iopub, whatever
request it answers (JupyterLab does). These tests send what a frontend sends while the cell
runs - a widget click on the shell channel, a ``kernel_info_request`` on the control channel
(jupyter_server sends one when a browser tab connects), a comm message on a subshell
(JupyterLab >= 4.4 sends comm messages on one) - and read every iopub status in order.
"""

from __future__ import annotations

import contextlib
import os
import queue
import time
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[1]

SETUP = "%load_ext jupyter_hpo\n"

CELL = """%%hpo --trials 4 --workers 2 --seed 0 --scheduler fifo --metric score --mode max --storage none
import time
x = Real(0, 1)
for epoch in range(1, 100000):
    time.sleep(0.02)
    report(epoch=epoch, score=x)
"""


class Iopub:
    """Every iopub message of the kernel, in the order the kernel published them."""

    def __init__(self, kc) -> None:
        self.kc, self.messages = kc, []

    def read(self, seconds: float) -> None:
        """Read messages for ``seconds`` (0: until one came or 0.05 s passed)."""
        if seconds == 0:
            with contextlib.suppress(queue.Empty):
                self.messages.append(self.kc.get_iopub_msg(timeout=0.05))
            return
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.messages.append(self.kc.get_iopub_msg(timeout=0.05))
            except queue.Empty:
                pass

    def wait_for(self, what: str, predicate, timeout: float = 30, step: float = 0.1) -> dict:
        """The first message so far that matches; reads more, ``step`` seconds at a time (0:
        one message at a time), until one does."""
        deadline = time.monotonic() + timeout
        start = 0
        while True:
            for msg in self.messages[start:]:
                if predicate(msg):
                    return msg
            start = len(self.messages)
            if time.monotonic() > deadline:
                raise AssertionError(f"no iopub message {what} within {timeout}s; statuses: "
                                     f"{self.statuses()[-8:]}")
            self.read(step)

    def statuses(self) -> list[tuple[str, str, str]]:
        """(state, parent msg_type, parent msg_id) of every status message so far."""
        return [(m["content"]["execution_state"], m["parent_header"].get("msg_type", ""),
                 m["parent_header"].get("msg_id", "")) for m in self.messages
                if m["msg_type"] == "status"]

    def after(self, msg: dict) -> list[dict]:
        return self.messages[self.messages.index(msg) + 1:]


def is_status(state: str, parent_id: str):
    return lambda m: (m["msg_type"] == "status" and m["content"]["execution_state"] == state
                      and m["parent_header"].get("msg_id") == parent_id)


@pytest.fixture()
def kernel():
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    km, kc = start_new_kernel(kernel_name="python3", env=dict(os.environ, PYTHONPATH=path))
    try:
        iopub = Iopub(kc)
        msg_id = kc.execute(SETUP)
        iopub.wait_for("ending the set-up", is_status("idle", msg_id), timeout=60)
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def find_button(iopub: Iopub, description: str) -> str:
    def opens(m):
        state = m["content"].get("data", {}).get("state", {})
        return m["msg_type"] == "comm_open" and state.get("_model_name") == "ButtonModel" \
            and state.get("description") == description

    return iopub.wait_for(f"opening the {description!r} button", opens)["content"]["comm_id"]


def click(kc, comm_id: str, subshell_id: str | None = None) -> str:
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {
        "method": "custom", "content": {"event": "click"}}})
    if subshell_id is not None:
        msg["header"]["subshell_id"] = subshell_id
    kc.shell_channel.send(msg)
    return msg["header"]["msg_id"]


def assert_busy_for(iopub: Iopub, cell_id: str, after: dict) -> None:
    """The status that follows ``after`` is ``busy`` for the cell, and so is the latest one."""
    iopub.wait_for("after it", lambda m: m in iopub.after(after) and m["msg_type"] == "status",
                   timeout=5)
    following = next(m for m in iopub.after(after) if m["msg_type"] == "status")
    assert (following["content"]["execution_state"],
            following["parent_header"].get("msg_id")) == ("busy", cell_id)
    iopub.read(0.5)
    assert iopub.statuses()[-1] == ("busy", "execute_request", cell_id)


def start_cell(kc) -> tuple[Iopub, str]:
    iopub = Iopub(kc)
    cell_id = kc.execute(CELL)
    iopub.wait_for("saying the cell runs", is_status("busy", cell_id))
    find_button(iopub, "Stop study")
    return iopub, cell_id


def end_cell(kc, iopub: Iopub, cell_id: str) -> None:
    """Stop the study with its button: the cell ends with one idle, and the kernel is idle."""
    click(kc, find_button(iopub, "Stop study"))
    final = iopub.wait_for("ending the cell", is_status("idle", cell_id), timeout=60)
    iopub.read(0.5)
    cell_statuses = [s for s, _, parent in iopub.statuses() if parent == cell_id]
    assert cell_statuses.count("idle") == 1 and cell_statuses[-1] == "idle"
    assert not [m for m in iopub.after(final) if m["msg_type"] == "status"
                and m["parent_header"].get("msg_id") == cell_id]
    assert iopub.statuses()[-1][0] == "idle"


def test_a_widget_click_during_the_cell_keeps_the_kernel_busy(kernel):
    kc = kernel
    iopub, cell_id = start_cell(kc)
    # a click before any trial reported would only say so: wait until the status shows a best
    iopub.wait_for("showing a best score", lambda m: m["msg_type"] == "comm_msg" and
                   "best score=" in str(m["content"]["data"].get("state", {})), timeout=60)
    click_id = click(kc, find_button(iopub, "Apply best"))
    # the click is answered as any request is: busy, then idle (the ipywidgets frontend
    # waits for this idle before it sends the widget's next change) ...
    iopub.wait_for("saying the click is handled", is_status("busy", click_id))
    done = iopub.wait_for("saying the click was handled", is_status("idle", click_id))
    iopub.wait_for("from the click's handler", lambda m: m["msg_type"] == "comm_msg" and
                   "applied trial" in str(m["content"]["data"].get("state", {})))
    # ... and the kernel says busy again at once: the cell still runs
    assert_busy_for(iopub, cell_id, after=done)
    end_cell(kc, iopub, cell_id)


def test_a_request_answered_while_the_dashboard_is_built_keeps_the_kernel_busy(kernel):
    # a browser tab may connect at any moment of the cell: here, as soon as the cell's first
    # widget exists, before the dashboard is shown and the study waited for
    kc = kernel
    iopub = Iopub(kc)
    cell_id = kc.execute(CELL)
    iopub.wait_for("opening the cell's first widget", lambda m: m["msg_type"] == "comm_open"
                   and m["parent_header"].get("msg_id") == cell_id, step=0)
    request = kc.session.msg("kernel_info_request", {})
    kc.control_channel.send(request)
    done = iopub.wait_for("answering kernel_info",
                          is_status("idle", request["header"]["msg_id"]))
    assert_busy_for(iopub, cell_id, after=done)
    end_cell(kc, iopub, cell_id)


def test_requests_answered_in_other_threads_keep_the_kernel_busy(kernel):
    kc = kernel
    iopub, cell_id = start_cell(kc)
    # a browser tab connects: jupyter_server asks for kernel_info on the control channel
    request = kc.session.msg("kernel_info_request", {})
    kc.control_channel.send(request)
    done = iopub.wait_for("answering kernel_info",
                          is_status("idle", request["header"]["msg_id"]))
    assert_busy_for(iopub, cell_id, after=done)
    # JupyterLab >= 4.4 sends comm messages on a subshell, which ipykernel dispatches in
    # that subshell's thread when the comm is not one the main thread last spoke for
    kc.control_channel.send(kc.session.msg("create_subshell_request", {}))
    reply = kc.get_control_msg(timeout=10)
    while reply["msg_type"] != "create_subshell_reply":
        reply = kc.get_control_msg(timeout=10)
    if reply["content"].get("status") == "ok":
        subshell_id = reply["content"]["subshell_id"]
        comm_id = click(kc, "a-comm-the-kernel-does-not-know", subshell_id)
        done = iopub.wait_for("answering the subshell's comm message",
                              is_status("idle", comm_id))
        assert_busy_for(iopub, cell_id, after=done)
    end_cell(kc, iopub, cell_id)
