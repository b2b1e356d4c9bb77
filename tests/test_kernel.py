"""A real IPython kernel (jupyter_client) runs %%hpo cells: Stop button and interrupt."""

from __future__ import annotations

import json
import queue
import re
import time

import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = pytest.mark.timeout(180)

# Epochs of 20-40 ms that depend on x: the two workers' trials do not end in step, so an
# interrupt does not fall, now and then, in the instant when both had just ended
SLOW_CELL = """%%hpo --trials 500 --workers 2 --seed 0
import time
x = Real(0, 1)
for epoch in range(1, 6):
    time.sleep(0.02 + 0.02 * x)
    report(epoch=epoch, score=x * epoch)
"""

CHECK = """import json
print("CHECK", json.dumps({"state": _hpo.state, "counts": _hpo.counts(),
    "trials": len(_hpo.trials), "best": _hpo.best_config,
    "x": globals().get("x"), "statuses": sorted({t.status.value for t in _hpo.trials})}))
"""


@pytest.fixture()
def kernel():
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def execute(kc, code: str, timeout: float = 60) -> tuple[dict, list[dict]]:
    """Run ``code``; return the execute_reply content and the iopub messages of the cell."""
    msg_id = kc.execute(code)
    return wait_reply(kc, msg_id, timeout)


def wait_reply(kc, msg_id: str, timeout: float, on_iopub=None) -> tuple[dict, list[dict]]:
    """Wait for the execute_reply and the idle status of ``msg_id`` (in either order)."""
    deadline = time.monotonic() + timeout
    messages, reply, idle = [], None, False
    while time.monotonic() < deadline:
        if reply is None:
            try:
                msg = kc.get_shell_msg(timeout=0.05)
                if msg["parent_header"].get("msg_id") == msg_id:
                    reply = msg["content"]
            except queue.Empty:
                pass
        if idle and reply is not None:
            return reply, messages
        try:
            msg = kc.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if on_iopub is not None:
            on_iopub(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
    raise AssertionError(f"no reply to execute request {msg_id} within {timeout}s")


def check(kc) -> dict:
    return check_output(*execute(kc, CHECK))


def check_output(reply: dict, messages: list[dict]) -> dict:
    assert reply["status"] == "ok", reply
    text = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
    line = next(s for s in text.splitlines() if s.startswith("CHECK "))
    return json.loads(line[len("CHECK "):])


def find_button(messages: list[dict], description: str) -> str | None:
    for msg in messages:
        if msg["msg_type"] == "comm_open":
            state = msg["content"]["data"].get("state", {})
            if state.get("_model_name") == "ButtonModel" and state.get("description") == description:
                return msg["content"]["comm_id"]
    return None


def wait_for_progress(kc, msg_id: str, seconds: float) -> list[dict]:
    """Collect the cell's iopub messages for ``seconds`` while it keeps running."""
    messages = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            messages.append(msg)
    return messages


def wait_for_dashboard(kc, msg_id: str, condition, what: str,
                       timeout: float = 90) -> list[dict]:
    """Collect the cell's iopub messages until ``condition(messages)`` holds: the test acts
    once the dashboard shows what it needs, however long a loaded machine took to get there
    (a fixed wait of a few seconds clicked or interrupted before the study had started)."""
    messages: list[dict] = []
    deadline = time.monotonic() + timeout
    while not condition(messages):
        assert time.monotonic() < deadline, f"the dashboard never showed {what}"
        messages += wait_for_progress(kc, msg_id, 0.1)
    return messages


def wait_until_serving_widgets(kc, msg_id: str, timeout: float = 90) -> list[dict]:
    """Wait until the cell ``msg_id`` is in the loop that serves widget messages while it
    blocks (``%%hpo``'s and ``%hpo wait``'s wait for their studies, where Ctrl-C stops
    them): a comm message is answered, with its own idle status, before the cell ends.
    One is sent every half second: one that reached the kernel with the cell's request
    waits in the kernel's queue until the cell ends. Returns the cell's iopub messages."""
    probes: set[str] = set()
    messages: list[dict] = []
    deadline = time.monotonic() + timeout
    next_probe = time.monotonic()
    while True:
        now = time.monotonic()
        assert now < deadline, f"the cell did not start waiting within {timeout}s"
        if now >= next_probe:
            probe = kc.session.msg("comm_msg", {"comm_id": "no-such-widget", "data": {}})
            kc.shell_channel.send(probe)
            probes.add(probe["header"]["msg_id"])
            next_probe = now + 0.5
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            continue
        parent = msg["parent_header"].get("msg_id")
        idle = msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"
        if parent == msg_id:
            assert not idle, "the cell ended before it waited for anything"
            messages.append(msg)
        elif parent in probes and idle:
            return messages


def shows(messages: list[dict], pattern: str) -> bool:
    """Whether a widget of the cell has shown a text that matches ``pattern`` (the status
    line says ``2 running``, ``3 completed``)."""
    for msg in messages:
        if msg["msg_type"] in ("comm_open", "comm_msg"):
            value = msg["content"]["data"].get("state", {}).get("value")
            if isinstance(value, str) and re.search(pattern, value):
                return True
    return False


def test_stop_button_ends_blocking_study_and_keeps_trials(kernel):
    _km, kc = kernel
    msg_id = kc.execute(SLOW_CELL)
    messages = wait_for_dashboard(
        kc, msg_id, lambda seen: find_button(seen, "Stop study") is not None
        and shows(seen, r"\b[1-9]\d* completed"), "its Stop button and a completed trial")
    comm_id = find_button(messages, "Stop study")
    assert comm_id is not None, "the dashboard has no 'Stop study' button"
    queued_id = kc.execute(CHECK)  # sent while the cell blocks: must run after it, in order
    click = kc.session.msg("comm_msg", {"comm_id": comm_id,
                                        "data": {"method": "custom",
                                                 "content": {"event": "click"}}})
    kc.shell_channel.send(click)
    reply, _ = wait_reply(kc, msg_id, timeout=60)
    assert reply["status"] == "ok"
    queued = check_output(*wait_reply(kc, queued_id, timeout=30))
    assert queued["state"] == "finished"  # it ran after the study's cell, not before
    result = check(kc)
    assert result["state"] == "finished"
    assert result["counts"]["completed"] > 0
    assert result["counts"]["running"] == 0 and result["counts"]["paused"] == 0
    assert result["trials"] < 500
    assert result["x"] == result["best"]["x"]  # the best trial was applied
    # The contract, as the kernel recorded it: no trial starts after the click; each trial
    # running then stops at its next report, which is recorded (cancelled, one report after
    # the click), or had just reported its last epoch (completed, none after); the study
    # ends with the last of them. Nothing here depends on how fast the machine is.
    stop = check_output(*execute(kc, STOP_ORDER))
    assert stop["late_starts"] == 0, stop
    for trial_id, status, late_reports, epochs in stop["running_at_stop"]:
        assert (status, late_reports) in {("cancelled", 1), ("completed", 0)}, stop
        assert status == "cancelled" or epochs == 5, stop
    assert stop["ended_after_trials"], stop


STOP_ORDER = """import json
s = _hpo
stop = s.start_time + s.stopped_at
print("CHECK", json.dumps({
    "late_starts": sum(1 for t in s.trials if t.start_time > stop),
    "running_at_stop": [(t.trial_id, t.status.value,
                         sum(1 for at in t.times if at >= s.stopped_at), len(t.reports))
                        for t in s.trials if t.end_time > stop],
    "ended_after_trials": all(t.end_time <= s.end_time for t in s.trials)}))
"""


def test_interrupt_stops_study_gracefully(kernel):
    km, kc = kernel
    msg_id = kc.execute(SLOW_CELL)
    wait_for_dashboard(kc, msg_id, lambda seen: shows(seen, r"\b[1-9]\d* completed"),
                       "a completed trial")
    km.interrupt_kernel()
    reply, _messages = wait_reply(kc, msg_id, timeout=60)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    shown = "\n".join(reply["traceback"])  # the magic's frames are hidden from the user
    assert "skipping hidden" in shown and "_magics.py" not in shown
    result = check(kc)
    assert result["counts"]["completed"] > 0
    assert result["counts"]["running"] == 0 and result["counts"]["paused"] == 0
    # the two trials that were running when the interrupt came were cancelled (one of them
    # may have just finished its last epoch)
    assert set(result["statuses"]) == {"completed", "cancelled"}
    assert 1 <= result["counts"]["cancelled"] <= 2
    assert result["trials"] < 500
    assert result["x"] == result["best"]["x"]
    assert result["state"] == "finished"
    # the kernel survived the interrupt (no restart): the study is stored as ended there
    stored = check_output(*execute(kc, """import json
from jupyter_hpo.storage import open_storage
s = open_storage(None).find_study(_hpo.name)
print("CHECK", json.dumps([s.state.value, s.stop_reason, s.owner, s.counts["cancelled"]]))
"""))
    assert stored == ["finished", "interrupted", None, result["counts"]["cancelled"]]


EARLY_CELL = """%%hpo --name early --trials 3 --seed 0
x = Real(0, 1)
report(score=x)
"""

STREAMS = """import sys, json
from jupyter_hpo.storage import open_storage
studies = [(s.name, s.state.value) for s in open_storage(None).list_studies()]
hpo = globals().get("_hpo")
print("CHECK", json.dumps({"stdout": type(sys.stdout).__name__,
    "stderr": type(sys.stderr).__name__, "studies": studies,
    "hpo": None if hpo is None else [hpo.name, hpo.state.value, hpo.done]}))
"""


@pytest.mark.parametrize("delay", [0.3, 0.05, 0.15, 0.6])
def test_an_interrupt_early_in_the_cell_leaves_nothing_half_done(delay):
    """Ctrl-C while the cell is still setting up (imports, storage, dashboard): the streams
    are the kernel's again, nothing is left stored as running, and the same cell (same
    --name) runs again to the end."""
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        msg_id = kc.execute(EARLY_CELL)
        time.sleep(delay)
        km.interrupt_kernel()
        reply, _ = wait_reply(kc, msg_id, timeout=60)
        state = check_output(*execute(kc, STREAMS))
        assert state["stdout"] == "OutStream" and state["stderr"] == "OutStream"
        assert all(s != "running" and s != "created" for _, s in state["studies"])
        if reply["status"] == "error":
            assert reply["ename"] == "KeyboardInterrupt"
            if state["hpo"] is not None:  # the study object existed: it is ended and bound
                assert state["hpo"][0] == "early" and state["hpo"][2] is True
        stored = [name for name, _ in state["studies"]]
        # a study that never started was discarded: the same cell runs again; one that had
        # started keeps its trials and is continued with --resume
        cell = EARLY_CELL.replace("--name early", "--name early --resume") \
            if "early" in stored else EARLY_CELL
        again, _ = execute(kc, cell)
        assert again["status"] == "ok", again
        state = check_output(*execute(kc, STREAMS))
        assert state["hpo"][:2] == ["early", "finished"]
        assert ["early", "finished"] in state["studies"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def find_widget(messages: list[dict], model: str, description: str) -> str | None:
    for msg in messages:
        if msg["msg_type"] == "comm_open":
            state = msg["content"]["data"].get("state", {})
            if state.get("_model_name") == model and state.get("description") == description:
                return msg["content"]["comm_id"]
    return None


def send_comm(kc, comm_id: str, data: dict) -> None:
    kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))


def test_stop_trial_picker_and_button_work_while_the_cell_runs(kernel, tmp_path):
    _km, kc = kernel
    flag = tmp_path / "finish"  # trials run until the test creates it (at least 4 epochs)
    cell = f"""%%hpo --trials 4 --workers 2 --seed 0 --scheduler fifo
import os, time
x = Real(0, 1)
for epoch in range(1, 2000):
    time.sleep(0.05)
    report(epoch=epoch, score=x)
    if epoch >= 4 and os.path.exists({str(flag)!r}):
        break
"""
    msg_id = kc.execute(cell)
    # the trials run until the flag exists
    messages = wait_for_dashboard(
        kc, msg_id, lambda seen: find_widget(seen, "DropdownModel", "trial") is not None
        and find_widget(seen, "ButtonModel", "Stop trial") is not None,
        "its trial picker and Stop-trial button")
    picker = find_widget(messages, "DropdownModel", "trial")
    button = find_widget(messages, "ButtonModel", "Stop trial")
    assert picker is not None and button is not None
    # wait until the dashboard has listed the running trials (0 and 1) in the picker (its
    # first state or an update, possibly among the messages already read)
    deadline, labels, seen = time.monotonic() + 30, [], messages
    while True:
        for m in seen:
            if m["msg_type"] in ("comm_open", "comm_msg") \
                    and m["content"]["comm_id"] == picker:
                labels = m["content"]["data"].get("state", {}).get("_options_labels") or labels
        if labels == ["0", "1"]:
            break
        assert time.monotonic() < deadline, "the trial picker never listed the running trials"
        seen = wait_for_progress(kc, msg_id, 0.2)
    # pick trial 1, as a frontend would, and press the button
    send_comm(kc, picker, {"method": "update", "state": {"index": 1}, "buffer_paths": []})
    send_comm(kc, button, {"method": "custom", "content": {"event": "click"}})
    deadline, confirmed = time.monotonic() + 30, False
    while not confirmed:
        assert time.monotonic() < deadline, "the Stop-trial click was not handled"
        confirmed = any(m["msg_type"] == "comm_msg" and "stopping trial 1"
                        in str(m["content"]["data"].get("state", {}).get("value", ""))
                        for m in wait_for_progress(kc, msg_id, 0.2))
    flag.touch()
    reply, _ = wait_reply(kc, msg_id, timeout=60)
    assert reply["status"] == "ok"
    reply, messages = execute(
        kc, "import json; print('CHECK', json.dumps([t.status.value for t in _hpo.trials]))")
    text = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
    statuses = json.loads(text.split("CHECK ", 1)[1])
    assert statuses == ["completed", "cancelled", "completed", "completed"]


def test_interrupt_with_process_workers_leaves_no_worker_processes(kernel):
    km, kc = kernel
    cell = """%%hpo --executor process --workers 2 --trials 50 --seed 0
import time
x = Real(0, 1)
for epoch in range(1, 200):
    time.sleep(0.05)
    report(epoch=epoch, score=x)
"""
    msg_id = kc.execute(cell)
    wait_for_dashboard(kc, msg_id, lambda seen: shows(seen, r"\b2 running"),
                       "both workers' trials running")
    km.interrupt_kernel()
    reply, _ = wait_reply(kc, msg_id, timeout=60)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    reply, messages = execute(kc, """import json, time, psutil
deadline = time.monotonic() + 10
while psutil.Process().children(recursive=True) and time.monotonic() < deadline:
    time.sleep(0.1)
print("CHECK", json.dumps({"children": len(psutil.Process().children(recursive=True)),
    "statuses": sorted({t.status.value for t in _hpo.trials}), "trials": len(_hpo.trials)}))
""")
    result = check_output(reply, messages)
    assert result["children"] == 0
    # each trial runs 10 s, so only the first two (one per worker) had started
    assert result["statuses"] == ["cancelled"] and result["trials"] == 2


def test_widgets_a_trial_displays_are_written_as_they_are_when_its_code_ends(kernel, tmp_path):
    """A progress widget (what tqdm.auto's bar is in a notebook) went to the trial's output as
    its first state ("0%"); it is now written when the trial's code ends, as it is then, and
    one closed by then (tqdm's leave=False) is left out."""
    _, kc = kernel
    check_output(*execute(kc, "import json\nimport ipywidgets as widgets\n"
                              "from IPython.display import display\nprint('CHECK {}')"))
    cell = (f"%%hpo --trials 2 --seed 0 --metric loss --quiet "
            f"--storage {tmp_path / 'widgets.db'}\n"
            "x = Real(0, 1)\n"
            "bar = widgets.IntProgress(value=0, max=3, description='epochs')\n"
            "display(bar)\n"
            "inner = widgets.IntProgress(value=0, max=5, description='batches')\n"
            "display(inner)\n"
            "for epoch in range(1, 4):\n"
            "    bar.value = epoch\n"
            "inner.close()\n"
            "report(loss=x)\n")
    reply, messages = execute(kc, cell, timeout=120)
    assert reply["status"] == "ok", reply
    assert not any("IntProgress" in m["content"].get("data", {}).get("text/plain", "")
                   for m in messages if m["msg_type"] == "display_data")
    state = check_output(*execute(kc, (
        "print('CHECK', json.dumps({'out': [_hpo.trial_output(t.trial_id) for t in _hpo.trials],"
        " 'hooked': 'format' in vars(get_ipython().display_formatter)}))")))
    assert state["hooked"] is False  # the formatter has its own method back
    for output in state["out"]:
        assert "[display] IntProgress(value=3, description='epochs', max=3)" in output
        assert "value=0" not in output and "batches" not in output


def test_what_trials_display_log_or_clear_goes_to_their_output_not_the_cell(kernel, tmp_path):
    """A training loop that draws with plt.show(), displays, logs or clears its output each
    epoch: in the cell that put one figure per trial (one twice, from two threads) under the
    dashboard, figures left open were all drawn when the cell ended, log lines of a handler
    set up before the study went to the cell, and clear_output() wiped the dashboard. They
    now go to each trial's output as text."""
    _, kc = kernel
    check_output(*execute(kc, "%matplotlib inline\nimport json, logging\n"
                              "import matplotlib.pyplot as plt\n"
                              "from IPython.display import display, clear_output\n"
                              "logging.basicConfig(level=logging.INFO, force=True)\n"
                              "log = logging.getLogger('train')\nprint('CHECK {}')"))
    cell = (f"%%hpo --trials 4 --workers 2 --seed 0 --metric loss --name figs "
            f"--storage {tmp_path / 'figs.db'}\n"
            "x = Real(0, 1)\n"
            "fig, ax = plt.subplots()\n"
            "ax.plot([0, 1], [0, x])\n"
            "plt.show()\n"
            "plt.figure()\n"
            "clear_output(wait=True)\n"
            "display('shown by a trial')\n"
            "print('printed by a trial')\n"
            "log.info('logged by a trial')\n"
            "report(epoch=1, loss=x)\n")
    reply, messages = execute(kc, cell, timeout=120)
    assert reply["status"] == "ok", reply
    assert "clear_output" not in [m["msg_type"] for m in messages]
    shown = [m["content"]["data"].get("text/plain", "") for m in messages
             if m["msg_type"] in ("display_data", "execute_result")]
    assert any(text.startswith("figs: finished") for text in shown)  # the dashboard's summary
    assert not any("Figure" in text or "shown by a trial" in text for text in shown)
    streamed = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    assert "by a trial" not in streamed  # the handler holds the notebook's stderr itself
    state = check_output(*execute(kc, "print('CHECK', json.dumps({'open': plt.get_fignums(), "
                                      "'out': [_hpo.trial_output(t.trial_id) for t in _hpo.trials]}))"))
    assert state["open"] == []
    for output in state["out"]:
        assert "[display] <Figure size 640x480 with 1 Axes>" in output
        assert "[display] 'shown by a trial'" in output and "printed by a trial" in output
        assert "INFO:train:logged by a trial" in output
    _, after = execute(kc, "display('from the cell')\nplt.plot([1, 2])\nplt.show()\n"
                           "log.info('logged by the cell')")
    shown = [m["content"]["data"].get("text/plain", "") for m in after
             if m["msg_type"] == "display_data"]
    assert "'from the cell'" in shown and any(text.startswith("<Figure") for text in shown)
    assert "INFO:train:logged by the cell" in "".join(
        m["content"]["text"] for m in after if m["msg_type"] == "stream")


FIGURE_CELL = """%%hpo --background --name figures --trials 2 --workers 2 --seed 0 --quiet --metric loss
import time
import matplotlib.pyplot as plt
x = Real(0, 1)
fig, ax = plt.subplots()
ax.plot([0, x])
time.sleep(2.5)  # the notebook's next cell runs meanwhile
ax.plot([x, 0])
report(loss=x, still_open=int(plt.fignum_exists(fig.number)), lines=len(ax.lines))
"""

OWN_FIGURE = """import time
import matplotlib.pyplot as plt
time.sleep(0.8)
plt.figure()
plt.plot([1, 2, 3])
"""


def images(messages: list[dict]) -> int:
    return sum(1 for m in messages if m["msg_type"] in ("display_data", "execute_result")
               and "image/png" in m["content"].get("data", {}))


@pytest.mark.parametrize("imported_before", [True, False])
def test_background_trials_figures_are_not_drawn_under_other_cells(kernel, imported_before):
    """With --background the notebook's cells run while trials draw: a cell draws its own
    figure only, the trials keep theirs open, and they are closed once the study has ended
    (the inline backend drew every open figure under whichever cell ended, and closed
    them). Also when the trials are the first to import pyplot."""
    _km, kc = kernel
    if imported_before:
        execute(kc, "%matplotlib inline\nimport matplotlib.pyplot as plt")
    reply, messages = execute(kc, FIGURE_CELL)
    assert reply["status"] == "ok", reply
    assert images(messages) == 0  # the trials had begun drawing when the cell ended
    reply, messages = execute(kc, OWN_FIGURE)
    assert reply["status"] == "ok", reply
    assert images(messages) == 1  # its own, not also the two trials'
    execute(kc, "%hpo wait figures")
    result = check_output(*execute(kc, """import json
print("CHECK", json.dumps({"reports": [t.reports[-1] for t in _hpo.trials],
    "open": plt.get_fignums()}))
"""))
    assert [(r["still_open"], r["lines"]) for r in result["reports"]] == [(1, 2), (1, 2)]
    assert result["open"] == []  # closed once the study ended, and drawn nowhere


SHOWING_CELL = """%%hpo --trials 2 --workers 2 --seed 0 --metric loss --quiet --storage {db}
x = Real(0, 1)
plt.subplots(figsize=(2 + trial.trial_id, 1))  # its size names the trial in the text shown
drawn.wait()  # both trials' figures are open
if first.acquire(blocking=False):
    plt.show()  # showed the other trial's figure too, and closed it
    shown.set()
else:
    assert shown.wait(20)
    plt.show()  # found nothing left to show
report(loss=x)
"""


@pytest.mark.parametrize("background", [False, True])
def test_a_trials_plt_show_shows_its_own_figures_only(kernel, tmp_path, background):
    """With thread workers, a trial's plt.show() (inline backend) showed and closed every
    open figure: the other trial's as well, so that one landed in the wrong trial's output
    and its own show found nothing; and two figures made at once took the same number, so
    pyplot lost one. The cell forces both interleavings; each trial now shows exactly its own
    figure; with --background, the notebook's figures and the trials' are each left to their
    own plt.show()."""
    _km, kc = kernel
    (tmp_path / "both_at_once.py").write_text(  # a figure hook that runs before ours
        "import threading\nbarrier = threading.Barrier(2, timeout=20)\n"
        "def wait(figure):  # both trials' new figures have taken the same number\n"
        "    if threading.current_thread() is not threading.main_thread():\n"
        "        barrier.wait()\n")
    check_output(*execute(kc, f"%matplotlib inline\nimport json, sys, threading\n"
                              f"import matplotlib.pyplot as plt\nsys.path.insert(0, {str(tmp_path)!r})\n"
                              f"plt.rcParams['figure.hooks'] = ['both_at_once:wait']\n"
                              f"drawn, first = threading.Barrier(2, timeout=20), threading.Lock()\n"
                              f"shown = threading.Event()\nprint('CHECK {{}}')"))
    cell = SHOWING_CELL.format(db=tmp_path / "show.db")
    if background:  # the notebook's own figure is open while the trials show theirs
        cell = cell.replace("--quiet", "--quiet --background --name shows")
        cell = cell.replace("drawn.wait()", "drawn.wait()\nnotebook.wait(20)")
        execute(kc, "notebook = threading.Event()")
    reply, messages = execute(kc, cell)
    assert reply["status"] == "ok", reply
    if background:
        reply, messages = execute(kc, (
            "plt.subplots(figsize=(7, 1))\nplt.show()  # not the trials' figures, open meanwhile\n"
            "plt.subplots(figsize=(8, 1))\nnotebook.set()  # their plt.show() leaves this one\n"
            "%hpo wait shows"))
        assert reply["status"] == "ok", reply
        assert [m["content"]["data"]["text/plain"] for m in messages
                if m["msg_type"] == "display_data" and "image/png" in m["content"]["data"]] \
            == ["<Figure size 700x100 with 1 Axes>", "<Figure size 800x100 with 1 Axes>"]
    else:
        assert images(messages) == 0
    state = check_output(*execute(kc, (
        "print('CHECK', json.dumps({'open': plt.get_fignums(), 'out': {t.trial_id: "
        "_hpo.trial_output(t.trial_id) for t in _hpo.trials}, 'failed': _hpo.counts()['failed']}))")))
    assert state["failed"] == 0 and state["open"] == []
    for trial_id, output in state["out"].items():
        assert re.findall(r"\[display\] <Figure size \d+x100", output) \
            == [f"[display] <Figure size {200 + 100 * int(trial_id)}x100"], output


def test_a_training_function_of_an_earlier_cell_reports_for_the_hpo_cell(kernel):
    """The common notebook pattern: ``train`` (an earlier cell, which needs no import: the
    extension defines ``report``) calls report(); the %%hpo cell calls ``train(lr)``. The cell
    was refused ("the cell never calls report(): pass --metric NAME and --mode ...")."""
    _km, kc = kernel
    reply, _ = execute(kc, "def train(lr, epochs=9):\n"
                           "    for epoch in range(1, epochs + 1):\n"
                           "        report(epoch=epoch, loss=(lr - 0.3) ** 2 + 1 / epoch)\n")
    assert reply["status"] == "ok", reply
    reply, messages = execute(kc, "%%hpo --trials 4 --scheduler hyperband --seed 0\n"
                                  "lr = Real(0, 1)\nepochs = 9\ntrain(lr, epochs)\n")
    text = "".join(m["content"].get("text", "") for m in messages
                   if m["msg_type"] == "stream")
    assert reply["status"] == "ok", (reply, text)
    assert "minimising loss (--mode min inferred from its name)" in text
    result = check_output(*execute(kc, 'import json\nprint("CHECK", json.dumps({'
                                       '"metric": _hpo.metric, "mode": _hpo.mode, '
                                       '"state": _hpo.state, "counts": _hpo.counts(), '
                                       '"scheduler": _hpo.scheduler.describe(), '
                                       '"reports": [len(t.reports) for t in _hpo.trials]}))\n'))
    assert result["metric"] == "loss" and result["mode"] == "min"
    assert result["state"] == "finished" and result["counts"]["failed"] == 0
    assert "max_t 9" in result["scheduler"] and max(result["reports"]) == 9


def test_a_function_of_another_cell_without_report_says_what_to_import(kernel):
    """Where the notebook has no ``report`` (deleted, or the name was taken when the extension
    loaded), the trials failed with a bare NameError for ``report``."""
    _km, kc = kernel
    reply, _ = execute(kc, "del report\n"
                           "def train(lr):\n"
                           "    for epoch in range(1, 3):\n"
                           "        report(epoch=epoch, loss=lr)\n")
    assert reply["status"] == "ok", reply
    reply, _ = execute(kc, "%%hpo --trials 3 --seed 0\nlr = Real(0, 1)\ntrain(lr)\n")
    assert reply["status"] == "error"
    assert re.search(r"the function train \(cell In\[2\]\) calls report, which the notebook "
                     r"does not define .*add `from jupyter_hpo import report` to that cell",
                     reply["evalue"]), reply["evalue"]


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_trials_traceback_names_the_notebook_cells_and_their_lines(kernel, executor):
    """A trial's traceback named the files IPython compiles cells into ('File
    "/tmp/ipykernel_42/1234.py", line 4'), which the notebook shows nowhere: the %%hpo cell's
    frames now say 'Cell In[3], cell line N' (counted as its other messages count) and another
    cell's 'Cell In[2], line N', as IPython's own tracebacks name them."""
    _km, kc = kernel
    reply, _ = execute(kc, "def train(v):\n    x = 1\n    raise ValueError(f'bad {v}')\n")
    assert reply["status"] == "ok", reply
    reply, _ = execute(kc, f"%%hpo --metric loss --trials 3 --seed 0 --executor {executor}\n"
                           f"x = Real(0, 1)\ndef helper(v):\n    train(v)\nhelper(x)\n"
                           f"report(loss=x)\n")
    assert reply["status"] == "error" and reply["ename"] == "UsageError"
    assert ("Traceback (most recent call last):\n"
            "  Cell In[3], cell line 5\n    helper(x)\n"
            "  Cell In[3], cell line 4, in helper\n    train(v)\n"
            "  Cell In[2], line 3, in train\n    raise ValueError(f'bad {v}')\n"
            "ValueError: bad ") in reply["evalue"], reply["evalue"]
    assert "ipykernel" not in reply["evalue"] and 'File "' not in reply["evalue"]


def test_a_cell_run_without_hpo_runs_as_without_jupyter_hpo(kernel):
    """DESIGN: the comment form keeps a cell runnable without the magic, but its first
    report() raised "RuntimeError: report() was called outside a trial" with frames of
    jupyter_hpo/trial.py (checkpoint() and restore() too). Now the cell runs, from scratch,
    and one line per call says that nothing is recorded or saved, for each run of the cell."""
    _km, kc = kernel
    cell = ("lr = 1e-3  # hpo: Real(1e-4, 1e-1, log=True)\nstate = restore()\n"
            "for epoch in range(1, 4):\n    checkpoint({'epoch': epoch})\n"
            "    report(epoch=epoch, loss=lr * epoch)\nprint('trained', epoch, state)\n")
    for _ in range(2):
        reply, messages = execute(kc, cell)
        assert reply["status"] == "ok", reply
        streams = {name: "".join(m["content"]["text"] for m in messages
                                 if m["msg_type"] == "stream" and m["content"]["name"] == name)
                   for name in ("stdout", "stderr")}
        assert streams["stdout"] == "trained 3 None\n"
        assert streams["stderr"].splitlines() == [
            ("jupyter_hpo: checkpoint() ran outside a study, so nothing is saved: the cell runs "
             "as it would without jupyter_hpo (to tune it, run it with %%hpo; this is said once "
             "per cell)"),
            ("jupyter_hpo: report(epoch=1, loss=0.001) ran outside a study, so nothing is "
             "recorded: the cell runs as it would without jupyter_hpo (to tune it, run it with "
             "%%hpo; this is said once per cell)")]


@pytest.mark.parametrize("call, message", [
    ("report(0.5)", "TypeError: report() takes its values by name"),
    ("checkpoint()", "TypeError: checkpoint() needs what to save"),
])
def test_a_misused_call_in_a_plain_cell_shows_the_users_line_only(kernel, call, message):
    """The traceback of report(0.5) in a plain cell went on into jupyter_hpo/trial.py, whose
    frames say nothing the message does not; it ends at the cell's line now."""
    _km, kc = kernel
    reply, _ = execute(kc, f"x = 1\n{call}\n")
    assert reply["status"] == "error"
    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(reply["traceback"]))
    assert "Cell In[2], line 2\n      1 x = 1\n----> 2 " + call in shown, shown
    assert shown.rstrip().splitlines()[-1].startswith(message)
    assert "jupyter_hpo" not in shown and "trial.py" not in shown


def test_cell_lines_count_the_blank_lines_above_hpo_as_the_editor_does(kernel):
    """IPython drops a cell's blank lines above ``%%hpo`` before it calls the magic, so "cell
    line N" in its messages and trials' tracebacks was that many lines above the line the
    editor shows as N. They count from the cell's first line now (whitespace-only lines
    too); the magic called as ``run_cell_magic`` keeps counting from the ``%%hpo`` line."""
    _km, kc = kernel
    reply, _ = execute(kc, "\n  \n%%hpo --metric loss --trials 2 --storage none\n"
                           "lr = Real(0, 1, log=True)\nreport(loss=lr)\n")
    assert reply["status"] == "error", reply
    assert reply["evalue"].startswith("HPOSyntaxError at cell line 4: bad annotation for "
                                      "'lr'"), reply["evalue"]
    reply, messages = execute(kc, "\n\n%%hpo --metric loss --trials 2 --seed 0 --storage none "
                                  "--quiet\nx = Real(0, 1)\nx = 5\nreport(loss=x)\n")
    text = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
    assert reply["status"] == "ok", reply
    assert "jupyter_hpo: cell line 5: x is assigned again before anything reads the " \
           "hyperparameter x (cell line 4)" in text, text
    reply, _ = execute(kc, "\n\n\n%%hpo --metric loss --trials 2 --seed 0 --storage none "
                           "--quiet\nx = Real(0, 1)\n\nraise ValueError(x)\nreport(loss=x)\n")
    assert reply["status"] == "error", reply
    assert re.search(r"Cell In\[\d+\], cell line 7\n    raise ValueError\(x\)\n",
                     reply["evalue"]), reply["evalue"]
    reply, _ = execute(kc, "\n\nget_ipython().run_cell_magic('hpo', '--metric loss "
                           "--storage none', 'x = Real(0, 1, log=True)\\n')\n")
    assert reply["evalue"].startswith("HPOSyntaxError at cell line 2: "), reply["evalue"]
