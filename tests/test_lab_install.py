"""How the JupyterLab extension is installed: `jupyter labextension list` shows it enabled
and OK, `jupyter server extension list` shows the server extension enabled, and the wheel
built from the repository carries the prebuilt extension and the server config, so
installing it needs no Node."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import jupyter_hpo

REPO = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
pytestmark = pytest.mark.timeout(600)


def jupyter(*args: str, env: dict | None = None, python: str = sys.executable) -> str:
    done = subprocess.run([python, "-m", "jupyter", *args], capture_output=True, text=True,
                          timeout=300, env=env, check=False)
    return ANSI.sub("", done.stdout + done.stderr)


def test_labextension_and_server_extension_are_enabled():
    version = json.loads((REPO / "labextension" / "package.json").read_text())["version"]
    project = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(),
                        re.MULTILINE).group(1)
    assert version == project == jupyter_hpo.__version__  # one version for both halves
    listed = jupyter("labextension", "list")
    assert re.search(rf"jupyter-hpo v{re.escape(version)} enabled\s+OK \(python, jupyter_hpo\)",
                     listed), listed
    servers = jupyter("server", "extension", "list")
    assert re.search(r"jupyter_hpo\.server enabled", servers), servers
    assert re.search(r"jupyter_hpo\.server\s+OK", servers), servers


def test_the_wheel_carries_the_prebuilt_extension_and_installs_without_node(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(REPO)], check=True, timeout=300,
                   capture_output=True)
    wheel = next((tmp_path / "dist").glob("jupyter_hpo-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    data = "jupyter_hpo-0.1.0.data/data/"
    share = f"{data}share/jupyter/labextensions/jupyter-hpo/"
    assert f"{share}package.json" in names
    assert f"{share}install.json" in names
    assert any(re.fullmatch(rf"{re.escape(share)}static/remoteEntry\.[0-9a-f]+\.js", n)
               for n in names)
    assert f"{data}etc/jupyter/jupyter_server_config.d/jupyter_hpo.json" in names
    assert "jupyter_hpo/server/handlers.py" in names

    # installed into a new environment with no node on PATH: the extension is there
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = str(env_dir / "bin" / "python")
    path = f"{env_dir / 'bin'}:{Path(sys.executable).parent}"  # jupyter's scripts, no node
    assert shutil.which("node", path=path) is None
    # nor the caller's PYTHONPATH (a checkout there would shadow the installed wheel)
    no_node = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PATH": path}
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
                    "--no-index", str(wheel)], check=True, timeout=300, capture_output=True,
                   env=dict(os.environ, PIP_FIND_LINKS=""))
    installed = env_dir / "share" / "jupyter" / "labextensions" / "jupyter-hpo"
    assert (installed / "package.json").is_file()
    assert list((installed / "static").glob("remoteEntry.*.js"))
    listed = jupyter("labextension", "list", env=no_node, python=python)
    assert re.search(r"jupyter-hpo v0\.1\.0 enabled\s+OK", listed), listed
    where = subprocess.run([python, "-c", "import jupyter_hpo.server as s; print(s.__file__)"],
                           capture_output=True, text=True, env=no_node, check=True,
                           cwd=tmp_path).stdout
    assert where.startswith(str(env_dir))
    # its console script: `jupyter hpo ...` runs `python -m jupyter_hpo ...` (Jupyter runs
    # jupyter-hpo for the subcommand hpo)
    assert (env_dir / "bin" / "jupyter-hpo").is_file()
    missing = tmp_path / "typo.db"
    listed = subprocess.run([shutil.which("jupyter", path=path), "hpo", "list", "--storage",
                             str(missing)], capture_output=True, text=True, env=no_node,
                            cwd=tmp_path, timeout=120, check=False)
    assert listed.returncode == 1 and f"{missing} does not exist" in listed.stderr, \
        listed.stdout + listed.stderr


def test_the_extension_asks_for_the_oldest_jupyterlab_it_claims():
    """The built extension asks JupyterLab for its packages at the versions package.json
    depends on (``sharedPackages``), whose oldest is the JupyterLab that pyproject.toml
    claims: left to the builder, it asked for those of the JupyterLab that built it (^4.6.6
    from 4.6), a console warning per package in every older JupyterLab."""
    package = json.loads((REPO / "labextension" / "package.json").read_text())
    shared = package["jupyterlab"]["sharedPackages"]
    for name, wanted in package["dependencies"].items():
        if name.startswith(("@jupyterlab/", "@lumino/", "@codemirror/")):
            assert shared[name] == {"bundled": False, "singleton": True,
                                    "requiredVersion": wanted}, name
    claimed = set(re.findall(r'"jupyterlab>=([0-9.]+),<5"', (REPO / "pyproject.toml").read_text()))
    assert len(claimed) == 1, claimed  # build-system, the lab and dev extras agree
    oldest = claimed.pop()
    for name in ("@jupyterlab/application", "@jupyterlab/notebook", "@jupyterlab/codemirror"):
        assert package["dependencies"][name] == f"^{oldest}.0", name
