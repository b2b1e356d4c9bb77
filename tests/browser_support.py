"""Real JupyterLab / Notebook 7 servers and Debian's Chromium driven by Playwright, for the
browser tests. Nothing is faked: the server is ``jupyter lab`` (or ``jupyter notebook``) as
installed, with the extension enabled by its installed config, kernels are real kernels, and
the browser is the ``chromium`` package (Playwright's own browser download is not used).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

# How long a test waits for the editor's underlines: the extension asks the server 300 ms
# after the last keystroke, and the server's first check of a cell (or of its %%hpo options)
# imports IPython and the magic first, about 1 s on an idle machine and several under load.
DIAGNOSED_MS = 30_000

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


def chromium_path() -> str:
    """Debian's chromium (``apt-get install chromium``; .ci/run installs it)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("the browser tests need Debian's chromium: apt-get install -y chromium "
                "(.ci/run installs it)")


def server_url(runtime: Path, pid: int) -> str | None:
    """The URL that the server of process ``pid`` names in its info file once it listens
    (``None`` before the file is written whole)."""
    try:
        return json.loads((runtime / f"jpserver-{pid}.json").read_text())["url"]
    except (OSError, ValueError, KeyError):
        return None


@dataclass
class Server:
    """A running Jupyter server: its root folder, URL and token."""

    root: Path
    url: str
    token: str
    process: subprocess.Popen
    log: Path

    def page_url(self, path: str) -> str:
        return f"{self.url}{path}{'&' if '?' in path else '?'}token={self.token}"

    def api(self, path: str) -> object:
        request = urllib.request.Request(f"{self.url}{path}",
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


@contextmanager
def jupyter_server(app: str, base: Path) -> Iterator[Server]:
    """``jupyter lab`` or ``jupyter notebook`` serving ``base/root`` on a port it picks
    itself (one picked here could be taken by another process before the server bound it,
    and the server then moved to another port), with its own config, data-less runtime and
    workspace folders; the default storage of its kernels is ``root/jupyter_hpo.db``."""
    root = base / "root"
    root.mkdir(parents=True)
    for folder in ("runtime", "workspaces", "ipython", "config"):
        (base / folder).mkdir()
    token = "hpo-test-token"
    env = dict(os.environ)
    env.update(JUPYTER_RUNTIME_DIR=str(base / "runtime"), IPYTHONDIR=str(base / "ipython"),
               JUPYTER_HPO_STORAGE=str(root / "jupyter_hpo.db"),
               JUPYTER_CONFIG_DIR=str(base / "config"), PYTHONUNBUFFERED="1")
    log = base / f"{app}.log"
    command = [sys.executable, "-m", "jupyter", app, "--no-browser", "--port=0",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={base / 'workspaces'}",
               "--LabApp.news_url=None", "--ServerApp.open_browser=False",
               "--ServerApp.allow_root=True"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   cwd=root)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter {app} exited: {log.read_text()[-3000:]}")
            url = server_url(base / "runtime", process.pid)  # `jupyter` execs the app
            try:
                if url is not None:
                    server = Server(root, url, token, process, log)
                    server.api("api/status")
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter {app} did not start: {log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Debian Chromium under Playwright; yields the browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells with the python3 kernel (opened without a kernel dialog)."""
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell{i}",
                   "metadata": {}, "outputs": [], "source": source}
                  for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))


def wait_until(condition, timeout: float, what: str, step: float = 0.2):
    """Poll ``condition()`` until it returns something truthy (returned) or fail after
    ``timeout`` seconds saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(step)


def magic_error_line(body: str) -> str:
    """The first line of the error that ``%%hpo`` prints for a cell ``body`` (the magic
    formats ``HPOSyntaxError at {error}``; its lines count from the ``%%hpo`` line)."""
    from jupyter_hpo.annotate import parse_cell
    from jupyter_hpo.errors import HPOSyntaxError
    from jupyter_hpo.magic._text import MAGIC_LINE

    try:
        parse_cell(MAGIC_LINE + body, {})
    except HPOSyntaxError as exc:
        return f"HPOSyntaxError at {exc}".splitlines()[0]
    raise AssertionError(f"{body!r} parses without an error")


def wide_cell(name: str) -> str:
    """A quick ``%%hpo`` cell with eight long-named hyperparameters whose trials report three
    epochs and, for half of them, fail with a long error (seed 0: trials 1, 2 and 5): its
    results table is wider than a notebook."""
    return f"""%%hpo --name {name} --trials 6 --workers 1 --seed 0 --metric loss
import time
learning_rate_of_the_optimizer = Real(1e-4, 1e-1, log=True)
weight_decay_coefficient = Real(0, 0.1)
dropout_probability_first = Real(0, 0.5)
dropout_probability_second = Real(0, 0.5)
hidden_units_first_layer = Int(16, 256)
hidden_units_second_layer = Int(16, 256)
activation_function_name = Categorical("relu", "tanh", "gelu")
batch_size_of_training = Int(16, 256)
for epoch in range(1, 4):
    time.sleep(0.05)
    report(epoch=epoch, loss=learning_rate_of_the_optimizer / epoch)
if dropout_probability_first > 0.2:
    raise ValueError("the error column says what went wrong in this trial, at length")
"""


def light_share(locator) -> float:
    """The share of the pixels of ``locator`` as the page shows it (a screenshot: CSS filters
    applied) that are light (grey level above 200 of 255)."""
    import io

    from PIL import Image

    grey = Image.open(io.BytesIO(locator.screenshot())).convert("L")
    histogram = grey.histogram()
    return sum(histogram[201:]) / max(1, sum(histogram))


def check_curves_follow_the_theme(image, pick_theme) -> None:
    """The dashboard's curves ``image`` is shown light, dark once ``pick_theme("JupyterLab
    Dark")`` applied that theme (with light lines, labels and the incumbent) and light again
    after ``pick_theme("JupyterLab Light")``."""
    image.scroll_into_view_if_needed()
    assert light_share(image) > 0.8  # light: as drawn, white
    try:
        pick_theme("JupyterLab Dark")
        wait_until(lambda: light_share(image) < 0.2, 10, "the curves shown dark")
        assert light_share(image) > 0.005  # with light lines and incumbent (labels: grey)
    finally:
        pick_theme("JupyterLab Light")
    wait_until(lambda: light_share(image) > 0.8, 10, "the curves shown light again")


def _luminance(rgb):
    """WCAG relative luminance of an array of sRGB colours (0 to 255, last axis RGB)."""
    import numpy as np

    c = np.asarray(rgb, dtype=float)[..., :3] / 255
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def screenshot_pixels(locator):
    """What the page shows of ``locator``: an RGB array (CSS filters applied)."""
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB"))


def background_of(around) -> tuple[int, int, int]:
    """The colour the page shows at the right end of ``around`` (an element wider than an
    image in it, such as its output area): the background around that image."""
    pixels = screenshot_pixels(around)
    return tuple(int(v) for v in pixels[pixels.shape[0] // 2, -3])


def contrast_shares(image, background) -> tuple[float, float]:
    """How the page shows ``image`` (what lies behind a transparent image and CSS filters
    included) on ``background`` (RGB): the share of its pixels that look like the background
    (WCAG contrast below 1.2) and the share that stand out from it as text and lines must
    (contrast of 3 or more)."""
    import numpy as np

    shown = _luminance(screenshot_pixels(image))
    back = float(_luminance(np.array(background)))
    contrast = (np.maximum(shown, back) + 0.05) / (np.minimum(shown, back) + 0.05)
    return float((contrast < 1.2).mean()), float((contrast >= 3).mean())


def check_summary_is_readable(image, around, pick_theme) -> None:
    """The static summary's curves ``image`` (an output image, shown as drawn) lies on the
    notebook's background with readable text and lines in the light theme and, once
    ``pick_theme("JupyterLab Dark")`` applied it, in the dark theme too (it was a white
    rectangle there)."""
    image.scroll_into_view_if_needed()
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        if theme != "JupyterLab Light":
            pick_theme(theme)
        try:
            background, readable = contrast_shares(image, background_of(around))
            assert background > 0.8, f"{theme}: {background:.0%} of the image on the background"
            assert readable > 0.005, f"{theme}: {readable:.1%} of the image stands out"
        finally:
            if theme != "JupyterLab Light":
                pick_theme("JupyterLab Light")


VSCODE_THEMES = {  # body class, data-vscode-theme-kind, --vscode-editor-background
    "Dark Modern": ("vscode-dark", "vscode-dark", "#1f1f1f"),
    "Light Modern": ("vscode-light", "vscode-light", "#ffffff"),
    "Dark High Contrast": ("vscode-high-contrast", "vscode-high-contrast", "#000000"),
    "Light High Contrast": ("vscode-high-contrast-light vscode-high-contrast",
                            "vscode-high-contrast-light", "#ffffff"),
}
"""What VS Code's webviews (its notebook's outputs among them) mark on ``<body>`` in each
kind of theme (src/vs/workbench/contrib/webview/browser/pre/index.html, ``applyStyles``: the
light high-contrast theme keeps the class ``vscode-high-contrast`` for compatibility), and
the editor background of its default theme of that kind."""

COPY_OUTPUT = """async (output) => {
    // the output's DOM as the page made it, its images' blob: URLs (valid in this page
    // only) turned into data: URLs
    const copy = output.cloneNode(true);
    const shown = output.querySelectorAll('img');
    const copied = copy.querySelectorAll('img');
    for (let i = 0; i < shown.length; i++) {
        const blob = await (await fetch(shown[i].src)).blob();
        copied[i].src = await new Promise(done => {
            const reader = new FileReader();
            reader.onload = () => done(reader.result);
            reader.readAsDataURL(blob);
        });
    }
    return copy.outerHTML;
}"""

APPLY_VSCODE_THEME = """([kind, classes, background]) => {
    // what VS Code's webview does when its theme changes (applyStyles)
    document.body.className = classes;
    document.body.dataset.vscodeThemeKind = kind;
    document.documentElement.style.setProperty('--vscode-editor-background', background);
}"""


def check_curves_follow_vscode_themes(output, context) -> None:
    """The dashboard's widget ``output`` as the page rendered it (its real DOM: the hidden
    style widget, the curves image), put in a page of ``context`` that carries VS Code's theme
    markers as its notebook webview does: the curves' incumbent (drawn black) is shown white
    in VS Code's dark themes and black in its light ones, and the curves read on each theme's
    background."""
    import base64
    import io
    import re

    import numpy as np
    from PIL import Image

    copied = output.evaluate(COPY_OUTPUT)
    source = re.search(r'<img[^>]*jupyter-hpo-curves[^>]*>', copied)[0]
    data = re.search(r'src="data:image/png;base64,([^"]+)"', source)[1]
    drawn = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA"))
    black = (drawn[..., 3] > 240) & (drawn[..., :3].max(axis=-1) < 40)  # the incumbent
    assert black.sum() > 100
    page = context.new_page()
    try:
        page.set_content("<!DOCTYPE html><html><head><style>html {background-color: "
                         "var(--vscode-editor-background)}</style></head><body>"
                         f"{copied}</body></html>")
        image = page.locator(".jupyter-hpo-curves")
        for theme, (classes, kind, background) in VSCODE_THEMES.items():
            page.evaluate(APPLY_VSCODE_THEME, [kind, classes, background])
            shown = screenshot_pixels(image)
            assert shown.shape[:2] == black.shape, (shown.shape, black.shape)
            incumbent = float(shown[black].mean())
            dark = kind in ("vscode-dark", "vscode-high-contrast")
            assert incumbent > 200 if dark else incumbent < 60, \
                f"{theme}: the incumbent shown at a grey level of {incumbent:.0f}"
            back = tuple(int(background[i:i + 2], 16) for i in (1, 3, 5))
            on_background, readable = contrast_shares(image, back)
            assert on_background > 0.8 and readable > 0.005, (theme, on_background, readable)
    finally:
        page.close()
