"""What the JupyterLab study view costs the browser while a large study runs.

    python benchmarks/lab_refresh.py                       # 1,000 trials, the built extension
    python benchmarks/lab_refresh.py --labextension DIR    # another build (e.g. an older one)
    python benchmarks/lab_refresh.py --quick               # 100 trials, short windows

A script (``tune()`` in a subprocess, SQLite storage in a temporary folder) runs ``--trials``
quick trials of ``--reports`` reports each, then keeps the study running: 4 workers run slow
trials of 40 reports, one report every 0.5 s, so that every second a few trials have new
reports and a new trial starts every few seconds. A real ``jupyter lab`` (this checkout's
``jupyter_hpo`` on ``PYTHONPATH``; the extension found through a ``JUPYTER_PATH`` folder that
links ``labextensions/jupyter-hpo`` to ``--labextension``, by default this checkout's build in
``jupyter_hpo/labextension``) serves it, and Debian's Chromium, driven by Playwright, opens
JupyterLab with the studies panel.

The page's main-thread time is read from the Chrome DevTools Protocol
(``Performance.getMetrics``: ``ThreadTime``, the main thread's CPU time, which other programs
on the machine do not inflate; ``TaskDuration``, the wall time of its tasks, which they do;
``LayoutDuration``, ``RecalcStyleDuration``; its ``ScriptDuration`` is left out, as it does
not count the script run after a request's answer) over three windows of ``--seconds`` each:
first with only the studies panel open (it lists the running study every second), then with
the study's view open as well (it reads the whole study every second:
``/jupyter-hpo/study?...``), then with the view behind another tab (a launcher). The view's
cost per refresh is the difference between the first two windows divided by the number of
study requests that finished in the second; it includes reading the study's JSON (its size is
printed) and everything the refresh makes the browser do (style, layout, paint, the charts'
canvas drawing). The browser's own
``performance.measure`` entries named ``jupyter-hpo:study-view-render`` (the view measures
each render, where the build does; a ``PerformanceObserver`` collects them) give the render's
own script time, without the layout and paint that follow it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

STUDY = "big"
RENDER_MEASURE = "jupyter-hpo:study-view-render"  # labextension/src/studyView.ts
METRICS = ("ThreadTime", "TaskDuration", "LayoutDuration", "RecalcStyleDuration")

RUNNER = """
import threading, time
from jupyter_hpo import Categorical, Int, Real, tune
lock = threading.Lock()
started = [0]
def objective(config, report):
    with lock:
        started[0] += 1
        quick = started[0] <= QUICK
    for epoch in range(1, (REPORTS if quick else 40) + 1):
        if not quick:
            time.sleep(0.5)
        report(epoch=epoch, loss=config["lr"] * 10 / epoch + config["units"] / 1000,
               train_loss=config["lr"] * 5 / epoch)
tune(objective, {"lr": Real(1e-4, 1e-1, log=True), "units": Int(16, 256, log=True),
                 "act": Categorical("relu", "tanh", "gelu")},
     metric="loss", mode="min", trials=QUICK + 400, workers=4, seed=0, scheduler="fifo",
     searcher="random", storage=STORAGE, name=NAME)
"""


def metrics(cdp) -> dict[str, float]:
    values = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {name: values[name] for name in METRICS}


def window(page, cdp, seconds: float) -> tuple[dict[str, float], int]:
    """Main-thread seconds spent in ``seconds`` of wall time, and the study reads finished."""
    reads: list[str] = []

    def finished(request) -> None:
        if "/jupyter-hpo/study?" in request.url:
            reads.append(request.url)

    page.on("requestfinished", finished)
    before = metrics(cdp)
    start = time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    after = metrics(cdp)
    wall = time.monotonic() - start
    page.remove_listener("requestfinished", finished)
    spent = {name: (after[name] - before[name]) for name in METRICS}
    spent["wall"] = wall
    return spent, len(reads)


def print_profile(profile: dict, top: int = 25) -> None:
    """The functions with the most self time in a CDP CPU profile."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    deltas = profile.get("timeDeltas", [])
    self_ms: dict[str, float] = {}
    for sample, delta in zip(profile.get("samples", []), deltas[1:] + [0]):
        frame = nodes[sample]["callFrame"]
        key = f"{frame['functionName'] or '(anonymous)'} {frame['url'].rsplit('/', 1)[-1]}" \
              f":{frame['lineNumber']}"
        self_ms[key] = self_ms.get(key, 0.0) + delta / 1000
    print("\nCPU profile of the second window, self time (ms):")
    for key, ms in sorted(self_ms.items(), key=lambda kv: -kv[1])[:top]:
        print(f"- {ms:8.1f} {key}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--labextension", type=Path,
                        default=ROOT / "jupyter_hpo" / "labextension")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", type=Path, default=None,
                        help="also write a CPU profile of the second window (.cpuprofile, "
                             "for Chrome's DevTools) and print the functions that took most")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.seconds = 100, 5.0
    built = args.labextension.resolve()
    if not (built / "package.json").exists():
        sys.exit(f"{built} has no built extension: run `npm run build:prod` in labextension/")

    from browser_support import chromium, jupyter_server, wait_until

    from jupyter_hpo.storage import SQLiteStorage

    with tempfile.TemporaryDirectory(prefix="hpo-lab-refresh-") as folder:
        base = Path(folder)
        path = base / "jupyter" / "labextensions"
        path.mkdir(parents=True)
        (path / "jupyter-hpo").symlink_to(built)
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            [str(base / "jupyter"), *filter(None, [os.environ.get("JUPYTER_PATH")])])
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
        server_base = base / "server"
        server_base.mkdir()
        storage_path = server_base / "root" / "jupyter_hpo.db"
        with jupyter_server("lab", server_base) as server, chromium() as browser:
            script = textwrap.dedent(RUNNER).replace("QUICK", str(args.trials)).replace(
                "REPORTS", str(args.reports)).replace("STORAGE", repr(str(storage_path))) \
                .replace("NAME", repr(STUDY))
            runner = subprocess.Popen([sys.executable, "-c", script],
                                      stdout=subprocess.DEVNULL, env=os.environ)
            try:
                def quick_trials_done() -> bool:
                    if not storage_path.exists():
                        return False
                    summary = SQLiteStorage(storage_path).find_study(STUDY)
                    return summary is not None and summary.trials >= args.trials + 4

                wait_until(quick_trials_done, 300, f"{args.trials} trials stored", step=1)
                page = browser.new_context(viewport={"width": 1500, "height": 950}).new_page()
                page.set_default_timeout(120_000)
                page.goto(server.page_url("lab?reset"))
                page.locator(".jp-SideBar li[data-id='jupyter-hpo-studies']").click()
                row = page.locator("#jupyter-hpo-studies .jp-hpo-study",
                                   has_text=STUDY).first
                row.wait_for()
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")
                page.wait_for_timeout(3000)
                panel, _ = window(page, cdp, args.seconds)
                row.locator("button.jp-hpo-open").click()
                view = page.locator(".jp-hpo-view:visible")
                view.locator("tr.jp-hpo-trial-row").nth(args.trials - 1).wait_for()
                page.wait_for_timeout(3000)
                page.evaluate("""name => {
                    window.__hpoRenders = [];
                    new PerformanceObserver(list => window.__hpoRenders.push(
                        ...list.getEntries().filter(e => e.name === name)
                        .map(e => e.duration))).observe({entryTypes: ['measure']});
                }""", RENDER_MEASURE)
                if args.profile:
                    cdp.send("Profiler.enable")
                    cdp.send("Profiler.start")
                opened, reads = window(page, cdp, args.seconds)
                if args.profile:
                    profile = cdp.send("Profiler.stop")["profile"]
                    args.profile.write_text(json.dumps(profile))
                renders = page.evaluate("window.__hpoRenders")
                rows = view.locator("tr.jp-hpo-trial-row").count()
                page.locator(".lm-MenuBar-item", has_text="File").click()
                page.locator(".lm-Menu-item[data-command='launcher:create']").click()
                page.locator(".jp-Launcher:visible").wait_for()
                page.wait_for_timeout(2000)
                hidden, hidden_reads = window(page, cdp, args.seconds)
                size = len(page.evaluate("""async url => {
                    const response = await fetch(url);
                    return await response.text();
                }""", server.page_url(f"jupyter-hpo/study?storage=jupyter_hpo.db&name={STUDY}")))
                summary = SQLiteStorage(storage_path).find_study(STUDY)
                assert summary is not None and summary.state.value == "running", \
                    "the study ended during the measurement: raise the slow trials' count"
            finally:
                runner.terminate()
                runner.wait(30)

    print(f"Machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}, load average "
          f"{os.getloadavg()[0]:.2f}; extension {built}")
    print(f"Study: {rows} rows in the view, {args.reports} reports per quick trial, "
          f"{size / 1e6:.2f} MB of JSON per read; {args.seconds:.0f} s windows, {reads} "
          f"refreshes of the view in the second\n")
    print("| main thread | panel only, ms/s | panel + study view, ms/s | "
          "the view, ms per refresh | view behind a tab, ms/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in METRICS:
        extra = opened[name] - panel[name] * opened["wall"] / panel["wall"]
        print(f"| {name} | {1000 * panel[name] / panel['wall']:.1f} | "
              f"{1000 * opened[name] / opened['wall']:.1f} | "
              f"{1000 * extra / reads if reads else float('nan'):.1f} | "
              f"{1000 * hidden[name] / hidden['wall']:.1f} |")
    print(f"\nStudy reads while the view was behind a tab: {hidden_reads} in "
          f"{hidden['wall']:.0f} s")
    if renders:
        renders.sort()
        print(f"\nThe view's render alone (its script, performance.measure, {len(renders)} "
              f"renders): median {renders[len(renders) // 2]:.1f} ms, "
              f"max {renders[-1]:.1f} ms")
    if args.profile:
        print_profile(profile)


if __name__ == "__main__":
    main()
