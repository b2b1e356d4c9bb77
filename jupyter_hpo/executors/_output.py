"""Per-trial capture of what trials running in threads of this process print and display:
``sys.stdout``/``sys.stderr``, the notebook's own stream objects and IPython's display
publisher route a trial thread's output to that trial while any study captures output."""

from __future__ import annotations

import collections
import sys
import threading
from typing import Any, ClassVar, TextIO

from ..trial import current_trial

__all__ = ["OutputRouter"]


def _to_trial(text: str, write: Any) -> int:
    """Send ``text`` to the output of the trial running in this thread, or through ``write``
    outside a trial."""
    trial = current_trial()
    if trial is None:
        return write(text)
    trial.write_output(str(text))
    return len(text)


class _TrialStream:
    """One of ``sys.stdout``/``sys.stderr`` while trials run: text written by a trial's thread
    goes to that trial's output; every other thread writes through to the original stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return _to_trial(text, self.stream.write)

    def flush(self) -> None:
        if current_trial() is None:
            self.stream.flush()

    def isatty(self) -> bool:
        return False if current_trial() is not None else self.stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _MethodHook:
    """One method of one object replaced by ``wrapper`` (an instance attribute) until
    ``undo``; the wrapper gets the object's own method before the hook is made, so a call
    from another thread meanwhile finds it."""

    def __init__(self, target: Any, name: str, wrapper: Any) -> None:
        self.target, self.name, self.wrapper = target, name, wrapper
        self.shadowed = getattr(target, "__dict__", {}).get(name)  # an attribute it replaces
        setattr(target, name, wrapper)  # AttributeError / TypeError where it cannot be set

    def undo(self) -> None:
        """Put the method back, unless someone replaced the wrapper meanwhile."""
        if self.target.__dict__.get(self.name) != self.wrapper:
            return
        if self.shadowed is None:
            delattr(self.target, self.name)
        else:
            setattr(self.target, self.name, self.shadowed)


_WIDGET = "application/vnd.jupyter.widget-view+json"


class _TrialDisplays:
    """IPython's display publisher while trials run: what a trial's thread displays (a figure
    its ``plt.show()`` draws, ``display(x)``) goes to that trial's output as text and its
    ``clear_output()`` is dropped, since both would land in the cell, whose output is the
    study's dashboard (a training loop that clears its output each epoch wiped it). A widget
    (a tqdm notebook bar) is written when the trial's code ends, as its text then ("epochs:
    100%|...| 3/3"), not its first state ("0%"); one closed by then (tqdm's ``leave=False``) is
    left out. Other threads publish as before."""

    def __init__(self, shell: Any) -> None:
        publisher, formatter = shell.display_pub, shell.display_formatter
        self.publish, self.clear = publisher.publish, publisher.clear_output
        self.format = formatter.format
        self.hooks = (_MethodHook(publisher, "publish", self._publish),
                      _MethodHook(publisher, "clear_output", self._clear_output),
                      _MethodHook(formatter, "format", self._format))
        self._formatted = threading.local()  # the widget this thread is displaying
        self._lock = threading.Lock()
        self._widgets: dict[int, list[Any]] = {}  # id(trial) -> widgets it displayed

    @classmethod
    def install(cls) -> _TrialDisplays | None:
        """Wrap the running IPython shell's publisher; None outside IPython."""
        shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
        if getattr(shell, "display_pub", None) is None \
                or getattr(shell, "display_formatter", None) is None:
            return None
        return cls(shell)

    def uninstall(self) -> None:
        """Put the publisher's own methods back, unless someone replaced them meanwhile."""
        for hook in self.hooks:
            hook.undo()

    def finish(self, trial: Any) -> None:
        """The trial's code ended: write the widgets it displayed as they are now."""
        with self._lock:
            widgets = self._widgets.pop(id(trial), [])
        for widget in widgets:
            if getattr(widget, "comm", True) is not None:  # ipywidgets: None once closed
                trial.write_output(f"[display] {_text(widget)}\n")

    def _format(self, obj: Any, *args: Any, **kwargs: Any) -> Any:
        widgets = sys.modules.get("ipywidgets")
        if current_trial() is not None and widgets is not None \
                and isinstance(obj, widgets.Widget):
            self._formatted.widget = obj
        return self.format(obj, *args, **kwargs)

    def _publish(self, data: Any, *args: Any, **kwargs: Any) -> None:
        trial = current_trial()
        if trial is None:
            self.publish(data, *args, **kwargs)
            return
        widget, self._formatted.widget = getattr(self._formatted, "widget", None), None
        view = data.get(_WIDGET) if isinstance(data, dict) else None
        if widget is not None and isinstance(view, dict) \
                and view.get("model_id") == getattr(widget, "model_id", None):
            with self._lock:
                self._widgets.setdefault(id(trial), []).append(widget)
            return
        text = data.get("text/plain") if isinstance(data, dict) else None
        shown = text if isinstance(text, str) else f"({', '.join(map(str, data or ()))})"
        trial.write_output(f"[display] {shown}\n")

    def _clear_output(self, *args: Any, **kwargs: Any) -> None:
        if current_trial() is None:
            self.clear(*args, **kwargs)


def _text(widget: Any) -> str:
    """A widget's text as it is now (tqdm's bar, ``IntProgress(value=3, max=3)``)."""
    try:
        return repr(widget)
    except Exception as exc:  # noqa: BLE001 - a broken repr must not fail the trial
        return f"<{type(widget).__name__}: repr failed: {exc}>"


def _hold_stream(stream: Any) -> _MethodHook | None:
    """The notebook's own stream while trials run, for writers that hold it instead of
    looking up ``sys.stdout`` (a logging handler set up before the study keeps ``sys.stderr``
    as it was, so a trial's log lines went to the cell): what a trial's thread writes to it
    goes to that trial's output. None for a stream whose ``write`` cannot be replaced (a plain
    ``TextIOWrapper``), which is left alone."""
    write = stream.write
    try:
        return _MethodHook(stream, "write", lambda text: _to_trial(text, write))
    except (AttributeError, TypeError):
        return None


class OutputRouter:
    """Per-trial capture of printed and displayed output for every study of the process.

    One pair of ``_TrialStream`` s (with hooks on the streams they replace, and one wrapper
    of IPython's display publisher) is installed while any study captures output (counted), so
    overlapping studies share it and the last one to end puts the originals back — unless
    someone else replaced ``sys.stdout`` meanwhile, which is then left alone.
    """

    _lock = threading.Lock()
    _users = 0
    _streams: tuple[_TrialStream, _TrialStream] | None = None
    _displays: _TrialDisplays | None = None
    _held: ClassVar[list[_MethodHook]] = []
    #: the streams put back are kept alive a while: CPython 3.11's ``print`` holds a borrowed
    #: reference to ``sys.stdout`` across its writes (the text, then the end), so a study
    #: ending in another thread meanwhile freed the stream under it, and the kernel crashed
    #: (a ``--background`` cell's own print as its trials failed at once)
    _retired: ClassVar[collections.deque[_TrialStream]] = collections.deque(maxlen=32)

    @classmethod
    def acquire(cls) -> None:
        with cls._lock:
            if cls._users == 0:
                held = (_hold_stream(sys.stdout), _hold_stream(sys.stderr))
                cls._held = [hook for hook in held if hook is not None]
                streams = (_TrialStream(sys.stdout), _TrialStream(sys.stderr))
                sys.stdout, sys.stderr = streams  # type: ignore[assignment]
                cls._streams = streams
                cls._displays = _TrialDisplays.install()
            cls._users += 1

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            if cls._users == 0:
                return
            cls._users -= 1
            if cls._users or cls._streams is None:
                return
            out, err = cls._streams
            if sys.stdout is out:
                sys.stdout = out.stream
            if sys.stderr is err:
                sys.stderr = err.stream
            cls._retired.extend((out, err))  # see _retired
            cls._streams = None
            if cls._displays is not None:
                cls._displays.uninstall()
                cls._displays = None
            for hook in reversed(cls._held):  # the last one installed wraps the others
                hook.undo()
            cls._held = []

    @classmethod
    def trial_ended(cls, trial: Any) -> None:
        """The code of ``trial`` (running in this process) ended: write what it displayed
        that is written at the end (widgets)."""
        displays = cls._displays
        if displays is not None:
            displays.finish(trial)

    @classmethod
    def active(cls) -> bool:
        return cls._users > 0
