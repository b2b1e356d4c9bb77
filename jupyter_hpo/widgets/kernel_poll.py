"""Serve widget messages while a cell blocks the kernel's main thread.

A plain ipywidgets callback never fires while a cell is executing: the kernel reads shell
messages only between cells. While ``%%hpo`` waits for its study, :func:`serving_ui_events`
reads the shell messages that reach the main thread itself, handles widget (comm) messages
at once and keeps everything else (the next cell's ``execute_request``, ...) to hand back to
the kernel, in order, when the wait ends. The idea is jupyter_ui_poll's; this version reads
ipykernel 7's inproc shell socket directly, which is all ipykernel 7 offers for it.

The kernel's busy/idle status stays right meanwhile. A frontend shows the state of the last
``status`` message on iopub, whatever request it answers (JupyterLab does). While the cell
runs, the kernel still answers some requests in other threads, each ending with an ``idle``:
control requests (the ``kernel_info_request`` jupyter_server sends when a browser tab
connects, the debugger's ``debug_request``, a resource monitor's ``usage_request``) and shell
messages sent on a subshell that ipykernel dispatches in that subshell's thread (JupyterLab
>= 4.4 sends comm messages on a subshell). Each of those made the kernel look idle while the
cell ran. So while ``keeping_kernel_busy`` is held (``%%hpo`` holds it from its first line
to its last, the wait here included) every such ``idle`` is followed by a ``busy`` for the
executing request, and the comm messages handled here get their own ``busy``/``idle`` (the
ipywidgets frontend waits for that ``idle`` before it sends the widget's next change),
followed by the same ``busy``. The cell still ends with exactly one ``idle`` for its
``execute_request``, which the kernel publishes once the magic has returned.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["keeping_kernel_busy", "serving_ui_events"]

_HANDLED_AT_ONCE = frozenset({"comm_msg"})


class _ShellReader:
    """Reads the main thread's shell socket; handles comm messages, defers the rest."""

    def __init__(self, kernel: Any, stream: Any) -> None:
        import zmq

        self.kernel, self.stream = kernel, stream
        self.socket = stream.socket
        self.poller = zmq.Poller()
        self.poller.register(self.socket, zmq.POLLIN)
        self.deferred: list[list[Any]] = []
        self._zmq = zmq

    def poll(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for messages; return how many comm messages ran."""
        handled = 0
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            if not self.poller.poll(int(left * 1000)):
                return handled
            while (frames := self._receive()) is not None:
                handled += self._handle(frames)
            if time.monotonic() >= deadline:
                return handled

    def _receive(self) -> list[Any] | None:
        try:
            return self.socket.recv_multipart(self._zmq.NOBLOCK, copy=False)
        except self._zmq.Again:
            return None

    def _handle(self, frames: list[Any]) -> int:
        msg = self._comm_message(frames)
        if msg is None:
            self.deferred.append(frames)
            return 0
        handler = self.kernel.shell_handlers.get(msg[1]["header"]["msg_type"])
        if handler is None:
            return 0
        publish = getattr(self.kernel, "_publish_status", None)
        if callable(publish):
            publish("busy", "shell", msg[1])
        try:
            result = handler(self.stream, *msg)
            if hasattr(result, "close"):
                result.close()
        except Exception:
            self.kernel.log.exception("jupyter_hpo: error in a widget message handler")
        finally:
            if callable(publish):
                publish("idle", "shell", msg[1])  # then busy again: see _BusyWhileWaiting
        return 1

    def _comm_message(self, frames: list[Any]) -> tuple[list[Any], dict[str, Any]] | None:
        """The (idents, message) of a comm message, or None for anything else."""
        session = self.kernel.session
        if session is None or len(frames) < 2:
            return None
        try:
            idents, parts = session.feed_identities(frames, copy=False)
            header = session.unpack(parts[1].bytes)
            if header.get("msg_type") not in _HANDLED_AT_ONCE:
                return None
            return idents, session.deserialize(parts, content=True, copy=False)
        except Exception:  # noqa: BLE001 - not ours to judge: the kernel reports bad messages
            return None

    def hand_back(self) -> None:
        """Drain the socket and give every deferred message back to the kernel, in order."""
        while (frames := self._receive()) is not None:
            self._handle(frames)
        callback = getattr(self.stream, "_recv_callback", None)
        io_loop = getattr(self.kernel, "io_loop", None)
        for frames in self.deferred:
            if callback is not None and io_loop is not None:
                io_loop.add_callback(callback, frames)
        self.deferred.clear()
        self.poller.unregister(self.socket)


class _BusyWhileWaiting:
    """While installed, every ``idle`` status the kernel publishes for another request than
    the executing one is followed by a ``busy`` for the executing one.

    It wraps the kernel's ``_publish_status`` (ipykernel's one way of publishing a status,
    from any thread). A lock orders the two messages against ``remove()``, so no ``busy`` can
    follow the cell's final ``idle``.
    """

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.parent = kernel.get_parent("shell")
        self.msg_id = _msg_id(self.parent)
        self.lock = threading.Lock()
        self.original: Any = None
        self.active = False

    def install(self) -> None:
        """Wrap the kernel's status publishing, unless it is wrapped already (nested use)."""
        original = getattr(self.kernel, "_publish_status", None)
        if not callable(original) or self.msg_id is None \
                or isinstance(getattr(original, "__self__", None), _BusyWhileWaiting):
            return
        self.original = original
        self.kernel._publish_status = self.publish
        self.active = True

    def publish(self, status: str, channel: str, parent: Any = None) -> None:
        with self.lock:
            self.original(status, channel, parent)
            if not self.active or status != "idle":
                return
            answered = parent or self.kernel.get_parent(channel)
            if _msg_id(answered) != self.msg_id:
                self.original("busy", "shell", self.parent)

    def remove(self) -> None:
        with self.lock:
            if not self.active:
                return
            self.active = False
            if self.kernel.__dict__.get("_publish_status") == self.publish:
                del self.kernel._publish_status


def _msg_id(message: Any) -> str | None:
    header = message.get("header") if isinstance(message, dict) else None
    return header.get("msg_id") if isinstance(header, dict) else None


def _main_shell_stream(kernel: Any) -> Any | None:
    """The ZMQStream on which the kernel's main thread receives shell messages."""
    channel = getattr(kernel, "shell_channel_thread", None)
    if channel is not None and getattr(kernel, "_supports_kernel_subshells", False):
        pair = getattr(channel.manager, "_shell_channel_to_main", None)
        return getattr(pair, "to_stream", None)
    return getattr(kernel, "shell_stream", None)


def _current_kernel() -> Any | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None)


@contextlib.contextmanager
def keeping_kernel_busy() -> Iterator[None]:
    """While the block runs, the kernel shows busy for the executing request, whatever other
    requests it answers in other threads meanwhile (see the module's docstring).

    ``%%hpo`` holds it from its first line to its last, so that the time between showing the
    dashboard and waiting for the study, and the final drawing, are covered too. Nested uses
    are no-ops; outside a kernel it does nothing.
    """
    kernel = _current_kernel()
    if kernel is None or not callable(getattr(kernel, "get_parent", None)):
        yield
        return
    busy = _BusyWhileWaiting(kernel)
    busy.install()
    try:
        yield
    finally:
        busy.remove()


@contextlib.contextmanager
def serving_ui_events() -> Iterator[Callable[[float], Any]]:
    """Yield ``poll(timeout)``: wait up to ``timeout`` seconds, serving widget messages.

    Outside a kernel (plain IPython, tests without a frontend) ``poll`` just sleeps. On exit,
    shell messages that arrived meanwhile are handed back to the kernel in their order.
    """
    kernel = _current_kernel()
    stream = _main_shell_stream(kernel) if kernel is not None else None
    if stream is None or getattr(stream, "socket", None) is None:
        yield time.sleep
        return
    with keeping_kernel_busy():
        reader = _ShellReader(kernel, stream)
        try:
            yield reader.poll
        finally:
            reader.hand_back()
