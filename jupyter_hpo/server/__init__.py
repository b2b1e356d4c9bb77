"""The Jupyter server extension of jupyter_hpo: REST handlers under ``/jupyter-hpo/`` over the
storage interface and the cell parser, used by the JupyterLab extension (studies panel, study
view, editor diagnostics, status bar).

It is enabled by ``etc/jupyter/jupyter_server_config.d/jupyter_hpo.json``, which the package
installs; ``jupyter server extension list`` shows it. Settings (``jupyter_server_config.py``
or ``--JupyterHPO.search_depth=3``):

- ``JupyterHPO.search_depth``: how many folders below the server's root are searched for
  storage files (default 2).
- ``JupyterHPO.lock_timeout``: seconds a request waits for a storage file that another
  process keeps locked before the panel is told so (default 2; the panel asks again).
- ``JupyterHPO.hide_transient_files``: keep SQLite's ``-wal``, ``-shm`` and ``-journal``
  files and checkpoints being written out of the file browser (default True; see the
  setting's help for why).
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import Bool, Float, Int
from traitlets.config import Configurable

__all__ = ["JupyterHPO"]


class JupyterHPO(Configurable):
    """Settings of the jupyter_hpo server extension."""

    search_depth = Int(
        2, config=True,
        help="How many folders below the server's root are searched for storage files "
             "(jupyter_hpo.db, and *.db/*.sqlite files written by jupyter_hpo); 0 searches "
             "the root only.")

    lock_timeout = Float(
        2.0, config=True,
        help="Seconds a request of the studies panel or the study view waits for a storage "
             "file that another process keeps locked (an open write transaction, a program "
             "holding an exclusive lock) before it answers with the error; the panel lists "
             "the file as locked and asks again every few seconds. Storage's own 30 s kept "
             "the panel silent and the server's workers busy for that long.")

    hide_transient_files = Bool(
        True, config=True,
        help="Hide the files SQLite keeps next to a storage file while it writes (-wal, -shm, "
             "-journal) and checkpoints being written (trial-3-1a2b3c4d.pkl.*.partial) from the "
             "file browser, by adding their patterns to ContentsManager.hide_globs. They appear and "
             "vanish while a study runs, and one that vanishes while the server lists its "
             "folder fails the whole listing: JupyterLab then shows 'Directory not found'.")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_hpo.server"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the handlers on the running server."""
    from .files import StorageFiles, transient_file_globs
    from .handlers import handlers

    settings = JupyterHPO(config=server_app.config)
    if settings.lock_timeout <= 0:
        raise ValueError(f"JupyterHPO.lock_timeout is {settings.lock_timeout}, but must be > 0")
    if settings.search_depth < 0:
        raise ValueError(f"JupyterHPO.search_depth is {settings.search_depth}, but must be "
                         f">= 0")
    storage_env = os.environ.get("JUPYTER_HPO_STORAGE")
    if settings.hide_transient_files:
        _hide(server_app.contents_manager, transient_file_globs(storage_env))
    web_app = server_app.web_app
    files = StorageFiles(server_app.root_dir, settings.search_depth, storage_env,
                         settings.lock_timeout)
    web_app.settings["jupyter_hpo_files"] = files
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    server_app.log.info("jupyter_hpo: studies panel handlers at %sjupyter-hpo/ (root %s, "
                        "depth %d)", web_app.settings["base_url"], files.root,
                        settings.search_depth)


def _hide(contents_manager: Any, globs: list[str]) -> None:
    """Add ``globs`` to the contents manager's ``hide_globs``, keeping the user's own."""
    hidden = list(contents_manager.hide_globs)
    contents_manager.hide_globs = hidden + [glob for glob in globs if glob not in hidden]
