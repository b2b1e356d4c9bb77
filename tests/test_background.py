"""``%%hpo --background`` in a real kernel while the notebook's other cells run: what its trials
read from the notebook, what joining it leaves there, and the ``%hpo`` commands meanwhile."""

from __future__ import annotations

import pytest
from jupyter_client.manager import start_new_kernel
from test_kernel import (
    check_output,
    execute,
    wait_reply,
    wait_until_serving_widgets,
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture()
def kernel(tmp_path):
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        execute(kc, "%load_ext jupyter_hpo")
        execute(kc, f"FLAG = {str(tmp_path / 'go')!r}")
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def ok(kc, code: str) -> str:
    """Run ``code``, which must succeed; its printed text."""
    reply, messages = execute(kc, code, timeout=120)
    assert reply["status"] == "ok", reply
    return "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")


# trial 0 waits until the notebook creates FLAG; the trials after it start only once it ended
WAITING_CELL = """%%hpo --background --trials {trials} --workers 1 --seed 0 --name {name} --quiet --metric score --mode max
import os, time
x = Real(0, 1)
while trial.trial_id == 0 and not os.path.exists(FLAG):
    time.sleep(0.02)
report(score=scale * x)
"""

RESULTS = """import json
print("CHECK", json.dumps({"statuses": [t.status.value for t in _hpo.trials],
    "scores": [t.last("score") / t.config["x"] for t in _hpo.trials if t.last("score")],
    "errors": [t.error for t in _hpo.trials if t.error],
    "scale": globals().get("scale", "deleted"), "name": _hpo.name}))
"""


def test_trials_read_the_notebook_variables_as_they_were_when_the_cell_ran(kernel):
    """Rebinding or deleting a variable the cell reads, in a later cell, changes nothing for
    the trials that start afterwards (they read what the cell saw, as worker processes do)."""
    _km, kc = kernel
    ok(kc, "scale = 1.0")
    ok(kc, WAITING_CELL.format(trials=3, name="pinned"))
    ok(kc, "scale = 1000.0")
    ok(kc, "del scale\nopen(FLAG, 'w').close()")  # now trial 0 ends; trials 1 and 2 start
    ok(kc, "%hpo wait pinned")
    result = check_output(*execute(kc, RESULTS))
    assert result["statuses"] == ["completed"] * 3, result["errors"]
    assert result["scores"] == pytest.approx([1.0] * 3)


def test_joining_leaves_the_variables_the_notebook_set_since_the_cell_ran(kernel):
    """``%hpo wait`` applies the variables the best trial's cell bound (``x``), not the values
    the trial found in the notebook, which the user may have rebound or deleted since."""
    _km, kc = kernel
    ok(kc, "scale, data, old = 1.0, 'old', 1")
    ok(kc, WAITING_CELL.format(trials=1, name="applied"))
    ok(kc, "data = 'new'\ndel old\nopen(FLAG, 'w').close()")
    ok(kc, "%hpo wait applied")
    shown = ok(kc, "print('CHECK', data, 'old' in globals(), x == _hpo.best_config['x'])")
    assert "CHECK new False True" in shown


QUICK_CELL = """%%hpo --background --trials 3 --seed 0 {options} --quiet
x = Real(0, 1)
report(score=x)
"""

LONG_CELL = """%%hpo --background --trials 2 --workers 2 --seed 0 --name {name} --quiet
import time
x = Real(0, 1)
for epoch in range(1, 2000):
    time.sleep(0.05)
    report(epoch=epoch, score=x)
"""


def test_wait_without_a_name_joins_every_study_not_joined_yet(kernel):
    """Two background studies (one named, one not), then a blocking study that ends in its
    cell: ``%hpo wait`` joins both background studies instead of saying that the latest, the
    blocking one, has ended."""
    _km, kc = kernel
    ok(kc, QUICK_CELL.format(options="--name first -o first"))
    ok(kc, QUICK_CELL.format(options=""))
    ok(kc, QUICK_CELL.format(options="--name blocking -o blocking").replace(" --background", ""))
    shown = ok(kc, "%hpo wait")
    assert shown.count("applied trial") == 2, shown
    assert "has already ended" not in shown
    states = ok(kc, "print('CHECK', first.state, _hpo.name != 'first', _hpo.state)")
    assert "CHECK finished True finished" in states
    assert "blocking has already ended" in ok(kc, "%hpo wait")  # nothing left to join


def test_stop_without_a_name_stops_the_study_that_runs(kernel):
    """After a blocking study has ended, ``%hpo stop`` stops the background study that still
    runs, not the ended one ("nothing to stop")."""
    _km, kc = kernel
    ok(kc, LONG_CELL.format(name="long"))
    ok(kc, QUICK_CELL.format(options="--name blocking -o blocking").replace(" --background", ""))
    shown = ok(kc, "%hpo stop")
    assert "long is stopping" in shown, shown
    ok(kc, "%hpo wait long")
    assert "CHECK stopped with %hpo stop" in ok(kc, "print('CHECK', _hpo.stop_reason)")


def test_stop_trial_force_ends_a_thread_trial_that_does_not_report(kernel):
    """``%hpo stop --trial 0 --force``: trial 0 (a thread that never reports, waiting for
    FLAG) ends now as cancelled and the study goes on with its next trial; without
    ``--force`` it would wait for a report that never comes."""
    _km, kc = kernel
    ok(kc, "scale = 1.0")
    ok(kc, WAITING_CELL.format(trials=2, name="hangs"))
    assert "trial 0 of hangs stops at its next report" in ok(kc, "%hpo stop --trial 0")
    assert "trial 0 of hangs is ending now" in ok(kc, "%hpo stop --trial 0 --force")
    ok(kc, "%hpo wait hangs")
    out = ok(kc, RESULTS)
    assert '"statuses": ["cancelled", "completed"]' in out, out
    assert '"errors": ["stopped by the user"]' in out, out
    reply, _ = execute(kc, "%hpo show hangs --force")
    assert reply["status"] == "error"
    assert "--force only applies to %hpo stop, not to %hpo show" in reply["evalue"]


def test_stop_force_ends_the_whole_study_now(kernel, tmp_path):
    """``%hpo stop NAME --force`` ends the study and its running trial at once (a second
    interrupt's stop); a stored study of another kernel is only asked to stop, so --force
    there says what to do instead, and the request is not sent."""
    _km, kc = kernel
    ok(kc, "scale = 1.0")
    ok(kc, WAITING_CELL.format(trials=2, name="forced"))
    assert "forced has stopped (its running trials were ended)" in \
        ok(kc, "%hpo stop forced --force")
    ok(kc, "%hpo wait forced")
    out = ok(kc, RESULTS)
    assert '"statuses": ["cancelled"]' in out, out
    path = tmp_path / "other.db"
    ok(kc, f"from jupyter_hpo import Real, tune\n"
           f"tune(lambda config: config['x'], {{'x': Real(0, 1)}}, metric='loss', mode='min', "
           f"trials=1, storage={str(path)!r}, name='elsewhere')")
    reply, _ = execute(kc, f"%hpo stop elsewhere --force --storage {path}")
    assert reply["status"] == "error"
    assert reply["evalue"].startswith("--force works for studies of this kernel only; "
                                      "'elsewhere' is not one"), reply["evalue"]


def test_an_interrupt_of_wait_stops_every_study_it_waits_for(kernel):
    """Ctrl-C during ``%hpo wait`` (no name) stops each study it joins, as it stops one:
    running trials are cancelled, none is left running, and KeyboardInterrupt is raised."""
    km, kc = kernel
    ok(kc, LONG_CELL.format(name="one"))
    ok(kc, LONG_CELL.format(name="two").replace("--quiet", "--quiet -o two"))
    msg_id = kc.execute("%hpo wait")
    wait_until_serving_widgets(kc, msg_id)  # the wait is under way
    km.interrupt_kernel()
    reply, _ = wait_reply(kc, msg_id, timeout=120)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    shown = ok(kc, "print('CHECK', [(s.name, s.state.value, s.counts()['running'], "
                   "s.counts()['cancelled']) for s in (_hpo, two)])")
    assert "CHECK [('one', 'finished', 0, 2), ('two', 'finished', 0, 2)]" in shown, shown


def test_an_interrupted_wait_shows_the_cell_not_the_magics_frames(kernel):
    """Ctrl-C during ``%hpo wait NAME``: the traceback is short, as for an interrupted
    ``%%hpo`` cell, without the frames of the magic's modules."""
    km, kc = kernel
    ok(kc, LONG_CELL.format(name="long"))
    msg_id = kc.execute("%hpo wait long")
    wait_until_serving_widgets(kc, msg_id)
    km.interrupt_kernel()
    reply, _ = wait_reply(kc, msg_id, timeout=120)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    shown = "\n".join(reply["traceback"])
    assert "skipping hidden" in shown
    assert "_magics.py" not in shown and "_commands.py" not in shown


# a comm whose messages drop an object whose finaliser is where the kernel's SIGINT lands:
# Python ignores an exception raised in __del__, so the default handler's KeyboardInterrupt
# would be lost there
FINALISER_COMM = """import os, signal
from comm import create_comm

class Finaliser:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(200_000):  # the Python-level handler runs in here
            pass

probe = create_comm(target_name="hpo-test-finaliser")
probe.on_msg(lambda msg: Finaliser())
print("COMM", probe.comm_id)
"""


def test_an_interrupt_that_lands_in_a_finaliser_still_stops_the_wait(kernel):
    """The wait loop turns SIGINT into a flag it checks between polls, so an interrupt whose
    handler runs inside some object's ``__del__`` (a widget message's garbage, a zmq frame),
    where Python drops exceptions, still stops the study instead of being lost."""
    _, kc = kernel
    ok(kc, LONG_CELL.format(name="long"))
    comm_id = ok(kc, FINALISER_COMM).split("COMM", 1)[1].split()[0]
    msg_id = kc.execute("%hpo wait long")
    wait_until_serving_widgets(kc, msg_id)
    kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {}}))
    reply, _ = wait_reply(kc, msg_id, timeout=120)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    shown = ok(kc, "print('CHECK', _hpo.state.value, _hpo.stop_reason, "
                   "_hpo.counts()['cancelled'])")
    assert "CHECK finished interrupted 2" in shown, shown


FAILING_CELL = """%%hpo --background --trials 4 --seed 0 --name failing --quiet --metric score --mode max
x = Real(0, 1)
if x < 2:
    raise ValueError("no data")
report(score=x)
"""


def test_a_background_study_whose_trials_all_fail(kernel):
    """Its error is raised by ``%hpo wait``; a second ``%hpo wait`` says it has ended without
    offering ``%hpo apply``, which has nothing to apply."""
    _km, kc = kernel
    ok(kc, FAILING_CELL)
    reply, _ = execute(kc, "%hpo wait failing")
    assert reply["status"] == "error" and "no data" in reply["evalue"]
    shown = ok(kc, "%hpo wait failing")
    assert "no trial reported a value of score" in shown and "%hpo apply" not in shown, shown


def test_showing_a_running_study_again_keeps_one_refresh_thread(kernel):
    """``%hpo show`` of a running study, twice: each display is live, from one thread that
    redraws the dashboard (not one more thread per ``show``)."""
    _km, kc = kernel
    ok(kc, LONG_CELL.format(name="long").replace(" --quiet", ""))
    ok(kc, "%hpo show long")
    ok(kc, "%hpo show long")
    shown = ok(kc, "import threading\nprint('CHECK', sum(t.name == 'hpo-dashboard-long' "
                   "for t in threading.enumerate()))")
    ok(kc, "%hpo stop long")
    assert "CHECK 1" in shown, shown


def test_running_the_cell_again_while_its_study_is_stopping(kernel):
    """The same ``--background`` cell (same ``--name``) run again while its study is still
    stopping (a trial that has not reported since) says so and how to wait for it, instead
    of telling to stop it again."""
    _km, kc = kernel
    cell = WAITING_CELL.format(trials=2, name="again")
    ok(kc, "scale = 1.0")
    ok(kc, cell)
    ok(kc, "%hpo stop again")
    reply, messages = execute(kc, cell)
    text = "".join(m["content"].get("text", "") for m in messages)
    assert reply["status"] == "error", reply
    assert "'again' is stopping (stopped with %hpo stop)" in text, text
    assert "%hpo wait again" in text
    ok(kc, "open(FLAG, 'w').close()")
    ok(kc, "%hpo wait again")


def test_a_study_interrupted_before_it_started_is_not_one_of_the_kernels(kernel):
    """Ctrl-C while the cell sets up (here sent by a function that the space's bound calls):
    the study never started and is not stored, so ``%hpo list`` does not list it as this
    kernel's and ``%hpo wait`` has nothing to join; the same cell then runs."""
    _km, kc = kernel
    ok(kc, "import os, signal\ndef upper():\n    os.kill(os.getpid(), signal.SIGINT)\n"
           "    return 1.0")
    cell = """%%hpo --trials 2 --name early --quiet --metric score --mode max
x = Real(0, upper())
report(score=x)
"""
    reply, _ = execute(kc, cell)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    assert "early" not in ok(kc, "%hpo list")
    reply, _ = execute(kc, "%hpo wait")
    assert reply["status"] == "error" and "no study has run in this kernel" in reply["evalue"]
    ok(kc, "def upper():\n    return 1.0")
    ok(kc, cell)
    assert "early: finished · 2/2 trials" in ok(kc, "%hpo list")


def test_the_streams_a_study_put_in_place_outlive_it():
    """CPython 3.11's ``print`` holds a borrowed reference to ``sys.stdout`` between writing
    its text and its end: a study that ended in another thread during a print put the notebook's
    stream back and freed ours under the print, which crashed the kernel (a ``--background``
    cell's print while its trials failed at once). The streams put back stay alive a while."""
    import gc
    import sys
    import weakref

    from jupyter_hpo.executors._output import OutputRouter

    OutputRouter.acquire()
    installed = weakref.ref(sys.stdout), weakref.ref(sys.stderr)
    OutputRouter.release()
    gc.collect()
    assert all(ref() is not None for ref in installed)
    assert sys.stdout is not installed[0]() and sys.stderr is not installed[1]()  # put back
