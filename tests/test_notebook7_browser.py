"""The same extension in Notebook 7 (real ``jupyter notebook``, Debian's Chromium, Playwright):
the cell dashboard shows progress and its Stop button works while the cell runs, the
editor underlines a bad annotation with the magic's message as the user types, and a
--background cell gets the static summary when its study ends after it."""

from __future__ import annotations

import asyncio
import re

import pytest
from browser_support import (
    DIAGNOSED_MS,
    check_curves_follow_the_theme,
    check_summary_is_readable,
    chromium,
    jupyter_server,
    magic_error_line,
    wait_until,
    wide_cell,
    write_notebook,
)
from notebook import __version__ as notebook_version

from jupyter_hpo import Real, tune
from jupyter_hpo.records import TrialStatus
from jupyter_hpo.storage import SQLiteStorage

pytestmark = pytest.mark.timeout(600)

# Notebook 7.4 added the area below the notebook, where the study view opens (the servers of
# these tests are sys.executable's, so this is their version)
HAS_DOWN_AREA = tuple(int(v) for v in notebook_version.split(".")[:2]) >= (7, 4)


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """pytest-jupyter's loop fixture (autouse for every test once tests/test_server.py loads
    that plugin) made the thread's current loop, which Playwright's sync API would then run
    and the fixture fail to close; here it is a loop of its own that nothing else uses."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()

CELL = """%%hpo --name nb7 --trials 200 --workers 2 --seed 0
import time
x = Real(0, 1)
for epoch in range(1, 41):
    time.sleep(0.05)
    report(epoch=epoch, loss=x / epoch)
"""


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    base = tmp_path_factory.mktemp("nb7")
    with jupyter_server("notebook", base) as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 950})
        page.set_default_timeout(60_000)
        write_notebook(server.root / "nb7.ipynb", ["%load_ext jupyter_hpo", CELL, "x = 1"])
        page.goto(server.page_url("notebooks/nb7.ipynb"))
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        wait_until(lambda: any(s["path"] == "nb7.ipynb"
                               and s["kernel"]["execution_state"] == "idle"
                               for s in server.api("api/sessions")), 120, "the kernel")
        server.page = page
        yield server


def cell(page, index: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def test_the_dashboard_and_its_stop_button_work_while_the_cell_runs(notebook7):
    page = notebook7.page
    for index in (0, 1):
        cell(page, index).locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
    running = cell(page, 1)
    stop = running.locator("button", has_text="Stop study")
    stop.wait_for(timeout=60_000)
    storage = SQLiteStorage(notebook7.root / "jupyter_hpo.db")
    wait_until(lambda: storage.find_study("nb7") is not None
               and storage.find_study("nb7").trials >= 3, 60, "three trials started")
    progress = running.locator(".jp-OutputArea")
    wait_until(lambda: re.search(r"nb7: running · \d+/200 trials", progress.inner_text()), 30,
               "the dashboard's progress line")
    prompt = running.locator(".jp-InputArea-prompt")
    assert prompt.inner_text().strip() == "[*]:"  # the cell is still running
    stop.click()
    wait_until(lambda: re.fullmatch(r"\[\d+\]:", prompt.inner_text().strip()), 60,
               "the cell ending after Stop")
    record = storage.load_study("nb7")
    assert record.state.value == "finished" and record.stop_reason == "stopped from the dashboard"
    assert {t.status for t in record.trials} <= {TrialStatus.COMPLETED, TrialStatus.CANCELLED}


def test_a_bad_annotation_is_underlined_with_the_magics_message(notebook7):
    page = notebook7.page
    editor = cell(page, 2).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("%%hpo\nact = Categorical()\nlr = Real(0, 1, log=True)")
    body = "act = Categorical()\nlr = Real(0, 1, log=True)"
    error = editor.locator(".jp-hpo-error").first
    error.wait_for(timeout=DIAGNOSED_MS)  # the server's answer, drawn
    assert error.get_attribute("data-hpo-message") == magic_error_line(body)
    messages = set(editor.evaluate(
        "root => [...root.querySelectorAll('.jp-hpo-error')]"
        ".map(e => e.getAttribute('data-hpo-message'))"))
    assert len(messages) == 2  # both mistakes, each with its own message
    assert any("log=True needs lo > 0" in m and "cell line 3" in m for m in messages)
    error.hover()
    tooltip = page.locator(".jp-hpo-tooltip")
    tooltip.wait_for(timeout=5000)
    assert tooltip.inner_text() == magic_error_line(body)


LATER = """%%hpo --name later7 --trials 3 --workers 1 --seed 0 --metric loss --background
import time
x = Real(0, 1)
for epoch in range(1, 4):
    time.sleep(1.0)
    report(epoch=epoch, loss=x / epoch)
"""


def test_a_background_cell_gets_its_summary_when_the_study_ends(notebook7):
    """The study of a --background cell ends after that cell and the next one have ended:
    Notebook 7 puts the static summary into the placeholders of the background cell (it
    kept the widget and one status line, and a saved notebook no result)."""
    page = notebook7.page
    write_notebook(notebook7.root / "later7.ipynb",
                   ["%load_ext jupyter_hpo", LATER, "print('the next cell')"])
    page.goto(notebook7.page_url("notebooks/later7.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    wait_until(lambda: any(s["path"] == "later7.ipynb"
                           and s["kernel"]["execution_state"] == "idle"
                           for s in notebook7.api("api/sessions")), 120, "the kernel")
    for index in (0, 1, 2):
        cell(page, index).locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
    background, following = cell(page, 1), cell(page, 2)
    wait_until(lambda: "the next cell" in following.locator(".jp-OutputArea").inner_text(), 60,
               "the next cell run")
    assert "is shown here when it ends" in background.inner_text()  # the study still runs
    wait_until(lambda: background.locator(".jp-RenderedImage img").count() == 1, 90,
               "the summary's curves in the background cell")
    wait_until(lambda: "is shown here when it ends" not in background.inner_text(), 30,
               "the placeholder replaced")
    assert "later7: finished · 3/3 trials" in background.locator(".jp-OutputArea").inner_text()
    assert following.locator(".jp-RenderedImage").count() == 0


def test_a_study_opened_from_the_panel_is_shown_below_the_notebook(notebook7):
    """The studies panel (from the command palette) opens a study's view in Notebook 7 too,
    below the notebook with half of the page: Notebook 7 refuses a second widget in its main
    area, so Open did nothing there. Its tab shows the icon next to the name, not over it.
    Notebook 7.2 and 7.3 have no area below the notebook (nothing opened there either): the
    view is the right side panel, with half of the width, and Open again keeps it open (as
    the palette's command keeps the studies panel open)."""
    tune(lambda config, report: report(epoch=1, loss=config["x"]), {"x": Real(0, 1)},
         metric="loss", mode="min", trials=3, seed=0, name="seen in nb7",
         storage=str(notebook7.root / "jupyter_hpo.db"))
    page = notebook7.page
    page.goto(notebook7.page_url("notebooks/nb7.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    panel = page.locator("#jupyter-hpo-studies")
    for again in (False, True):  # the second time it stays open (Notebook 7.2-7.3 closed it)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^View$")).click()
        page.locator(".lm-Menu-itemLabel", has_text="Activate Command Palette").click()
        palette = page.locator(".lm-CommandPalette-input")
        palette.wait_for()
        palette.fill("Open the HPO studies panel")
        page.keyboard.press("Enter")
        palette.wait_for(state="hidden")
        if again:
            assert panel.is_visible()
        else:
            panel.wait_for(state="visible")
    row = panel.locator(".jp-hpo-study[data-name='seen in nb7']")
    row.wait_for()
    row.locator("button.jp-hpo-open").click()
    view = page.locator(".jp-hpo-view")
    title = view.locator(".jp-hpo-view-title")
    wait_until(lambda: title.is_visible() and title.inner_text() == "seen in nb7", 30,
               "the study view shown")
    wait_until(lambda: view.locator("tr.jp-hpo-trial-row").count() == 3, 30, "its trials")
    notebook = page.locator(".jp-NotebookPanel").bounding_box()
    shown = view.bounding_box()
    if not HAS_DOWN_AREA:
        assert shown["x"] >= notebook["x"] + notebook["width"] - 1  # beside the notebook
        assert shown["width"] > 0.4 * (notebook["width"] + shown["width"]), (notebook, shown)
        assert shown["height"] > 600, f"the view is {shown['height']}px high"
        assert cell(page, 0).is_visible()
        row.locator("button.jp-hpo-open").click()  # (activating it again closed the panel)
        assert title.is_visible()
        return
    assert shown["height"] > 300, f"the view is {shown['height']}px high"
    assert shown["y"] >= notebook["y"] + notebook["height"] - 1  # below the notebook
    assert cell(page, 0).is_visible()
    # its tab's icon lies before the name (it was drawn at 24 px, over the name's start)
    tab = page.locator(".lm-TabBar-tab", has_text="seen in nb7")
    icon = tab.locator(".lm-TabBar-tabIcon svg").bounding_box()
    label = tab.locator(".lm-TabBar-tabLabel").bounding_box()
    assert icon["width"] > 0 and icon["x"] + icon["width"] <= label["x"], (icon, label)


def test_the_cell_dashboards_curves_follow_the_dark_theme(notebook7):
    """In Notebook 7's dark theme the cell dashboard's curves (a PNG drawn in the kernel) are
    shown dark with light lines (they stayed white), and light again in the light theme; the
    static summary's curves lie on the notebook's background with readable text and lines in
    both themes (a white rectangle in the dark theme)."""
    page = notebook7.page
    write_notebook(notebook7.root / "dark7.ipynb", ["%load_ext jupyter_hpo", wide_cell("dark7")])
    page.goto(notebook7.page_url("notebooks/dark7.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    wait_until(lambda: any(s["path"] == "dark7.ipynb"
                           and s["kernel"]["execution_state"] == "idle"
                           for s in notebook7.api("api/sessions")), 120, "the kernel")
    for index in (0, 1):
        cell(page, index).locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
    prompt = cell(page, 1).locator(".jp-InputArea-prompt")
    wait_until(lambda: re.fullmatch(r"\[\d+\]:", prompt.inner_text().strip()), 120,
               "the cell's end")
    check_curves_follow_the_theme(cell(page, 1).locator(".widget-image.jupyter-hpo-curves"),
                                  lambda theme: pick_theme(page, theme))
    check_summary_is_readable(cell(page, 1).locator(".jp-RenderedImage img"),
                              cell(page, 1).locator(".jp-RenderedImage"),
                              lambda theme: pick_theme(page, theme))


def pick_theme(page, theme: str) -> None:
    """Pick ``theme`` in Notebook 7's Settings > Theme menu and wait until it is applied."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Settings$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{theme}$")).click()
    light = "true" if "Light" in theme else "false"
    wait_until(lambda: page.evaluate("document.body.dataset.jpThemeLight") == light, 30,
               f"the {theme} theme applied")
