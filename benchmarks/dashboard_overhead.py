"""What the live dashboard costs, measured in a real kernel next to ``--quiet``.

    python benchmarks/dashboard_overhead.py           # full run (about 2 minutes)
    python benchmarks/dashboard_overhead.py --quick   # small counts, a smoke test (seconds)

Each configuration runs in a fresh IPython kernel started with jupyter_client (the package
is imported from this checkout; ``--quick`` runs everything in one kernel). The kernel first
runs a small warm-up study in the same mode, so that imports (matplotlib for the dashboard)
are not counted; then the measured cell:

1. *Steady*: 200 trials x 50 reports (``time.sleep(0.01)`` before each report), 4 thread
   workers, FIFO, random search: about 385 reports a second for half a minute.
2. *Time limit*: ``--time-limit 3`` with trivial trials of 5 reports (no sleep): thousands
   of trials, which the end of the study (final render, static summary) must not draw one by
   one.

For each, with the dashboard and with ``--quiet``: the cell's wall time (execute_request to
its final idle status), the study's own elapsed time and what the cell took beyond it
("tail": set-up plus the end of the study), the kernel's CPU seconds (``psutil`` user +
system of the kernel process, all threads: the trials' too), the widget messages the kernel
sent on iopub (``comm_msg``; ``comm_open`` separately, as they are a fixed cost) and display
updates (``display_data``/``update_display_data``), per second of the cell and at their peak
(the most sent within any 10 s, by the kernel's timestamps), and the bytes of the
``comm_msg`` payloads; of those, the results table's updates (the ``comm_msg`` whose new value
is the table) and their bytes. "dashboard cost" is the CPU the dashboard run used beyond the quiet
run, as a share of the dashboard run's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[1]

SETUP = """%load_ext jupyter_hpo
import os
print("PID", os.getpid())
"""


@dataclass
class Case:
    name: str
    cell: str
    warmup: str
    timeout: float


def steady_cell(trials: int, reports: int, workers: int, flags: str) -> str:
    return (f"%%hpo --trials {trials} --workers {workers} --seed 0 --scheduler fifo "
            f"--searcher random "
            f"--metric score --mode max --storage none {flags}\n"
            f"import time\n"
            f"x = Real(0, 1)\n"
            f"for epoch in range(1, {reports + 1}):\n"
            f"    time.sleep(0.01)\n"
            f"    report(epoch=epoch, score=x * epoch)\n")


def time_limit_cell(seconds: float, workers: int, flags: str) -> str:
    return (f"%%hpo --time-limit {seconds:g} --workers {workers} --seed 0 --scheduler fifo "
            f"--searcher random "
            f"--metric score --mode max --storage none {flags}\n"
            f"x = Real(0, 1)\n"
            f"for epoch in range(1, 6):\n"
            f"    report(epoch=epoch, score=x * epoch)\n")


def cases(quick: bool) -> list[Case]:
    if quick:
        steady = ("steady: 20 trials x 10 reports, 2 workers", (20, 10, 2), 120.0)
        limited = ("time limit 1 s, trivial trials, 2 workers", (1.0, 2), 120.0)
    else:
        steady = ("steady: 200 trials x 50 reports, 4 workers", (200, 50, 4), 600.0)
        limited = ("time limit 3 s, trivial trials, 4 workers", (3.0, 4), 600.0)
    return [Case(steady[0], steady_cell(*steady[1], "{flags}"),
                 steady_cell(2, 2, 1, "{flags}"), steady[2]),
            Case(limited[0], time_limit_cell(*limited[1], "{flags}"),
                 steady_cell(2, 2, 1, "{flags}"), limited[2])]


WIDGET_MESSAGES = ("comm_msg", "display_data", "update_display_data")
WINDOW = 10.0  # seconds of the sliding window of the peak message rate


@dataclass
class Measurement:
    wall: float
    cpu: float
    elapsed: float
    trials: int
    counts: dict[str, int]
    comm_bytes: int
    peak_window: int  # most widget messages in any WINDOW seconds (kernel timestamps)
    table_updates: int  # comm_msgs that give the results table a new value
    table_bytes: int
    reply_status: str


def execute(kc, code: str, timeout: float) -> tuple[dict, list[dict], float]:
    """Run ``code``: the reply, the cell's iopub messages and the wall time to its idle."""
    started = time.perf_counter()
    msg_id = kc.execute(code)
    deadline = time.monotonic() + timeout
    messages, reply, idle = [], None, False
    while not (idle and reply is not None):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the cell did not end within {timeout:g}s:\n{code}")
        if reply is None:
            try:
                msg = kc.get_shell_msg(timeout=0.01)
                if msg["parent_header"].get("msg_id") == msg_id:
                    reply = msg["content"]
            except queue.Empty:
                pass
        try:
            msg = kc.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
    return reply, messages, time.perf_counter() - started


def printed(messages: list[dict]) -> str:
    return "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")


def kernel_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), path) if p),
                MPLBACKEND="agg")


def is_table_update(msg: dict) -> bool:
    """A widget message that gives the dashboard's results table a new value."""
    state = (msg["content"].get("data") or {}).get("state") or {}
    value = state.get("value")
    return isinstance(value, str) and "jupyter-hpo-table" in value


def peak_window(messages: list[dict]) -> int:
    """The most widget messages sent within any WINDOW seconds, by the kernel's clock."""
    times = sorted(m["header"]["date"].timestamp() for m in messages
                   if m["msg_type"] in WIDGET_MESSAGES)
    peak, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] > WINDOW:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


class Kernel:
    """A fresh kernel with jupyter_hpo loaded, and its process for CPU times."""

    def __init__(self) -> None:
        self.km, self.kc = start_new_kernel(kernel_name="python3", env=kernel_env())
        _reply, messages, _ = execute(self.kc, SETUP, 60)
        self.process = psutil.Process(int(printed(messages).split("PID ", 1)[1].split()[0]))

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def measure(self, case: Case, quiet: bool) -> Measurement:
        """Warm up, then run the case's cell: what it cost."""
        flags = "--quiet" if quiet else ""
        reply, _, _ = execute(self.kc, case.warmup.format(flags=flags), 120)
        if reply["status"] != "ok":
            raise RuntimeError(f"the warm-up cell failed: {reply.get('evalue')}")
        before = self.process.cpu_times()
        reply, messages, wall = execute(self.kc, case.cell.format(flags=flags), case.timeout)
        after = self.process.cpu_times()
        cpu = (after.user - before.user) + (after.system - before.system)
        counts: dict[str, int] = {}
        comm_bytes = table_updates = table_bytes = 0
        for msg in messages:
            counts[msg["msg_type"]] = counts.get(msg["msg_type"], 0) + 1
            if msg["msg_type"] == "comm_msg":
                size = len(json.dumps(msg["content"]))
                size += sum(len(memoryview(b)) for b in msg.get("buffers") or ())
                comm_bytes += size
                if is_table_update(msg):
                    table_updates += 1
                    table_bytes += size
        _, check, _ = execute(self.kc, "import json; print('CHECK', json.dumps({'elapsed': "
                                       "_hpo.elapsed, 'trials': len(_hpo.trials)}))", 60)
        study = json.loads(printed(check).split("CHECK ", 1)[1].splitlines()[0])
        return Measurement(wall, cpu, study["elapsed"], study["trials"], counts, comm_bytes,
                           peak_window(messages), table_updates, table_bytes, reply["status"])


def measure(case: Case, quiet: bool, kernel: Kernel | None = None) -> Measurement:
    """``case`` in ``kernel``, or in a fresh kernel of its own."""
    if kernel is not None:
        return kernel.measure(case, quiet)
    kernel = Kernel()
    try:
        return kernel.measure(case, quiet)
    finally:
        kernel.close()


def machine() -> str:
    import ipykernel
    import ipywidgets
    import matplotlib

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.platform()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}, ipykernel {ipykernel.__version__}, ipywidgets "
            f"{ipywidgets.__version__}, matplotlib {matplotlib.__version__}; load average "
            f"{load} (1, 5, 15 min) at the end of the run")


def table(case: Case, live: Measurement, quiet: Measurement) -> list[str]:
    def rate(m: Measurement, *kinds: str) -> float:
        return sum(m.counts.get(k, 0) for k in kinds) / m.wall

    def count(m: Measurement, *kinds: str) -> int:
        return sum(m.counts.get(k, 0) for k in kinds)

    rows = [
        ("trials run", f"{live.trials}", f"{quiet.trials}"),
        ("cell wall time (s)", f"{live.wall:.2f}", f"{quiet.wall:.2f}"),
        ("study elapsed (s)", f"{live.elapsed:.2f}", f"{quiet.elapsed:.2f}"),
        ("tail: wall - elapsed (s)", f"{live.wall - live.elapsed:.2f}",
         f"{quiet.wall - quiet.elapsed:.2f}"),
        ("kernel CPU (s)", f"{live.cpu:.2f}", f"{quiet.cpu:.2f}"),
        ("kernel CPU / wall (%)", f"{100 * live.cpu / live.wall:.1f}",
         f"{100 * quiet.cpu / quiet.wall:.1f}"),
        ("widget comm_msg", f"{count(live, 'comm_msg')}", f"{count(quiet, 'comm_msg')}"),
        ("widget comm_open", f"{count(live, 'comm_open')}", f"{count(quiet, 'comm_open')}"),
        ("display + update_display", f"{count(live, 'display_data', 'update_display_data')}",
         f"{count(quiet, 'display_data', 'update_display_data')}"),
        ("widget messages/s (comm_msg + display updates)",
         f"{rate(live, *WIDGET_MESSAGES):.2f}", f"{rate(quiet, *WIDGET_MESSAGES):.2f}"),
        (f"peak widget messages/s (any {WINDOW:g} s)", f"{live.peak_window / WINDOW:.2f}",
         f"{quiet.peak_window / WINDOW:.2f}"),
        ("comm_msg payload (kB)", f"{live.comm_bytes / 1000:.1f}",
         f"{quiet.comm_bytes / 1000:.1f}"),
        ("of which results table: updates", f"{live.table_updates}", f"{quiet.table_updates}"),
        ("of which results table: payload (kB)", f"{live.table_bytes / 1000:.1f}",
         f"{quiet.table_bytes / 1000:.1f}"),
    ]
    extra = live.cpu - quiet.cpu
    lines = [f"### {case.name}", "", "| measurement | dashboard | --quiet |",
             "| --- | ---: | ---: |"]
    lines += [f"| {name} | {a} | {b} |" for name, a, b in rows]
    lines += ["", (f"dashboard cost: {extra:.2f} s of kernel CPU beyond --quiet = "
                   f"{100 * extra / live.wall:.1f} % of the cell's wall time; "
                   f"{live.wall - quiet.wall:+.2f} s of wall time"), ""]
    for m, what in ((live, "dashboard"), (quiet, "--quiet")):
        if m.reply_status != "ok":
            lines.append(f"WARNING: the {what} cell ended with status {m.reply_status}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke test)")
    parser.add_argument("--only", choices=["steady", "time-limit"],
                        help="run one of the two studies")
    args = parser.parse_args(argv)
    shared = Kernel() if args.quick else None  # quick: one kernel for every run
    try:
        for case in cases(args.quick):
            if args.only and not case.name.startswith(args.only.replace("-", " ")):
                continue
            live = measure(case, quiet=False, kernel=shared)
            quiet = measure(case, quiet=True, kernel=shared)
            print("\n".join(table(case, live, quiet)), flush=True)
    finally:
        if shared is not None:
            shared.close()
    print(f"Machine: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
