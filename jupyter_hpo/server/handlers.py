"""The REST handlers under ``/jupyter-hpo/``: studies, one study, stop, delete, watch, parse.

Every handler is a jupyter_server ``APIHandler`` under ``@tornado.web.authenticated``, so a
request without the server's token or login cookie is refused, and writes (POST, DELETE) are
checked against XSRF as every jupyter_server write is. Storage work runs in a worker thread so
a slow file (a quick_check before a write, a lock held by a kernel) never blocks the server.
Control goes through the storage interface only: a stop is ``request_stop``, which the running
study's recorder picks up within a second, in whichever kernel or process runs it.

| method | path | what |
| --- | --- | --- |
| GET | ``studies[?storage=PATH][&fresh=1]`` | storage files and their studies (fresh: walk now) |
| GET | ``study?storage=PATH&name=NAME`` | one study: settings, space, trials, curves, incumbents |
| DELETE | ``study?storage=PATH&name=NAME`` | delete a study that no live process runs |
| POST | ``stop`` ``{"storage", "name"}`` | ask a running study to stop |
| GET | ``watch?since=TOKEN`` | answers when any storage file changes (or after ``timeout`` s) |
| POST | ``parse`` ``{"source"}`` | a cell's ``%%hpo`` annotations and errors |
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..errors import (
    StorageDamagedError,
    StorageError,
    StorageGoneError,
    StorageLockedError,
    StorageReadOnlyError,
    StudyNotFoundError,
    StudyStateError,
)
from .cells import cell_diagnostics
from .files import OutsideRootError, StorageFiles
from .kernels import kernel_owners
from .serialize import study_json, summary_json

__all__ = ["handlers"]

T = TypeVar("T")

_STATUS: list[tuple[type[BaseException], int]] = [
    (OutsideRootError, 403),
    (FileNotFoundError, 404),
    (StudyNotFoundError, 404),
    (StudyStateError, 409),
    (StorageReadOnlyError, 409),
    (StorageGoneError, 410),
    (StorageLockedError, 423),
    (StorageDamagedError, 422),
    (StorageError, 422),
]
WATCH_STEP = 0.5  # seconds between looks at the files' modification times
WATCH_DISCOVER = 5.0  # seconds between walks of the root for new storage files
MAX_SOURCE = 1_000_000  # characters of a cell the parse handler accepts


class Refusal(web.HTTPError):
    """An HTTP error whose JSON reply is ``{"message": message}``, taken as it is (tornado's
    own ``log_message`` is a %-format, which a study name with ``%`` in it would break)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status)
        self.message = message


class _Handler(APIHandler):
    """Shared by the handlers: the storage files, error mapping, JSON input."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, Refusal):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": exc.message, "reason": None}))
            return
        super().write_error(status_code, **kwargs)

    @property
    def files(self) -> StorageFiles:
        return self.settings["jupyter_hpo_files"]

    @contextlib.contextmanager
    def _mapped_errors(self, storage: str | None = None) -> Iterator[None]:
        """Our errors as HTTP errors whose JSON ``message`` is the error's own message."""
        try:
            yield
        except web.HTTPError:
            raise
        except Exception as exc:
            for kind, status in _STATUS:
                if isinstance(exc, kind):
                    if isinstance(exc, StorageGoneError) and storage is not None:
                        self.files.forget(storage)
                    raise Refusal(status, str(exc)) from None
            raise

    async def _run(self, call: Callable[[], T], storage: str | None = None) -> T:
        """``call()`` in a worker thread, with errors mapped."""
        with self._mapped_errors(storage):
            return await asyncio.get_running_loop().run_in_executor(None, call)

    def _argument(self, name: str) -> str:
        value = self.get_query_argument(name, None)
        if value is None or value == "":
            raise Refusal(400, f"the query argument {name!r} is required")
        return value

    def _body(self, *names: str) -> dict[str, Any]:
        """The JSON body, which must be an object with string values for ``names``."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise Refusal(400, f"the request body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise Refusal(400, "the request body must be a JSON object")
        for name in names:
            if not isinstance(body.get(name), str) or not body[name]:
                raise Refusal(400, f"the request body needs {name!r} (a string)")
        return body

    def _who(self) -> str:
        """Who asked, as a stop reason shows it: "JupyterLab by alice"."""
        user = self.current_user
        name = getattr(user, "display_name", None) or getattr(user, "name", None) \
            or getattr(user, "username", None)
        return f"JupyterLab by {name}" if name else "JupyterLab"


class StudiesHandler(_Handler):
    """GET: every storage file the server sees (or the one named) and its studies."""

    @web.authenticated
    async def get(self) -> None:
        named = self.get_query_argument("storage", None)
        fresh = self.get_query_argument("fresh", "") == "1"
        if named:
            with self._mapped_errors(named):
                self.files.resolve(named)  # refuse a path outside the root before anything
        listing = await self._run(lambda: self._listing(named, fresh))
        owners = await kernel_owners(self.kernel_manager, self.session_manager)
        for study in listing["studies"]:
            study["kernel"] = owners.get(study["owner"] or "")
        self.finish(json.dumps(listing))

    def _listing(self, named: str | None, fresh: bool) -> dict[str, Any]:
        paths = [named] if named else self.files.discover(fresh)
        storages: list[dict[str, Any]] = []
        studies: list[dict[str, Any]] = []
        for path in paths:
            entry: dict[str, Any] = {"path": path, "error": None, "read_only": False,
                                     "locked": False}
            try:
                storage = self.files.open(path, read_only=True)
                entry["read_only"] = not storage.file_writable
                found = storage.list_studies()
            except (StorageError, OSError, OutsideRootError) as exc:
                if isinstance(exc, StorageGoneError):
                    self.files.forget(path)
                entry["error"] = str(exc)
                entry["locked"] = isinstance(exc, StorageLockedError)  # the panel asks again
                found = []
            entry["studies"] = len(found)
            storages.append(entry)
            studies.extend(summary_json(s, path) for s in found)
        _, note = self.files.environment_file()
        running = sum(1 for s in studies if s["state"] in ("running", "stopping"))
        return {"root": self.files.root, "storages": storages, "studies": studies,
                "running": running, "notes": [note] if note else [], "time": time.time()}


class StudyHandler(_Handler):
    """GET: one study with every trial; DELETE: remove a study no live process runs."""

    @web.authenticated
    async def get(self) -> None:
        storage, name = self._argument("storage"), self._argument("name")
        record = await self._run(lambda: self.files.open(storage, read_only=True)
                                 .load_study(name), storage)
        study = study_json(record, storage)
        owners = await kernel_owners(self.kernel_manager, self.session_manager)
        study["kernel"] = owners.get(study["owner"] or "")
        self.finish(json.dumps(study))

    @web.authenticated
    async def delete(self) -> None:
        storage, name = self._argument("storage"), self._argument("name")
        removed = await self._run(lambda: self.files.open(storage).delete_study(name), storage)
        self.log.info("jupyter_hpo: %s deleted study %r of %s", self._who(), name, storage)
        self.finish(json.dumps({"deleted": name, "storage": storage, "trials": removed}))


class StopHandler(_Handler):
    """POST ``{"storage", "name"}``: ask the running study to stop (``request_stop``)."""

    @web.authenticated
    async def post(self) -> None:
        body = self._body("storage", "name")
        storage, name, who = body["storage"], body["name"], self._who()
        await self._run(lambda: self.files.open(storage).request_stop(name, by=who), storage)
        self.finish(json.dumps({"stopping": name, "storage": storage, "by": who}))


class WatchHandler(_Handler):
    """GET ``?since=TOKEN``: answers with a new token as soon as a storage file changes
    (modification time or size of the file or its WAL), or after ``timeout`` seconds (at most
    60) with the same token. The panel holds one such request open while no study runs, so it
    learns of a study started anywhere without polling the studies."""

    _closed = False

    def on_connection_close(self) -> None:
        self._closed = True

    @web.authenticated
    async def get(self) -> None:
        since = self.get_query_argument("since", "")
        try:
            timeout = min(60.0, max(0.0, float(self.get_query_argument("timeout", "30"))))
        except ValueError:
            raise Refusal(400, "timeout must be a number of seconds") from None
        loop = asyncio.get_running_loop()
        paths = await loop.run_in_executor(None, self.files.discover)
        token = self._token(paths)
        deadline = time.monotonic() + timeout
        discovered = time.monotonic()
        while token == since and time.monotonic() < deadline and not self._closed:
            await asyncio.sleep(WATCH_STEP)
            if time.monotonic() - discovered > WATCH_DISCOVER:
                paths = await loop.run_in_executor(None, self.files.discover, True)
                discovered = time.monotonic()
            token = self._token(paths)
        if not self._closed:
            self.finish(json.dumps({"token": token}))

    def _token(self, paths: list[str]) -> str:
        return str(hash((tuple(paths), self.files.fingerprint(paths))))


class ParseHandler(_Handler):
    """POST ``{"source"}``: the ``%%hpo`` diagnostics of a cell (no kernel involved)."""

    @web.authenticated
    async def post(self) -> None:
        body = self._body()
        source = body.get("source")
        if not isinstance(source, str):
            raise Refusal(400, "the request body needs 'source' (the cell's text)")
        if len(source) > MAX_SOURCE:
            raise Refusal(413, f"the cell has {len(source)} characters, but at most "
                                     f"{MAX_SOURCE} are checked")
        self.finish(json.dumps(await self._run(lambda: cell_diagnostics(source))))


def handlers(base_url: str) -> list[tuple[str, type[APIHandler]]]:
    """The URL patterns of the extension under ``base_url``."""
    from jupyter_server.utils import url_path_join

    return [(url_path_join(base_url, "jupyter-hpo", path), handler) for path, handler in (
        ("studies", StudiesHandler), ("study", StudyHandler), ("stop", StopHandler),
        ("watch", WatchHandler), ("parse", ParseHandler))]
