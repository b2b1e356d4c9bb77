"""The JupyterLab extension in real JupyterLab, in Debian's Chromium, through Playwright:
a study run from a notebook appears in the studies panel and updates while it runs, Stop in
the panel stops it in the kernel, a study of another kernel (a --background one) is listed and
stopped, the study view shows charts, table and a trial, bad annotations are underlined with
the magic's message as the user types, study strings are shown as text and run no script,
the cell dashboard's Stop button works while the cell runs, a --background cell gets the
static summary when its study ends after it (and keeps it when saved), and "updated Ns ago"
keeps counting while nothing is requested. The README's screenshot is taken here
(``JUPYTER_HPO_SCREENSHOT=docs/lab-extension.png`` writes it). The servers load the extension
that is installed, or the first one on ``JUPYTER_PATH`` (a worktree's build, see the README)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.parse
from pathlib import Path

import pytest
from browser_support import (
    DIAGNOSED_MS,
    check_curves_follow_the_theme,
    check_curves_follow_vscode_themes,
    check_summary_is_readable,
    chromium,
    jupyter_server,
    magic_error_line,
    wait_until,
    wide_cell,
    write_notebook,
)

from jupyter_hpo import Bool, Categorical, Int, Real, tune
from jupyter_hpo.magic._text import misplaced_message
from jupyter_hpo.records import Direction, StudyState, TrialRecord, TrialStatus
from jupyter_hpo.space import Space
from jupyter_hpo.storage import SQLiteStorage, StudyUpdate

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """pytest-jupyter's loop fixture (autouse for every test once tests/test_server.py loads
    that plugin) made the thread's current loop, which Playwright's sync API would then run
    and the fixture fail to close; here it is a loop of its own that nothing else uses."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()

SLOW_CELL = """%%hpo --name slow --trials 200 --workers 2 --seed 0 --metric loss
import time
x = Real(0, 1)
act = Categorical("relu", "tanh")
for epoch in range(1, 41):
    time.sleep(0.05)
    report(epoch=epoch, loss=x / epoch, train_loss=x / (2 * epoch))
"""

DASHBOARD_CELL = SLOW_CELL.replace("--name slow", "--name dashboard")

XSS = '<img src=x onerror="window.__hpo_xss=1">'


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server and a browser page logged in to it."""
    base = tmp_path_factory.mktemp("lab")
    with jupyter_server("lab", base) as server, chromium() as browser:
        context = browser.new_context(viewport={"width": 1500, "height": 950},
                                      permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        server.page = page
        server.errors = errors
        yield server
        context.close()


def storage(server) -> SQLiteStorage:
    return SQLiteStorage(server.root / "jupyter_hpo.db")


def open_notebook(lab, name: str, cells: list[str]):
    """Open a notebook of ``cells`` in JupyterLab and wait for its kernel."""
    write_notebook(lab.root / name, cells)
    page = lab.page
    page.goto(lab.page_url(f"lab/tree/{name}?reset"))  # only this notebook open
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.wait_for()
    accept_kernel_dialog(lab, page, name)
    return page


def kernel_state(lab, name: str) -> str | None:
    """The execution state of the kernel of the notebook ``name``, as the server knows it."""
    for session in lab.api("api/sessions"):
        if session["path"] == name:
            return session["kernel"]["execution_state"]
    return None


def accept_kernel_dialog(lab, page, name: str) -> None:
    """Accept JupyterLab's "Select Kernel" dialog (the notebook's python3) whenever it is
    shown, until the server knows the notebook ``name``'s kernel as idle: the dialog comes
    before that kernel starts or not at all, however long the page took (a 3 s wait for it
    returned before a late dialog, which then covered the notebook)."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")

    def settled() -> bool:
        if dialog.is_visible():
            dialog.locator("button", has_text="Select").click()
            dialog.wait_for(state="detached")
            return False
        return kernel_state(lab, name) == "idle" and not dialog.is_visible()

    wait_until(settled, 120, f"the kernel of {name}, its 'Select Kernel' dialog accepted")


def run_cell(page, index: int) -> None:
    """Run the ``index``-th cell of the current notebook (Shift+Enter in its editor)."""
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(index)
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")


def open_panel(page) -> None:
    """Show the studies panel (a click on its tab in the left sidebar)."""
    panel = page.locator("#jupyter-hpo-studies")
    if not panel.is_visible():
        page.locator(".jp-SideBar li[data-id='jupyter-hpo-studies']").click()
    panel.wait_for(state="visible")


def marked(editor, kind: str) -> list[str]:
    """The texts marked as ``jp-hpo-{kind}`` in an editor, one per mark (CodeMirror splits
    a mark into several spans where syntax highlighting starts or ends)."""
    return editor.evaluate("""(root, cls) => {
        const out = [];
        let last = null;
        for (const el of root.querySelectorAll('.' + cls)) {
            if (el.parentElement.closest('.' + cls)) continue;
            const key = el.getAttribute('data-hpo-message') ?? el.getAttribute('data-hpo-domain');
            if (last !== null && last.key === key && last.line === el.closest('.cm-line')) {
                out[out.length - 1] += el.textContent;
            } else {
                out.push(el.textContent);
            }
            last = {key, line: el.closest('.cm-line')};
        }
        return out;
    }""", f"jp-hpo-{kind}")


def study_row(page, name: str):
    return page.locator("#jupyter-hpo-studies .jp-hpo-study").filter(
        has=page.locator(".jp-hpo-study-name", has_text=re.compile(f"^{re.escape(name)}$")))


def page_wait(page, condition, timeout: float, what: str):
    """Wait for ``condition()`` while the page's events (requests) are delivered: Playwright
    calls the page's listeners only inside its own calls, so this waits in the page."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        page.wait_for_timeout(100)
    return value


class PageRequests:
    """The page's requests in the order it sent them and had them answered: ``events`` holds
    ``("sent" | "answered", url)``; ``pending(part)`` the URLs containing ``part`` that were
    sent and are not answered (or failed) yet."""

    def __init__(self, page) -> None:
        self.events: list[tuple[str, str]] = []
        self._open: dict[object, str] = {}
        page.on("request", self._sent)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _sent(self, request) -> None:
        self._open[request] = request.url
        self.events.append(("sent", request.url))

    def _ended(self, request) -> None:
        self._open.pop(request, None)
        self.events.append(("answered", request.url))

    def pending(self, part: str) -> list[str]:
        return [url for url in self._open.values() if part in url]


def is_listing(url: str) -> bool:
    return "/jupyter-hpo/studies" in url


def watched_token(url: str) -> str:
    """The storage token a watch request asks the server to wait past (``since``)."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("since", [""])[0]


def is_held_watch(url: str) -> bool:
    """A watch request that the server holds until a storage file changes (the first one,
    without a token, is answered at once)."""
    return "/jupyter-hpo/watch" in url and bool(watched_token(url))


# ---------------------------------------------------------------------------- tests
def test_a_study_run_from_a_notebook_appears_updates_and_stops_from_the_panel(lab):
    page = open_notebook(lab, "run.ipynb", ["%load_ext jupyter_hpo", SLOW_CELL])
    run_cell(page, 0)
    run_cell(page, 1)
    open_panel(page)
    row = study_row(page, "slow")
    row.wait_for()
    wait_until(lambda: row.get_attribute("data-state") == "running", 60, "the study running")
    first = int(row.get_attribute("data-trials"))
    wait_until(lambda: int(row.get_attribute("data-trials")) > first, 60,
               "the panel showing more trials")  # updated live, without a click
    assert "run.ipynb" in row.locator(".jp-hpo-study-owner").inner_text()
    assert "slow" in storage(lab).find_study("slow").name
    status = page.locator(".jp-hpo-status")
    status.wait_for()
    assert re.search(r"HPO: 1 running · \d+/200", status.inner_text())

    row.locator("button.jp-hpo-stop").click()
    wait_until(lambda: row.get_attribute("data-state") == "finished", 60,
               "the study finishing after Stop in the panel")
    record = storage(lab).load_study("slow")
    assert record.stop_reason.startswith("stopped from JupyterLab")
    statuses = {t.status for t in record.trials}
    assert TrialStatus.CANCELLED in statuses  # the trials running at the stop
    assert statuses <= {TrialStatus.COMPLETED, TrialStatus.CANCELLED}
    # the cell ended in the kernel and its dashboard says who stopped it
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(1)
    prompt = cell.locator(".jp-InputArea-prompt")
    wait_until(lambda: re.fullmatch(r"\[\d+\]:", prompt.inner_text().strip()), 60,
               "the cell ending")
    output = cell.locator(".jp-OutputArea")
    wait_until(lambda: "stopped from JupyterLab" in output.inner_text(), 30,
               "the cell's dashboard showing who stopped the study")
    assert status.is_hidden() or "none running" in status.inner_text()


def slow_objective(config, report):
    """SLOW_CELL's training loop, without its sleeps."""
    for epoch in range(1, 41):
        report(epoch=epoch, loss=config["x"] / epoch, train_loss=config["x"] / (2 * epoch))


@pytest.fixture
def slow_study(lab) -> str:
    """The stored study "slow": the one the first test runs from a notebook, or, when that
    test did not run first (``-k study_view``), the same space and reports run here by
    ``tune()`` into the server's storage file, with JupyterLab opened."""
    if not (lab.root / "jupyter_hpo.db").exists() or storage(lab).find_study("slow") is None:
        tune(slow_objective, {"x": Real(0, 1), "act": Categorical("relu", "tanh")},
             metric="loss", mode="min", trials=8, workers=2, seed=0, name="slow",
             storage=str(lab.root / "jupyter_hpo.db"))
    if "/lab" not in lab.page.url:  # no test has opened JupyterLab yet
        lab.page.goto(lab.page_url("lab?reset"))
        lab.page.locator(".jp-SideBar li[data-id='jupyter-hpo-studies']").wait_for()
    return "slow"


def test_the_study_view_shows_charts_the_table_and_a_trial(lab, slow_study):
    page = lab.page
    open_panel(page)
    row = study_row(page, slow_study)
    row.locator("button.jp-hpo-open").click()
    view = page.locator(".jp-hpo-view:visible")
    view.wait_for()
    title = view.locator(".jp-hpo-view-title")
    wait_until(lambda: title.inner_text() == slow_study, 30, "the study view showing the study")
    assert view.locator("canvas").count() == 3
    record = storage(lab).load_study(slow_study)
    rows = view.locator("tr.jp-hpo-trial-row")
    wait_until(lambda: rows.count() == len(record.trials), 30, "one row per trial")

    # sorting: by the metric, then the other way round
    view.locator("th[data-column='metric']").click()
    values = [float(v) for v in view.locator(
        "tr.jp-hpo-trial-row td:nth-child(5)").all_inner_texts() if v != "–"]
    assert values == sorted(values)
    view.locator("th[data-column='metric']").click()
    values = [float(v) for v in view.locator(
        "tr.jp-hpo-trial-row td:nth-child(5)").all_inner_texts() if v != "–"]
    assert values == sorted(values, reverse=True)
    # filtering by status and by text
    view.locator("select.jp-hpo-status-filter").select_option("cancelled")
    cancelled = sum(1 for t in record.trials if t.status is TrialStatus.CANCELLED)
    assert rows.count() == cancelled
    view.locator("select.jp-hpo-status-filter").select_option("all")
    view.locator("input.jp-hpo-filter").fill("tanh")
    assert rows.count() == sum(1 for t in record.trials if t.config["act"] == "tanh")
    view.locator("input.jp-hpo-filter").fill("")

    # one trial: configuration, reports
    best = record.best_trial
    view.locator(f"tr.jp-hpo-trial-row[data-trial='{best.trial_id}']").click()
    detail = view.locator(".jp-hpo-trial-detail")
    assert f"Trial {best.trial_id}" in detail.inner_text()
    assert detail.locator(".jp-hpo-reports tr").count() == len(best.reports) + 1
    assert best.config["act"] in detail.locator(".jp-hpo-config").inner_text()

    # the learning curves of another reported value, picked above the chart
    picker = view.locator("select.jp-hpo-curves-value")
    assert picker.locator("option").all_inner_texts() == ["loss (the metric)", "train_loss"]
    curves = view.locator(".jp-hpo-chart-curves canvas")
    assert curves.get_attribute("aria-label") == "Learning curves"
    picker.select_option("train_loss")
    assert curves.get_attribute("aria-label") == (
        "Learning curves of train_loss (thick line: the best trial by loss)")
    assert re.search(r"train_loss [\d.e-]+ at \d+", hover_text(page, view, "curves", 0.7))

    # a reload opens the view again (it was lost), with the picked value and the table's
    # order (the metric, descending); first JupyterLab saves its layout, the view in it
    saved = f"jupyter-hpo-study:{view_id(view)}"
    wait_until(lambda: saved_layout(lab).get("current") == saved, 30,
               "the layout with the study view saved")
    page.reload()
    view = page.locator(".jp-hpo-view:visible")
    wait_until(lambda: view.locator("tr.jp-hpo-trial-row").count() == len(record.trials), 30,
               "the study view reopened after the reload")
    picker = view.locator("select.jp-hpo-curves-value")
    curves = view.locator(".jp-hpo-chart-curves canvas")
    assert picker.input_value() == "train_loss"
    assert curves.get_attribute("aria-label") == (
        "Learning curves of train_loss (thick line: the best trial by loss)")
    assert view.locator("th[data-column='metric']").get_attribute("aria-sort") == "descending"
    values = [float(v) for v in view.locator(
        "tr.jp-hpo-trial-row td:nth-child(5)").all_inner_texts() if v != "–"]
    assert values == sorted(values, reverse=True)
    # back to the metric and the trials' order, which are kept no more
    picker.select_option("loss")
    assert curves.get_attribute("aria-label") == "Learning curves"
    view.locator("th[data-column='trial_id']").click()
    assert view.locator("th[data-column='trial_id']").get_attribute("aria-sort") == "ascending"
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith("
                         "'jupyter-hpo-study-'))") == []

    # hovering the history chart shows a trial and its configuration
    text = hover_text(page, view, "history", 0.5)
    assert re.search(r"trial \d+ \((completed|cancelled)\)", text)
    assert "x = " in text and "act = " in text


def saved_layout(lab) -> dict:
    """The main area's layout as JupyterLab last saved it in its default workspace."""
    data = lab.api("lab/api/workspaces/default")["data"]
    return data.get("layout-restorer:data", {}).get("main", {})


def view_id(view) -> str:
    """The id of the study view's tab (JupyterLab's layout names it)."""
    return view.evaluate("el => el.closest('.jp-MainAreaWidget').id")


def hover_text(page, view, chart: str, height: float) -> str:
    """What a chart of the study view says about the point under the mouse, moved across
    the chart at ``height`` (a fraction of it, from the top) until it says something."""
    box = view.locator(f".jp-hpo-chart-{chart} canvas").bounding_box()
    hover = view.locator(f".jp-hpo-chart-{chart} .jp-hpo-chart-hover")
    for fx in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * height)
        page.wait_for_timeout(200)
        if hover.text_content():
            break
    return hover.text_content()


def loss_trial(trial_id: int, status: TrialStatus, losses: list[float],
               started: float) -> TrialRecord:
    """A stored trial that reported ``losses`` at epochs 1, 2, ..."""
    return TrialRecord(trial_id, {"x": trial_id / 100}, status,
                       tuple({"epoch": e, "loss": v} for e, v in enumerate(losses, 1)),
                       tuple(float(e) for e in range(len(losses))), started,
                       None if status is TrialStatus.RUNNING else started + len(losses))


def test_a_running_studys_view_changes_only_what_changed(lab):
    """A refresh of the view of a running study writes the cells of the trials that changed,
    adds rows for new trials and keeps every other row as it is: a marker put on the rows'
    nodes survives (the whole table used to be made again every second). The table's scroll
    position, its order, its status filter and the curves' new points hold across refreshes;
    behind another tab the view reads nothing until it is shown. The study is written here, through the storage, by this process (which holds its lease)."""
    store = storage(lab)
    study = store.create_study("incremental", metric="loss", direction=Direction.MIN,
                               resource="epoch", space=Space({"x": Real(0.0, 1.0)}),
                               settings={"trials": 100})
    now = time.time()
    trials = {i: loss_trial(i, TrialStatus.COMPLETED, [i + 10, i + 5, i + 1], now)
              for i in range(58)}
    trials.update({i: loss_trial(i, TrialStatus.RUNNING, [200.0 + i], now) for i in (58, 59)})

    written: dict[int, int] = {}  # the reports stored of each trial

    def write(*changed: TrialRecord) -> None:
        old = {t.trial_id: written.get(t.trial_id, 0) for t in changed}
        trials.update({t.trial_id: t for t in changed})
        written.update({t.trial_id: len(t.reports) for t in changed})
        store.write(study.study_id, StudyUpdate(changed, old, StudyState.RUNNING,
                                                time.time() - now))

    def shown() -> list[tuple[int, str | None]]:
        """The rows' trials in their order, and the marker each row's node carries."""
        return [(int(t), m) for t, m in view.locator("tr.jp-hpo-trial-row").evaluate_all(
            "rows => rows.map(r => [r.dataset.trial, r.dataset.marker ?? null])")]

    def cells(trial_id: int) -> dict[str, str]:
        headers = view.locator("table.jp-hpo-trials th").all_inner_texts()
        row = view.locator(f"tr.jp-hpo-trial-row[data-trial='{trial_id}'] td")
        return dict(zip(headers, row.all_inner_texts()))

    try:
        write(*trials.values())
        sent = PageRequests(lab.page)
        _, view = open_study_view(lab, "incremental")
        wait_until(lambda: len(shown()) == 60, 30, "one row per trial")
        curves = view.locator(".jp-hpo-chart-curves")
        wait_until(lambda: curves.get_attribute("data-points") == str(58 * 3 + 2), 30,
                   "the curves of every report")
        view.locator("tr.jp-hpo-trial-row").evaluate_all(
            "rows => rows.forEach(r => { r.dataset.marker = r.dataset.trial; })")
        box = view.locator(".jp-hpo-table-box")
        box.evaluate("box => { box.scrollTop = 300; }")
        scrolled = box.evaluate("box => box.scrollTop")
        assert scrolled > 0

        # trial 58 reports twice more, 59 ends, 60 starts
        write(loss_trial(58, TrialStatus.RUNNING, [200.0 + 58, 150.0, 120.0], now),
              loss_trial(59, TrialStatus.COMPLETED, [200.0 + 59, 100.0], now),
              loss_trial(60, TrialStatus.RUNNING, [300.0], now))
        wait_until(lambda: len(shown()) == 61, 30, "a row for the new trial")
        wait_until(lambda: cells(59)["status"] == "completed", 30, "trial 59 shown completed")
        assert shown() == [(i, str(i)) for i in range(60)] + [(60, None)]  # the rows kept
        assert cells(58)["epoch"] == "3" and cells(58)["loss"] == "120"
        assert cells(59)["loss"] == "100"
        assert "jp-hpo-status-completed" in view.locator(
            "tr.jp-hpo-trial-row[data-trial='59']").get_attribute("class")
        assert box.evaluate("box => box.scrollTop") == scrolled
        wait_until(lambda: curves.get_attribute("data-points") == str(58 * 3 + 2 + 4), 30,
                   "the curves holding the new reports")

        # sorted by the metric and filtered by status: 58 ends with the best value (hidden by
        # the filter meanwhile) and 61 starts; the order and the filter hold
        view.locator("th[data-column='metric']").click()
        status = view.locator("select.jp-hpo-status-filter")
        status.select_option("running")
        assert shown() == [(58, "58"), (60, None)]
        write(loss_trial(58, TrialStatus.COMPLETED, [200.0 + 58, 150.0, 120.0, 0.5], now),
              loss_trial(61, TrialStatus.RUNNING, [250.0], now))
        wait_until(lambda: [t for t, _ in shown()] == [61, 60], 30,
                   "the running trials in the metric's order")
        status.select_option("all")
        order = sorted(trials.values(), key=lambda t: min(r["loss"] for r in t.reports))
        assert [t for t, _ in shown()] == [t.trial_id for t in order]
        assert shown()[0] == (58, "58")  # the same node, moved to the top
        assert all(marker == str(trial) for trial, marker in shown() if trial < 60)
        assert view.locator("th[data-column='metric']").get_attribute("aria-sort") == \
            "ascending"

        # behind another tab the view reads nothing; shown again, it reads the study at once
        page = lab.page
        page.locator(".lm-MenuBar-item", has_text="File").click()
        page.locator(".lm-Menu-item[data-command='launcher:create']").click()
        page.locator(".jp-Launcher:visible").wait_for()
        assert view.is_hidden()
        page_wait(page, lambda: not sent.pending("/jupyter-hpo/study?"), 60,
                  "the answer to a read in flight when the tab changed")
        reads: list[str] = []
        page.on("request", lambda r: reads.append(r.url) if "/jupyter-hpo/study?" in r.url
                else None)
        write(loss_trial(62, TrialStatus.RUNNING, [260.0], now))
        hidden_view = page.locator(".jp-hpo-view").filter(
            has=page.locator(".jp-hpo-view-title", has_text=re.compile("^incremental$")))
        # its next read came due while hidden: skipped, and none is scheduled after it
        page_wait(page, lambda: hidden_view.get_attribute("data-reading") == "stale", 30,
                  "the hidden view skipping its read")
        assert reads == []
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="incremental").click()
        wait_until(lambda: (62, None) in shown(), 30, "the view showing the new trial")
        assert reads
    finally:
        store.write(study.study_id, StudyUpdate(state=StudyState.FINISHED,
                                                elapsed=time.time() - now))
        store.release_study(study.study_id)
    view.locator("th[data-column='trial_id']").click()  # the trials' order, kept no more


def test_a_background_study_of_another_kernel_is_listed_and_stopped(lab):
    from jupyter_client.manager import start_new_kernel

    env = dict(os.environ, JUPYTER_HPO_STORAGE=str(lab.root / "jupyter_hpo.db"))
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(lab.root), env=env)
    try:
        kc.execute_interactive("%load_ext jupyter_hpo", timeout=60)
        kc.execute_interactive(SLOW_CELL.replace("--name slow", "--name elsewhere --background"),
                               timeout=60)
        page = lab.page
        page.goto(lab.page_url("lab?reset"))  # alone (-k) it had no page yet: about:blank
        open_panel(page)
        row = study_row(page, "elsewhere")
        row.wait_for(timeout=60_000)  # found through the watch: nobody clicked refresh
        wait_until(lambda: row.get_attribute("data-state") == "running", 60,
                   "the other kernel's study running")
        owner = row.locator(".jp-hpo-study-owner").inner_text()
        assert f":{km.provisioner.pid}" in owner  # not this server's kernel: its process
        row.locator("button.jp-hpo-stop").click()
        wait_until(lambda: row.get_attribute("data-state") == "finished", 60,
                   "the other kernel's study stopping")
        outputs: list[str] = []
        kc.execute_interactive(
            "print(_hpo.state, '|', _hpo.stop_reason)", timeout=60,
            output_hook=lambda m: outputs.append(m["content"].get("text", "")))
        text = "".join(outputs)
        assert text.startswith("finished |")
        assert "stopped from JupyterLab" in text
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_bad_annotation_is_underlined_with_the_magics_message_as_you_type(lab):
    page = open_notebook(lab, "edit.ipynb", ["x = 1"])
    editor = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.locator(
        ".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("%%hpo --trials 5\nlr = Real(1e-4, 1e-1, log=True)\nunits = Int(256, 16)")
    body = "lr = Real(1e-4, 1e-1, log=True)\nunits = Int(256, 16)"
    error = editor.locator(".jp-hpo-error").first
    error.wait_for(timeout=DIAGNOSED_MS)  # the server's answer, drawn
    assert error.get_attribute("data-hpo-message") == magic_error_line(body)
    assert marked(editor, "error") == ["Int(256, 16)"]
    assert marked(editor, "annotation") == ["Real(1e-4, 1e-1, log=True)"]
    error.hover()
    tooltip = page.locator(".jp-hpo-tooltip")
    tooltip.wait_for(timeout=5000)
    assert tooltip.inner_text() == magic_error_line(body)
    editor.locator(".jp-hpo-annotation").first.hover()
    page.locator(".jp-hpo-tooltip", has_text="lr: Real(0.0001, 0.1, log=True").wait_for(
        timeout=5000)

    # fixing the bounds removes the underline, a new mistake brings another
    editor.click()
    page.keyboard.press("Control+End")
    for _ in range(len("256, 16)")):
        page.keyboard.press("Backspace")
    page.keyboard.type("16, 256)\nact = Float(0, 1)")
    new_body = "lr = Real(1e-4, 1e-1, log=True)\nunits = Int(16, 256)\nact = Float(0, 1)"
    editor.locator(".jp-hpo-error", has_text="Float").first.wait_for(timeout=DIAGNOSED_MS)
    assert marked(editor, "error") == ["Float(0, 1)"]
    assert editor.locator(".jp-hpo-error").first.get_attribute("data-hpo-message") == \
        magic_error_line(new_body)
    assert "did you mean Real?" in magic_error_line(new_body)
    assert marked(editor, "annotation") == ["Real(1e-4, 1e-1, log=True)", "Int(16, 256)"]

    # a comment above %%hpo: the magic's line is underlined with "must be the first line",
    # the text the kernel starts its error with
    page.keyboard.press("Control+Home")
    page.keyboard.type("# tuning\n")
    error = editor.locator(".jp-hpo-error", has_text="%%hpo --trials 5")
    error.wait_for(timeout=DIAGNOSED_MS)
    assert marked(editor, "error") == ["%%hpo --trials 5"]
    assert marked(editor, "annotation") == []
    message = error.get_attribute("data-hpo-message")
    assert message == misplaced_message(" --trials 5")
    assert message.startswith("%%hpo must be the first line of the cell")
    # a blank line above %%hpo is what IPython allows: checked as usual
    page.keyboard.press("Control+Home")
    page.keyboard.press("Shift+End")
    page.keyboard.press("Backspace")
    editor.locator(".jp-hpo-error", has_text="Float").first.wait_for(timeout=DIAGNOSED_MS)
    assert marked(editor, "error") == ["Float(0, 1)"]

    # a misspelt option on the %%hpo line (below the blank one): its options are underlined
    # with the magic's "did you mean"
    page.keyboard.press("Control+Home")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    page.keyboard.type(" --trails 3")
    options = editor.locator(".jp-hpo-error", has_text="--trails")
    options.first.wait_for(timeout=DIAGNOSED_MS)
    assert marked(editor, "error") == ["--trials 5 --trails 3", "Float(0, 1)"]
    assert options.first.get_attribute("data-hpo-message") == (
        "unrecognized arguments: --trails 3; did you mean --trials instead of --trails? "
        "(%%hpo? lists the options)")


def test_study_strings_are_shown_as_text_and_run_no_script(lab):
    script = textwrap.dedent(f"""
        from jupyter_hpo import Categorical, Real, tune
        def objective(config, report):
            if config["x"] > 0.7:
                raise ValueError({XSS!r} + " <script>window.__hpo_xss=3</script>")
            report(epoch=1, loss=config["x"])
        tune(objective, {{"x": Real(0, 1), "choice": Categorical({XSS!r}, "<b>bold</b>")}},
             metric="loss", mode="min", trials=12, seed=1, storage={str(lab.root /
             "jupyter_hpo.db")!r}, name={XSS!r})
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    page = lab.page
    page.goto(lab.page_url("lab?reset"))  # whatever page the test before left open
    open_panel(page)
    page.locator("#jupyter-hpo-studies .jp-hpo-refresh").click()
    row = study_row(page, XSS)
    row.wait_for()
    assert row.locator(".jp-hpo-study-name").inner_text() == XSS
    row.locator("button.jp-hpo-open").click()
    view = page.locator(".jp-hpo-view:visible")
    title = view.locator(".jp-hpo-view-title")
    wait_until(lambda: title.inner_text() == XSS, 30, "the study view showing the name")
    rows = view.locator("tr.jp-hpo-trial-row")
    wait_until(lambda: rows.count() == 12, 30, "the 12 trials in the table")
    table = view.locator("table.jp-hpo-trials").inner_text()
    assert XSS in table and "<b>bold</b>" in table
    record = storage(lab).load_study(XSS)
    failed = next(t for t in record.trials if t.status is TrialStatus.FAILED)
    view.locator(f"tr.jp-hpo-trial-row[data-trial='{failed.trial_id}']").click()
    detail = view.locator(".jp-hpo-trial-detail")
    assert "<script>window.__hpo_xss=3</script>" in detail.locator(
        ".jp-hpo-trial-error").inner_text()
    assert "Traceback" in detail.locator(".jp-hpo-traceback pre").inner_text()
    page.wait_for_timeout(500)  # an image that failed to load would have fired by now
    assert page.evaluate("window.__hpo_xss") is None
    for where in ("#jupyter-hpo-studies", ".jp-hpo-view"):
        assert page.locator(f"{where} img").count() == 0
        assert page.locator(f"{where} b").count() == 0
        assert page.locator(f"{where} script").count() == 0

    # copy the best configuration, then delete the study after the confirmation dialog
    row.locator("button.jp-hpo-copy").click()
    wait_until(lambda: page.evaluate("navigator.clipboard.readText()"), 10, "the copy")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == record.best_config
    row.locator("button.jp-hpo-delete").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    assert f'Delete the study "{XSS}" and its 12 trials' in dialog.inner_text()
    assert dialog.locator("img").count() == 0
    dialog.locator("button", has_text="Delete").click()
    row.wait_for(state="detached")
    assert storage(lab).find_study(XSS) is None
    assert page.locator(".jp-hpo-view:visible").count() == 0  # its view was closed
    assert page.evaluate("window.__hpo_xss") is None
    assert lab.errors == []


def test_the_cell_dashboards_stop_button_works_while_the_cell_runs(lab):
    page = open_notebook(lab, "dashboard.ipynb", ["%load_ext jupyter_hpo", DASHBOARD_CELL])
    run_cell(page, 0)
    run_cell(page, 1)
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(1)
    stop = cell.locator("button", has_text="Stop study")
    stop.wait_for(timeout=60_000)
    wait_until(lambda: len(storage(lab).load_study("dashboard").trials) >= 2, 60,
               "two trials started")
    prompt = cell.locator(".jp-InputArea-prompt")
    assert prompt.inner_text().strip() == "[*]:"  # the cell is still running
    # the curves of another reported value, picked while the cell runs
    menu = cell.locator(".widget-dropdown", has_text="curves of").locator("select")
    menu.wait_for(state="visible", timeout=60_000)
    image = cell.locator(".widget-image").first
    before = image.get_attribute("src")
    menu.select_option("train_loss")
    wait_until(lambda: image.get_attribute("src") != before, 30, "the curves redrawn")
    # running trials listed, none chosen: Stop trial is disabled (it was enabled and said
    # "no running trial to stop" while the status line said "2 running")
    trials = cell.locator(".widget-dropdown:has(label:text-is('trial')) select")
    wait_until(lambda: trials.locator("option").count() >= 1, 30, "the trial menu listing")
    assert trials.evaluate("select => select.selectedIndex") == -1
    assert cell.locator("button", has_text="Stop trial").is_disabled()
    if os.environ.get("JUPYTER_HPO_DASHBOARD_SHOT"):
        cell.screenshot(path=os.environ["JUPYTER_HPO_DASHBOARD_SHOT"])
    stop.click()
    # the transient "stopping" line, or the end it leads to (a poll can miss the line when the
    # running trials report at once and the study ends before the next look)
    wait_until(lambda: "stopping: running trials" in cell.inner_text()
               or "stopped from the dashboard" in cell.inner_text(), 30, "the stop said")
    wait_until(lambda: re.fullmatch(r"\[\d+\]:", prompt.inner_text().strip()), 60,
               "the cell ending")
    # the study has ended: the status line says why, the "stopping" line is gone
    wait_until(lambda: "stopping: running trials" not in cell.inner_text(), 10,
               "the stopping line cleared")
    assert "stopped from the dashboard" in cell.inner_text()
    record = storage(lab).load_study("dashboard")
    assert record.state.value == "finished"
    assert record.stop_reason == "stopped from the dashboard"  # the button's reason
    assert {t.status for t in record.trials} <= {TrialStatus.COMPLETED, TrialStatus.CANCELLED}


LATER_CELL = """%%hpo --name later --trials 3 --workers 1 --seed 0 --metric loss --background
import time
x = Real(0, 1)
for epoch in range(1, 4):
    time.sleep(1.0)
    report(epoch=epoch, loss=x / epoch)
"""


def saved_outputs(path: Path, index: int) -> dict[str, str]:
    """The saved outputs of cell ``index`` as a frontend without widgets reads them: by MIME
    type, texts joined (of a widget's output, only its text/plain)."""
    try:
        cell = json.loads(path.read_text())["cells"][index]
    except (OSError, ValueError, IndexError):  # not written yet, or being written
        return {}
    shown: dict[str, str] = {}
    for output in cell.get("outputs", []):
        data = dict(output.get("data", {}))
        if data.pop("application/vnd.jupyter.widget-view+json", None) is not None:
            data = {"text/plain": data.get("text/plain", "")}
        for mime, value in data.items():
            value = "".join(value) if isinstance(value, list) else value
            shown[mime] = shown.get(mime, "") + value
    return shown


def test_a_background_cell_gets_its_summary_when_the_study_ends_after_it(lab):
    """A --background cell has ended, another cell has run since and the kernel is idle
    when the study ends: the background cell's placeholders get the static summary
    (JupyterLab hands a display's update to the cell that shows it, whichever cell's message
    it is), and the saved notebook keeps it. The cell kept only the dashboard's widget and
    one status line, so the notebook saved without a kernel showed no curves, best
    configuration or table."""
    page = open_notebook(lab, "later.ipynb", ["%load_ext jupyter_hpo", LATER_CELL,
                                              "print('the next cell')"])
    run_cell(page, 0)
    run_cell(page, 1)
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
    cell, following = cells.nth(1), cells.nth(2)
    run_cell(page, 2)  # the kernel's latest request is then another cell's
    wait_until(lambda: "the next cell" in following.locator(".jp-OutputArea").inner_text(), 60,
               "the next cell run")
    assert "is shown here when it ends" in cell.inner_text()  # the study still runs
    wait_until(lambda: cell.locator(".jp-RenderedImage img").count() == 1, 90,
               "the summary's curves in the cell")
    wait_until(lambda: "is shown here when it ends" not in cell.inner_text(), 30,
               "the placeholder replaced")
    assert "best: trial" not in cell.inner_text()  # the HTML is shown, not its text version
    assert following.locator(".jp-RenderedImage").count() == 0
    assert storage(lab).load_study("later").state.value == "finished"
    assert kernel_state(lab, "later.ipynb") == "idle"
    page.keyboard.press("Control+s")
    path = lab.root / "later.ipynb"
    wait_until(lambda: saved_outputs(path, 1).get("image/png"), 30, "the notebook saved")
    saved = saved_outputs(path, 1)
    assert "jupyter-hpo-table" in saved["text/html"]
    assert "later: finished · 3/3 trials" in saved["text/html"]
    assert "is shown here when it ends" not in saved["text/plain"]
    assert not lab.errors, lab.errors


def open_palette(page):
    """The command palette's input, opened with Control+Shift+C (capital C, the key a real
    Shift+C sends: JupyterLab 4.4 ignored Playwright's lowercase one), pressed again while the
    palette is not shown: JupyterLab 4.3 may miss a shortcut pressed just after Escape."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    palette = page.locator(".lm-CommandPalette-input")
    for _ in range(5):
        page.keyboard.press("Control+Shift+C")
        try:
            palette.wait_for(state="visible", timeout=3000)
            return palette
        except PlaywrightTimeout:
            continue
    raise AssertionError("Control+Shift+C did not open the command palette")


def insert_template(page) -> None:
    """Run "Insert a %%hpo template cell" from the command palette."""
    page.keyboard.press("Escape")
    open_palette(page).fill("Insert a %%hpo template cell")
    page.locator(".lm-CommandPalette-item", has_text="Insert a %%hpo template cell").click()


def test_commands_insert_a_template_and_stop_every_study(lab):
    """The template runs as inserted: in a notebook that does not load jupyter_hpo yet, a
    ``%load_ext jupyter_hpo`` cell comes with it (the template alone failed with "Cell magic
    `%%hpo` not found"); "Stop all running HPO studies" stops a study."""
    page = open_notebook(lab, "commands.ipynb", ["x = 1"])
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
    cells.first.locator(".jp-InputPrompt").click()
    insert_template(page)
    wait_until(lambda: cells.count() == 3, 10, "the magic's and the template's cells inserted")
    assert cells.nth(1).locator(".cm-content").inner_text() == "%load_ext jupyter_hpo"
    template = cells.nth(2)
    assert template.locator(".cm-content").inner_text().startswith("%%hpo --trials 20")
    template.locator(".jp-hpo-annotation").first.wait_for(timeout=DIAGNOSED_MS)
    assert template.locator(".jp-hpo-error").count() == 0
    assert len(marked(template, "annotation")) == 3
    # a study runs from it; "Stop all running HPO studies" stops it
    template.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type(SLOW_CELL.replace("--name slow", "--name templated"))
    run_cell(page, 1)  # %load_ext
    run_cell(page, 2)
    wait_until(lambda: storage(lab).find_study("templated") is not None and
               storage(lab).find_study("templated").state.value == "running", 60,
               "the study running")
    page.keyboard.press("Escape")
    open_palette(page).fill("Stop all running HPO studies")
    page.locator(".lm-CommandPalette-item", has_text="Stop all running HPO studies").click()
    wait_until(lambda: storage(lab).find_study("templated").state.value == "finished", 60,
               "the study stopped by the command")
    assert storage(lab).find_study("templated").stop_reason.startswith(
        "stopped from JupyterLab")
    # where a cell loads jupyter_hpo, the template comes alone
    count = cells.count()
    insert_template(page)
    wait_until(lambda: cells.count() == count + 1, 10, "the template cell inserted")
    assert cells.count() == count + 1  # both would be inserted at once
    assert cells.nth(count).locator(".cm-content").inner_text().startswith("%%hpo --trials 20")


SCREENSHOT_STUDY = """
import math, time
from jupyter_hpo import Categorical, Int, Real, tune
def objective(config, report):
    for epoch in range(1, 28):
        time.sleep(0.005)
        report(epoch=epoch, val_loss=0.1 * (math.log10(config["lr"]) + 2.5) ** 2
               + 8 / config["units"] + (0.05 if config["act"] == "tanh" else 0) + 1.5 / epoch)
tune(objective, {"lr": Real(1e-4, 1e-1, log=True), "units": Int(16, 256, log=True),
                 "act": Categorical("relu", "tanh")},
     metric="val_loss", mode="min", trials=40, workers=2, seed=3, scheduler="hyperband",
     scheduler_options={"max_t": 27}, storage=STORAGE, name="mlp-hyperband")
"""


def test_screenshot_of_the_panel_and_the_study_view(lab, tmp_path):
    script = SCREENSHOT_STUDY.replace("STORAGE", repr(str(lab.root / "jupyter_hpo.db")))
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    page = lab.page
    page.goto(lab.page_url("lab?reset"))
    open_panel(page)
    study_row(page, "mlp-hyperband").locator("button.jp-hpo-open").click()
    view = page.locator(".jp-hpo-view:visible")
    view.locator("tr.jp-hpo-trial-row").first.wait_for()
    assert view.locator("button.jp-hpo-view-stop").is_hidden()  # it has finished
    record = storage(lab).load_study("mlp-hyperband")
    view.locator("th[data-column='metric']").click()
    view.locator(f"tr.jp-hpo-trial-row[data-trial='{record.best_trial.trial_id}']").click()
    news = page.locator(".jp-Notification-Toast-Close, .Toastify__close-button")
    if news.count():
        news.first.click()
    page.mouse.move(0, 0)
    page.wait_for_timeout(500)
    target = tmp_path / "lab-extension.png"
    page.screenshot(path=str(target))
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
    wanted = os.environ.get("JUPYTER_HPO_SCREENSHOT")
    if wanted:
        Path(wanted).write_bytes(data)


def test_the_panel_polls_only_while_a_study_runs(lab, tmp_path):
    """Idle, the panel only holds a watch request open, and lists the studies again when the
    watch answers; while a study runs it lists them again and again without a watch; once the
    study has ended it goes back to the watch. Checked in the order of the page's requests,
    however fast the machine is."""
    page = lab.page
    events = PageRequests(page).events
    page.goto(lab.page_url("lab?reset"))
    open_panel(page)
    page.locator("#jupyter-hpo-studies .jp-hpo-study, #jupyter-hpo-studies .jp-hpo-empty"
                 ":has-text('No studies')").first.wait_for()  # the first listing came
    held = page_wait(page, lambda: [i for i, (kind, url) in enumerate(events)
                                    if kind == "sent" and is_held_watch(url)], 60,
                     "the idle panel holding a watch request")[0]
    # a study started by a script: found through the watch, then followed until it ends
    flag = tmp_path / "go"
    script = textwrap.dedent(f"""
        import os, time
        from jupyter_hpo import Real, tune
        def objective(config, report):
            for epoch in range(1, 100_000):
                time.sleep(0.1)
                report(epoch=epoch, loss=config["x"] / epoch)
                if os.path.exists({str(flag)!r}):
                    return
        tune(objective, {{"x": Real(0, 1)}}, metric="loss", mode="min", trials=2, workers=2,
             storage={str(lab.root / "jupyter_hpo.db")!r}, name="script")
    """)
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        row = study_row(page, "script")
        row.wait_for(timeout=60_000)
        # from the held watch to the listing that found the study: nothing else was sent,
        # and that listing followed the watch's answer
        first = next(i for i, (kind, url) in enumerate(events)
                     if i > held and kind == "sent" and is_listing(url))
        idle = [url for kind, url in events[held + 1:first]
                if kind == "sent" and "/jupyter-hpo/" in url]
        assert idle == [], idle
        assert ("answered", events[held][1]) in events[held:first], \
            "the panel listed the studies before the watch answered"
        wait_until(lambda: row.get_attribute("data-state") == "running", 60, "the script's study")
        running = len(events)
        page_wait(page, lambda: sum(kind == "sent" and is_listing(url)
                                    for kind, url in events[running:]) >= 3, 60,
                  "three listings while the study runs")
        assert not [u for _, u in events[running:] if "/jupyter-hpo/watch" in u]  # no watch
        assert row.get_attribute("data-state") == "running"  # all three while it ran
        flag.touch()
        assert process.wait(120) == 0
    finally:
        flag.touch()
        process.wait(120)
    wait_until(lambda: row.get_attribute("data-state") == "finished", 30, "the panel showing "
               "the script's study finished")
    finished = len(events)
    page_wait(page, lambda: any(is_held_watch(u) for _, u in events[finished:]), 60,
              "the panel holding a watch again once the study has ended")


def test_updated_ago_keeps_counting_without_requests(lab):
    """While no study runs the panel and the view of a finished study read nothing, yet their
    "updated Ns ago" keeps counting (a local timer renders it again; it used to stay at what
    the last listing said for minutes)."""
    page = lab.page
    sent = PageRequests(page)
    page.goto(lab.page_url("lab?reset"))
    open_panel(page)
    tune(slow_objective, {"x": Real(0, 1), "act": Categorical("relu", "tanh")},
         metric="loss", mode="min", trials=2, workers=1, seed=0, name="ticking",
         storage=str(lab.root / "jupyter_hpo.db"))
    row = study_row(page, "ticking")
    row.wait_for(timeout=60_000)
    wait_until(lambda: row.get_attribute("data-state") == "finished", 30, "the study listed")
    # the listings the end of the study caused have come: the panel holds a watch on the
    # storage as it is now (the server's token for it) and lists nothing
    token = lab.api("jupyter-hpo/watch?since=&timeout=0")["token"]
    page_wait(page, lambda: not sent.pending("/jupyter-hpo/studies") and any(
        is_held_watch(url) and watched_token(url) == token
        for url in sent.pending("/jupyter-hpo/watch")), 60,
        "the panel holding a watch on the finished study's storage")
    listed = len(sent.events)

    def requested(part: str, since: int) -> list[str]:
        return [url for kind, url in sent.events[since:] if kind == "sent" and part in url]

    updated = row.locator(".jp-hpo-updated")
    first = updated.inner_text()
    assert re.fullmatch(r"updated \d+s ago", first), first
    wait_until(lambda: updated.inner_text() != first, 30, f"{first!r} counting on")
    assert re.fullmatch(r"updated \d+s ago", updated.inner_text())
    # the study view of the finished study: read once, then only its text is rendered again
    row.locator("button.jp-hpo-open").click()
    view = page.locator(".jp-hpo-view:visible")
    fact = view.locator(".jp-hpo-fact", has_text="updated")
    fact.wait_for()
    page_wait(page, lambda: requested("/jupyter-hpo/study?", listed)
              and not sent.pending("/jupyter-hpo/study?"), 60, "the view's read answered")
    opened = len(sent.events)
    before = fact.inner_text()
    assert re.search(r"elapsed .* · updated \d+s ago$", before), before
    wait_until(lambda: fact.inner_text() != before, 30, f"{before!r} counting on")
    assert requested("/jupyter-hpo/studies", listed) == []  # nothing was listed
    assert requested("/jupyter-hpo/study?", opened) == []


def open_study_view(lab, name: str):
    """JupyterLab afresh, the studies panel listing ``name`` and its study view opened."""
    page = lab.page
    page.goto(lab.page_url("lab?reset"))
    open_panel(page)
    page.locator("#jupyter-hpo-studies .jp-hpo-refresh").click()
    row = study_row(page, name)
    row.wait_for()
    row.locator("button.jp-hpo-open").click()
    view = page.locator(".jp-hpo-view:visible")
    wait_until(lambda: view.locator(".jp-hpo-view-title").inner_text() == name, 30,
               f"the study view of {name}")
    return row, view


def test_an_inactive_hyperparameter_and_a_none_choice_are_told_apart(lab):
    """A conditional hyperparameter that is not active in a trial is "–" (as in the cell
    dashboard's table), a ``None`` choice is "None" and a ``Bool()`` is True/False; the study
    view showed an empty cell for both of the first two and "true"/"false"."""
    def objective(config, report):
        report(epoch=1, loss=config.get("kernel", 1) + (config["reg"] is None))

    space = {"arch": Categorical("mlp", "cnn"), "kernel": Int(3, 7, when="arch == 'cnn'"),
             "reg": Categorical(None, "l2"), "bn": Bool()}
    tune(objective, space, metric="loss", mode="min", trials=12, seed=0, name="conditional",
         storage=str(lab.root / "jupyter_hpo.db"))
    record = storage(lab).load_study("conditional")
    assert {t.config["arch"] for t in record.trials} == {"mlp", "cnn"}
    assert {t.config["reg"] for t in record.trials} == {None, "l2"}
    _, view = open_study_view(lab, "conditional")
    rows = view.locator("tr.jp-hpo-trial-row")
    wait_until(lambda: rows.count() == len(record.trials), 30, "one row per trial")
    headers = view.locator("table.jp-hpo-trials th").all_inner_texts()
    for trial in record.trials:
        cells = view.locator(f"tr.jp-hpo-trial-row[data-trial='{trial.trial_id}'] td")
        texts = dict(zip(headers, cells.all_inner_texts()))
        for name in ("arch", "reg", "bn"):
            assert texts[name] == str(trial.config[name])
        assert texts["kernel"] == (str(trial.config["kernel"]) if "kernel" in trial.config
                                   else "–")
    with_none = next(t for t in record.trials if t.config["reg"] is None)
    view.locator(f"tr.jp-hpo-trial-row[data-trial='{with_none.trial_id}']").click()
    config = view.locator(".jp-hpo-trial-detail .jp-hpo-config")
    shown = dict(row.split("\t") for row in config.inner_text().splitlines())
    assert shown["reg"] == "None" and shown["bn"] == str(with_none.config["bn"])
    assert ("kernel" in shown) == ("kernel" in with_none.config)


def test_a_study_error_keeps_its_lines(lab):
    """The error of a study whose trials all failed (a message and a traceback) is shown with
    its lines in the study view, and as its first and last line in the panel; both ran it
    into one line. In the panel it takes three lines at most: a long exception filled it."""
    def objective(config, report):
        raise RuntimeError("every trial fails <b>here</b>" + ", and says why" * 40)

    with pytest.raises(Exception, match="all failed"):
        tune(objective, {"x": Real(0, 1)}, metric="loss", mode="min", trials=4, seed=0,
             name="all-failed", storage=str(lab.root / "jupyter_hpo.db"))
    error = storage(lab).load_study("all-failed").error
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    assert len(lines) > 3 and lines[-1].startswith("RuntimeError: every trial fails <b>here</b>")
    row, view = open_study_view(lab, "all-failed")
    reason = row.locator(".jp-hpo-study-reason")
    assert reason.text_content() == f"{lines[0]} … {lines[-1]}"
    assert shown_lines(reason) <= 3.05
    assert reason.get_attribute("title") == error
    shown = view.locator(".jp-hpo-view-facts .jp-hpo-fact").last
    assert shown.inner_text().strip() == error.strip()  # with its line breaks
    assert view.locator(".jp-hpo-chart-empty").all_inner_texts() == ["No trial reported loss"] * 3
    assert lab.page.locator(".jp-hpo-view b, #jupyter-hpo-studies b").count() == 0


def test_the_panel_counts_trials_as_the_dashboard_and_says_how_to_resume(lab):
    """The panel's "8 / 10 trials" counted every stored trial, where the dashboard counted
    the budget spent: the panel, the status bar's count and the study view say the budget
    spent and the trials by status as %hpo list does, and of a study whose kernel died, how to
    resume it."""
    from test_storage import dead_owner, store_mixed_study

    store_mixed_study(SQLiteStorage(lab.root / "jupyter_hpo.db", owner=dead_owner()),
                      "died-mid-study", "running")
    row, view = open_study_view(lab, "died-mid-study")
    counted = "5/10 trials · 3 completed · 1 cancelled · 1 failed · 3 interrupted"
    resume = ("its kernel stopped while it ran; resume it with %%hpo --name died-mid-study "
              "--resume")
    assert row.locator(".jp-hpo-trials").inner_text() == counted
    assert row.locator(".jp-hpo-study-reason").inner_text() == resume
    assert row.get_attribute("data-spent") == "5" and row.get_attribute("data-trials") == "8"
    facts = view.locator(".jp-hpo-view-facts .jp-hpo-fact").all_inner_texts()
    assert facts[0] == counted and resume in facts


def test_a_study_view_stays_open_while_its_storage_cannot_be_read(lab):
    """A storage file damaged while one of its studies is open: the panel lists the file's
    error, and the view stays open with that message (it used to close, as for a deleted
    study); once the file can be read again the message goes."""
    folder = lab.root / "fragile"
    folder.mkdir()
    path = folder / "runs.db"
    tune(slow_objective, {"x": Real(0, 1), "act": Categorical("relu", "tanh")},
         metric="loss", mode="min", trials=3, seed=0, name="fragile", storage=str(path))
    for suffix in ("-wal", "-shm"):  # one file holds it all, so that it can be damaged
        assert not Path(f"{path}{suffix}").exists()
    page = lab.page
    _, view = open_study_view(lab, "fragile")
    view.locator("tr.jp-hpo-trial-row").first.wait_for()
    intact = path.read_bytes()
    try:
        with open(path, "r+b") as handle:
            handle.seek(100)
            handle.write(b"\xff" * 4000)
        page.locator("#jupyter-hpo-studies .jp-hpo-refresh").click()
        problem = page.locator("#jupyter-hpo-studies .jp-hpo-storage-error",
                               has_text="fragile/runs.db")
        problem.wait_for(timeout=30_000)
        message = problem.locator(".jp-hpo-error-text").inner_text()
        assert "is damaged" in message
        message_line = view.locator(".jp-hpo-view-header .jp-hpo-error-text")
        wait_until(lambda: message_line.inner_text() == message, 30,
                   "the view saying that its storage cannot be read")
        assert view.is_visible()
        assert view.locator("tr.jp-hpo-trial-row").count() == 3  # as it was last read
    finally:
        path.write_bytes(intact)
    page.locator("#jupyter-hpo-studies .jp-hpo-refresh").click()
    problem.wait_for(state="detached", timeout=30_000)
    wait_until(lambda: message_line.inner_text() == "", 30, "the message gone")
    assert view.is_visible()


def focused(page) -> str:
    """What has the keyboard's focus: ``th:COLUMN``, ``tr:TRIAL`` or the element's tag."""
    return page.evaluate("""() => {
        const e = document.activeElement;
        if (e.tagName === 'TH') return 'th:' + e.dataset.column;
        if (e.tagName === 'TR') return 'tr:' + e.dataset.trial;
        return e.tagName.toLowerCase();
    }""")


def test_the_trials_table_works_from_the_keyboard(lab):
    """Tab reaches the table's headers (Enter or Space sorts by one) and then its rows, as one
    stop; Enter selects the trial, the arrows, Home and End go to another and show it, and Tab
    leaves the table. Only a mouse could sort the table or see a trial before."""
    tune(slow_objective, {"x": Real(0, 1), "act": Categorical("relu", "tanh")},
         metric="loss", mode="min", trials=4, seed=0, name="keyboard",
         storage=str(lab.root / "jupyter_hpo.db"))
    record = storage(lab).load_study("keyboard")
    by_loss = [t.trial_id for t in sorted(record.trials, key=lambda t: t.reports[-1]["loss"])]
    page = lab.page
    _, view = open_study_view(lab, "keyboard")
    view.locator("tr.jp-hpo-trial-row").nth(3).wait_for()
    view.locator("select.jp-hpo-status-filter").focus()
    page.keyboard.press("Tab")
    assert focused(page) == "th:trial_id"
    for _ in range(6):
        if focused(page) == "th:metric":
            break
        page.keyboard.press("Tab")
    assert focused(page) == "th:metric"
    metric = view.locator("th[data-column='metric']")
    page.keyboard.press("Enter")
    assert metric.get_attribute("aria-sort") == "ascending"
    page.keyboard.press(" ")
    assert metric.get_attribute("aria-sort") == "descending"
    page.keyboard.press("Enter")
    assert metric.get_attribute("aria-sort") == "ascending"

    for _ in range(6):
        page.keyboard.press("Tab")
        if focused(page).startswith("tr:"):
            break
    assert focused(page) == f"tr:{by_loss[0]}"  # the first row: the best trial
    detail = view.locator(".jp-hpo-trial-detail h3")
    page.keyboard.press("Enter")
    assert detail.inner_text().startswith(f"Trial {by_loss[0]} ")
    page.keyboard.press("ArrowDown")
    assert focused(page) == f"tr:{by_loss[1]}"
    assert detail.inner_text().startswith(f"Trial {by_loss[1]} ")
    assert view.locator("tr.jp-mod-selected").get_attribute("aria-selected") == "true"
    page.keyboard.press("End")
    assert detail.inner_text().startswith(f"Trial {by_loss[-1]} ")
    page.keyboard.press("ArrowUp")
    assert detail.inner_text().startswith(f"Trial {by_loss[-2]} ")
    page.keyboard.press("Home")
    assert focused(page) == f"tr:{by_loss[0]}"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")  # the rows are one stop: Tab leaves the table
    assert not focused(page).startswith(("tr:", "th:"))
    page.keyboard.press("Shift+Tab")  # and comes back to the selected trial
    assert focused(page) == f"tr:{by_loss[1]}"
    # the view left open: pressing keys here must not reach the next test's notebook
    page.locator("#jupyter-hpo-studies .jp-hpo-refresh").focus()


CONTRAST = """el => {
    // WCAG's contrast of an element's text against the background it is drawn on
    const rgba = text => text.match(/[\\d.]+/g).map(Number);
    let back = null;
    for (let node = el; node && !back; node = node.parentElement) {
        const c = rgba(getComputedStyle(node).backgroundColor);
        if (c.length < 4 || c[3] > 0) back = c;
    }
    const [r, g, b, a = 1] = rgba(getComputedStyle(el).color);
    const fore = [r, g, b].map((v, i) => v * a + back[i] * (1 - a));
    const luminance = c => {
        const [R, G, B] = c.slice(0, 3).map(v => v / 255).map(
            v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * R + 0.7152 * G + 0.0722 * B;
    };
    const [hi, lo] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
}"""

OPAQUE_PIXELS_OF = """(canvas, rgb) => {
    // how many pixels of the canvas are drawn, opaque, in the colour rgb
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 240 && Math.abs(data[i] - rgb[0]) < 16
            && Math.abs(data[i + 1] - rgb[1]) < 16 && Math.abs(data[i + 2] - rgb[2]) < 16) {
            count += 1;
        }
    }
    return count;
}"""


def change_theme(page, theme: str) -> None:
    """Pick ``theme`` in JupyterLab's Settings > Theme menu and wait until it is applied."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{theme}$")).click()
    light = "true" if "Light" in theme else "false"
    wait_until(lambda: page.evaluate("document.body.dataset.jpThemeLight") == light, 30,
               f"the {theme} theme applied")


def test_the_study_view_is_readable_in_the_dark_theme(lab):
    """In JupyterLab Dark the selected trial's row keeps readable text (its white text lay on
    light blue) and the charts' best trial is drawn in the theme's text colour, also after the
    theme changed with the view open (it was black on the dark background)."""
    def objective(config, report):
        report(epoch=1, loss=config["x"])
        report(epoch=2, loss=config["x"] / 2)
        if config["x"] > 0.5:
            raise ValueError("a failed trial")

    tune(objective, {"x": Real(0, 1)}, metric="loss", mode="min", trials=4, seed=0,
         name="dark theme", storage=str(lab.root / "jupyter_hpo.db"))
    page = lab.page
    _, view = open_study_view(lab, "dark theme")
    rows = view.locator("tr.jp-hpo-trial-row")
    rows.nth(3).wait_for()
    curves = view.locator(".jp-hpo-chart-curves canvas")
    try:
        change_theme(page, "JupyterLab Dark")
        failed = view.locator("tr.jp-hpo-status-failed").first
        failed.click()
        for cell in (1, 2):  # the status (red when not selected) and a value
            contrast = failed.locator("td").nth(cell).evaluate(CONTRAST)
            assert contrast >= 4.5, f"the selected row's text has a contrast of {contrast:.2f}"
        wait_until(lambda: curves.evaluate(OPAQUE_PIXELS_OF, [255, 255, 255]) > 50
                   and curves.evaluate(OPAQUE_PIXELS_OF, [0, 0, 0]) == 0, 30,
                   "the best trial's curve drawn in white, and nothing in black")
        history = view.locator(".jp-hpo-chart-history canvas")
        assert history.evaluate(OPAQUE_PIXELS_OF, [255, 255, 255]) > 50  # the best so far
    finally:
        change_theme(page, "JupyterLab Light")
    wait_until(lambda: curves.evaluate(OPAQUE_PIXELS_OF, [0, 0, 0]) > 50
               and curves.evaluate(OPAQUE_PIXELS_OF, [255, 255, 255]) == 0, 30,
               "the best trial's curve drawn in black again, and nothing in white")
    contrast = view.locator("tr.jp-mod-selected td").nth(1).evaluate(CONTRAST)
    assert contrast >= 4.5, f"the selected row's text has a contrast of {contrast:.2f}"


def test_a_locked_storage_file_is_said_and_read_again_once_unlocked(lab):
    """A storage file that another program keeps locked (an open write transaction): Refresh
    lists it with "another process kept it locked for more than 2 s" (the panel said nothing
    for the storage's 30 s), and once the lock is gone the panel reads it again by itself (a
    file unlocked has not changed, so nothing told the panel before)."""
    folder = lab.root / "held"
    folder.mkdir()
    path = folder / "runs.db"
    tune(slow_objective, {"x": Real(0, 1), "act": Categorical("relu", "tanh")},
         metric="loss", mode="min", trials=2, seed=0, name="held", storage=str(path))
    page = lab.page
    page.goto(lab.page_url("lab?reset"))
    open_panel(page)
    page.locator("#jupyter-hpo-studies .jp-hpo-refresh").click()
    row = study_row(page, "held")
    row.wait_for()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
    try:
        page.locator("#jupyter-hpo-studies .jp-hpo-refresh").click()
        problem = page.locator("#jupyter-hpo-studies .jp-hpo-storage-error",
                               has_text="held/runs.db")
        problem.wait_for(timeout=60_000)
        assert "another process kept it locked for more than 2 s" in problem.inner_text()
        assert row.count() == 0
    finally:
        conn.close()
    problem.wait_for(state="detached", timeout=60_000)  # no click: the panel asked again
    row.wait_for()


def shown_lines(element) -> float:
    """How many lines of its text ``element`` shows: its height over that of one line."""
    return element.evaluate("""el => {
        const first = document.createRange();  // one character: the height of a line
        first.setStart(el.firstChild, 0);
        first.setEnd(el.firstChild, 1);
        return el.getBoundingClientRect().height / first.getBoundingClientRect().height;
    }""")


def test_a_long_study_name_takes_three_lines_at_most_in_the_panel(lab):
    """A study name of 200 characters is cut to three lines in the panel, whole on hover and
    in the study view (it took a dozen lines of the panel)."""
    name = ("a-very-long-study-name-of-a-sweep-" * 6)[:200]  # the longest there can be
    tune(slow_objective, {"x": Real(0, 1), "act": Categorical("relu", "tanh")},
         metric="loss", mode="min", trials=1, seed=0, name=name,
         storage=str(lab.root / "jupyter_hpo.db"))
    page = lab.page
    page.goto(lab.page_url("lab?reset"))
    open_panel(page)
    page.locator("#jupyter-hpo-studies .jp-hpo-refresh").click()
    row = page.locator("#jupyter-hpo-studies .jp-hpo-study").filter(
        has=page.locator(f".jp-hpo-study-name[title='Open {name}']"))
    row.wait_for()
    shown = row.locator(".jp-hpo-study-name")
    lines = shown_lines(shown)
    assert lines <= 3.05, f"the name takes {lines:.1f} lines"
    assert shown.text_content() == name
    row.locator("button.jp-hpo-open").click()
    title = page.locator(".jp-hpo-view:visible .jp-hpo-view-title")
    wait_until(lambda: title.text_content() == name, 30, "the study view with the whole name")


def test_an_empty_trials_table_says_why(lab):
    """A study with no trial yet, and a filter that matches no trial: the table says so (it
    was a row of headers and nothing else, as if the view had not loaded); the message is
    no stop of the Tab key, and goes when trials are shown. The empty charts say so too."""
    store = storage(lab)
    store.create_study("no trials yet", metric="loss", direction=Direction.MIN,
                       resource="epoch", space=Space({"x": Real(0.0, 1.0)}),
                       settings={"trials": 10})
    _, view = open_study_view(lab, "no trials yet")
    empty = view.locator("tr.jp-hpo-table-empty")
    wait_until(lambda: empty.count() == 1, 30, "the empty table's message")
    assert empty.inner_text() == "No trials yet: they appear here as they start."
    assert empty.get_attribute("tabindex") is None
    # so do its empty charts (blank axes, as if they had not loaded)
    notes = view.locator(".jp-hpo-chart-empty")
    assert notes.all_inner_texts() == ["No trial has reported loss yet"] * 3

    tune(slow_objective, {"x": Real(0, 1), "act": Categorical("relu", "tanh")},
         metric="loss", mode="min", trials=3, seed=0, name="filtered",
         storage=str(lab.root / "jupyter_hpo.db"))
    _, view = open_study_view(lab, "filtered")
    rows = view.locator("tr.jp-hpo-trial-row")
    rows.nth(2).wait_for()
    assert view.locator(".jp-hpo-chart-empty:visible").count() == 0
    view.locator("input.jp-hpo-filter").fill("no such value")
    empty = view.locator("tr.jp-hpo-table-empty")
    assert empty.inner_text() == "No trial matches the filter (3 trials in all)."
    assert rows.count() == 0
    view.locator("input.jp-hpo-filter").fill("")
    assert rows.count() == 3 and empty.count() == 0

    # a view that a reload would open again, of a study deleted while no page was open, is
    # closed (it said "no study named 'filtered'" above empty charts)
    saved = f"jupyter-hpo-study:{view_id(view)}"
    wait_until(lambda: saved_layout(lab).get("current") == saved, 30,
               "the layout with the study view saved")
    page = lab.page
    page.goto("about:blank")
    store.delete_study("filtered")
    with page.expect_response(lambda r: "jupyter-hpo/study?" in r.url and "filtered" in r.url,
                              timeout=60_000) as read:
        page.goto(lab.page_url("lab"))  # the view, opened again, reads its study
    assert read.value.status == 404
    page_wait(page, lambda: page.locator(".jp-hpo-view").count() == 0, 30,
              "the view of the deleted study closed")


def test_a_narrow_window_puts_the_trial_below_the_table(lab):
    """In a narrow window the study view puts the selected trial below the table; its
    details lay over the table's status menu."""
    page = lab.page
    page.set_viewport_size({"width": 700, "height": 900})
    try:
        tune(slow_objective, {"x": Real(0, 1), "act": Categorical("relu", "tanh")},
             metric="loss", mode="min", trials=3, seed=0, name="narrow",
             storage=str(lab.root / "jupyter_hpo.db"))
        _, view = open_study_view(lab, "narrow")
        view.locator("tr.jp-hpo-trial-row").first.dispatch_event("click")
        view.locator(".jp-hpo-trial-detail h3").wait_for()
        detail = view.locator(".jp-hpo-trial-detail").bounding_box()
        for part in ("select.jp-hpo-status-filter", "input.jp-hpo-filter",
                     "table.jp-hpo-trials"):
            box = view.locator(part).bounding_box()
            overlap = (box["x"] < detail["x"] + detail["width"]
                       and detail["x"] < box["x"] + box["width"]
                       and box["y"] < detail["y"] + detail["height"]
                       and detail["y"] < box["y"] + box["height"])
            assert not overlap, f"{part} lies under the trial's details"
    finally:
        page.set_viewport_size({"width": 1500, "height": 950})


def test_a_narrow_window_keeps_the_dashboards_buttons_readable(lab):
    """In a narrow window the cell dashboard's rows wrap: its buttons keep their labels (they
    were squeezed to slivers of colour)."""
    page = lab.page
    page.set_viewport_size({"width": 700, "height": 900})
    try:
        page = open_notebook(lab, "narrow.ipynb", [
            "%load_ext jupyter_hpo",
            "%%hpo --name narrow-cell --trials 2 --seed 0\nx = Real(0, 1)\nreport(epoch=1, loss=x)",
        ])
        run_cell(page, 0)
        run_cell(page, 1)
        cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(1)
        for label in ("Stop study", "Stop trial", "Apply best"):
            button = cell.locator("button", has_text=label)
            button.wait_for(timeout=60_000)
            width, needed = button.evaluate("b => [b.clientWidth, b.scrollWidth]")
            assert width >= needed, f"{label}: {width}px shown of the {needed}px it needs"
    finally:
        page.set_viewport_size({"width": 1500, "height": 950})


def test_the_cell_dashboard_follows_the_dark_theme_and_shows_every_column(lab):
    """The cell dashboard's curves (a PNG drawn in the kernel) are dark with light lines in
    JupyterLab Dark (they stayed white) and light again in JupyterLab Light; the static
    summary's curves lie on the notebook's background with readable text and lines in both
    themes (a white rectangle in the dark theme); the same dashboard in a page with VS Code's
    theme markers follows VS Code's dark and light themes (it stayed as drawn); the live
    results table, whose updates carry class names, is styled by the dashboard's style
    widget (its best row bold, a failed status red); a results table
    wider than the notebook scrolls sideways and keeps each row on one line, so its last
    column, the error, can be read (it lay beyond the notebook's edge, clipped, its text
    wrapped into a sliver)."""
    page = open_notebook(lab, "wide.ipynb", ["%load_ext jupyter_hpo", wide_cell("wide")])
    run_cell(page, 0)
    run_cell(page, 1)
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(1)
    prompt = cell.locator(".jp-InputArea-prompt")
    wait_until(lambda: re.fullmatch(r"\[\d+\]:", prompt.inner_text().strip()), 120,
               "the cell's end")
    error = cell.locator(".widget-html .jupyter-hpo-table tr", has_text="failed").first \
        .locator("td").last
    error.scroll_into_view_if_needed()
    assert error.inner_text().startswith("ValueError: the error column says what went wrong")
    shown = error.bounding_box()
    area = cell.locator(".jp-OutputArea").bounding_box()
    assert area["x"] <= shown["x"] and shown["x"] + shown["width"] <= area["x"] + area["width"], \
        f"the error cell at {shown} lies outside the output area at {area}"
    completed = cell.locator(".widget-html .jupyter-hpo-table tr", has_text="completed").first
    assert shown["height"] == completed.bounding_box()["height"], "the error wrapped"
    # the live table's style comes once, from the dashboard's style widget: the best row
    # (the first, sorted by the metric) bold, a failed trial's status red
    best = cell.locator(".widget-html .jupyter-hpo-table tbody tr").first.locator("td").first
    assert best.evaluate("cell => getComputedStyle(cell).fontWeight") == "700"
    failed = cell.locator(".widget-html .jupyter-hpo-table td", has_text=re.compile("^failed$"))
    assert failed.first.evaluate("cell => getComputedStyle(cell).color") == "rgb(207, 34, 46)"
    check_curves_follow_the_theme(cell.locator(".widget-image.jupyter-hpo-curves"),
                                  lambda theme: change_theme(page, theme))
    check_summary_is_readable(cell.locator(".jp-RenderedImage img"),
                              cell.locator(".jp-RenderedImage"),
                              lambda theme: change_theme(page, theme))
    check_curves_follow_vscode_themes(
        cell.locator(".jp-OutputArea-output").filter(has=page.locator(".jupyter-hpo-curves")),
        page.context)


def test_hpo_text_in_markdown_raw_cells_and_other_files_is_not_checked(lab):
    """``%%hpo`` in a Markdown cell (documenting the magic), a raw cell or a Markdown file is
    text that no kernel runs: nothing is underlined there (they were underlined as if they
    were code cells); the same cell turned into a code cell is checked."""
    source = "%%hpo --trials 5\nunits = Int(256, 16)\n"
    notebook = {
        "cells": [{"cell_type": kind, "id": kind, "metadata": {}, "source": source}
                  for kind in ("markdown", "raw")],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (lab.root / "documented.ipynb").write_text(json.dumps(notebook))
    page = lab.page
    page.goto(lab.page_url("lab/tree/documented.ipynb?reset"))
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
    cells.first.wait_for()
    accept_kernel_dialog(lab, page, "documented.ipynb")
    for index in (0, 1):
        cell = cells.nth(index)
        cell.dblclick()  # its editor (a rendered Markdown cell shows none)
        editor = cell.locator(".cm-editor")
        editor.wait_for()
        wait_until(lambda e=editor: e.get_attribute("data-hpo-checked") is not None, 30,
                   f"the {('markdown', 'raw')[index]} cell's editor looked at")
        assert cell.locator(".jp-hpo-error, .jp-hpo-annotation").count() == 0
        page.keyboard.press("Escape")
    # the raw cell made a code cell: now it is checked
    cells.nth(1).click()
    page.keyboard.press("Escape")  # command mode: "y" makes it a code cell
    page.keyboard.press("y")
    error = cells.nth(1).locator(".jp-hpo-error")
    error.first.wait_for(timeout=DIAGNOSED_MS)
    assert error.first.get_attribute("data-hpo-message") == magic_error_line(
        "units = Int(256, 16)\n")

    (lab.root / "notes.md").write_text(source)
    page.goto(lab.page_url("lab/tree/notes.md?reset"))
    editor = page.locator(".jp-FileEditor .cm-editor")
    editor.wait_for()
    wait_until(lambda: editor.get_attribute("data-hpo-checked") is not None, 30,
               "the Markdown file's editor looked at")
    assert editor.locator(".jp-hpo-error, .jp-hpo-annotation").count() == 0


def test_odd_values_are_told_apart_and_a_long_one_stays_in_its_cell(lab):
    """A configuration of NaN, inf and None and reports of NaN: the study view showed all
    three as "None" and a NaN report as an empty cell; they are "nan", "inf", "None" and
    "nan", as Python prints them. A 500-character value is cut in its table cell (whole on
    hover), where it pushed the metric's column out of the view, and wraps in the trial's
    configuration."""
    long_value = "a" * 500
    values = [long_value, float("nan"), float("inf"), None]
    now = time.time()
    trials = tuple(TrialRecord(i, {"x": v}, TrialStatus.COMPLETED,
                               ({"epoch": 1, "loss": float("nan") if i == 1 else i / 10},),
                               (0.1,), now, now + 1)
                   for i, v in enumerate(values))
    store = storage(lab)
    created = store.create_study("odd values", metric="loss", direction=Direction.MIN,
                                 resource="epoch", settings={"trials": 4},
                                 space=Space({"x": Categorical(*values)}))
    store.write(created.study_id, StudyUpdate(trials, {}, StudyState.FINISHED, 1.0))
    _, view = open_study_view(lab, "odd values")
    rows = view.locator("tr.jp-hpo-trial-row")
    wait_until(lambda: rows.count() == 4, 30, "the 4 trials in the table")
    headers = view.locator("table.jp-hpo-trials th").all_inner_texts()
    column = headers.index("x")
    shown = [view.locator(f"tr.jp-hpo-trial-row[data-trial='{i}'] td").nth(column)
             for i in range(4)]
    assert [cell.text_content() for cell in shown[1:]] == ["nan", "inf", "None"]
    assert shown[0].text_content() == long_value
    assert shown[0].get_attribute("title") == long_value
    metric = view.locator("table.jp-hpo-trials th[data-column='metric']").bounding_box()
    table_area = view.locator("table.jp-hpo-trials").locator("..").bounding_box()
    assert metric["x"] + metric["width"] <= table_area["x"] + table_area["width"]
    view.locator("tr.jp-hpo-trial-row[data-trial='1']").click()
    detail = view.locator(".jp-hpo-trial-detail")
    config = dict(line.split("\t") for line in
                  detail.locator(".jp-hpo-config").inner_text().splitlines())
    assert config == {"x": "nan"}
    reports = detail.locator(".jp-hpo-reports tr").nth(1).locator("td").all_inner_texts()
    assert reports[:2] == ["1", "nan"]
    view.locator("tr.jp-hpo-trial-row[data-trial='0']").click()
    cell = detail.locator(".jp-hpo-config td").bounding_box()
    box = detail.bounding_box()
    assert cell["x"] + cell["width"] <= box["x"] + box["width"] + 1


def test_an_error_at_a_control_character_is_underlined(lab):
    """A NUL character pasted into a ``%%hpo`` cell: the server's error points at it, which
    the editor draws as a "␀" widget that a mark does not underline, so the cell showed no
    error at all; the line is underlined with the magic's message."""
    page = open_notebook(lab, "nul.ipynb",
                         [("%%hpo --metric loss\nact = Categorical('relu', 'tanh')\x00\n"
                           "x = Real(0, 1)\n")])
    editor = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.locator(
        ".cm-content")
    error = editor.locator(".jp-hpo-error").first
    error.wait_for(timeout=DIAGNOSED_MS)
    assert error.get_attribute("data-hpo-message") == magic_error_line(
        "act = Categorical('relu', 'tanh')\x00\nx = Real(0, 1)\n")
    assert "NUL character" in error.get_attribute("data-hpo-message")
    assert marked(editor, "error") == ["act = Categorical('relu', 'tanh')"]


def test_the_curves_menu_lists_numbered_values_in_their_order(lab):
    """A study that reports ``layer_1`` to ``layer_12``: the menu above the curves listed
    them as text sorts them (layer_1, layer_10, layer_11, layer_12, layer_2, ...); it lists
    them in their numbers' order."""
    def objective(config, report):
        report(epoch=1, loss=config["x"], **{f"layer_{i}": i * config["x"] for i in range(1, 13)})

    tune(objective, {"x": Real(0, 1)}, metric="loss", mode="min", trials=2, seed=0,
         name="numbered values", storage=str(lab.root / "jupyter_hpo.db"))
    _, view = open_study_view(lab, "numbered values")
    picker = view.locator("select.jp-hpo-curves-value")
    wait_until(lambda: picker.locator("option").count() == 13, 30, "the 13 values in the menu")
    assert picker.locator("option").all_inner_texts() == [
        "loss (the metric)", *(f"layer_{i}" for i in range(1, 13))]


def test_an_unexpected_indent_underlines_its_line(lab):
    """A line indented by mistake: the magic's "unexpected indent" points at one space, and the
    underline of one space could not be seen; the line is underlined with the magic's message.
    (The first line is not indented: IPython 8 and 9 dedent a cell's first lines differently.)"""
    body = "x = Real(0, 1)\n        y = Int(3, 1)"
    page = open_notebook(lab, "indent.ipynb", ["%%hpo --metric loss\n" + body])
    editor = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.locator(
        ".cm-content")
    error = editor.locator(".jp-hpo-error").first
    error.wait_for(timeout=DIAGNOSED_MS)
    assert error.get_attribute("data-hpo-message") == (
        "HPOSyntaxError at cell line 3: invalid Python syntax: unexpected indent")
    assert marked(editor, "error") == ["        y = Int(3, 1)"]
