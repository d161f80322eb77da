"""Running core jobs in napari workers, wired the same way in every panel.

A job (a core generator that yields :class:`~napari_genmed.core.progress.Progress`,
or a plain function) runs in a napari worker with a progress bar; its errors become
napari notifications (and are not re-raised in the event loop); ``quit`` cancels it
at the next yield, and a cancelled job delivers no result.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from napari.qt.threading import create_worker
from napari.utils.notifications import show_error


def start_job(
    func,
    *args,
    what: str,
    on_result: Callable,
    on_finished: Callable,
    on_progress: Callable | None = None,
    progress: bool = True,
):
    def failed(exc):
        show_error(f"{what} failed: {exc}")

    kwargs = {
        "_connect": {"errored": failed, "returned": on_result, "finished": on_finished},
        "_start_thread": False,
    }
    if on_progress is not None:
        kwargs["_connect"]["yielded"] = on_progress
    if progress:
        kwargs["_progress"] = {"desc": what}
    worker = create_worker(func, *args, **kwargs)
    worker.start()
    return worker


def progress_bar(**kwargs):
    """A ProgressBar that stays shown (reading "ready" when idle). Showing a widget
    for the first time next to the 3D canvas repaints the whole scene synchronously
    (300 ms for the demo's scene under software OpenGL): a bar that appeared only
    when a job starts would stall the GUI right then."""
    from magicgui.widgets import ProgressBar

    bar = ProgressBar(value=0, min=0, max=1, **kwargs)
    bar.native.setFormat("ready")
    return bar


def abandon(worker) -> None:
    """Cancel ``worker`` and cut what it would still deliver to widgets that are
    going away (a closed panel or viewer): its progress, result and end signals."""
    if worker is None:
        return
    # RuntimeError: Qt deleted the worker's signals already (the window is closing);
    # a panel's own close hook must not raise then (Qt aborts on an error in a slot)
    with contextlib.suppress(RuntimeError):
        worker.quit()
    for name in ("yielded", "returned", "finished"):  # a function worker has no ``yielded``
        with contextlib.suppress(RuntimeError, TypeError):
            signal = getattr(worker, name, None)
            if signal is not None:
                signal.disconnect()


def leave_a_core_for_the_gui() -> None:
    """Torch's intra-op threads busy-wait on every core; with all cores taken the GUI
    thread stalls for hundreds of ms while a model runs. Panels keep one core free."""
    import os

    import torch

    cores = os.cpu_count() or 1
    if torch.get_num_threads() > max(1, cores - 1):
        torch.set_num_threads(max(1, cores - 1))


def watch(widget, emitters, callback) -> None:
    """Connect ``callback`` to napari event emitters (e.g. ``viewer.layers.events.
    inserted``) or psygnal signals (the viewer state's) for as long as ``widget``'s
    Qt object lives: a closed panel leaves no connection behind."""
    for emitter in emitters:
        emitter.connect(callback)

    def disconnect(*_):
        for emitter in emitters:
            with contextlib.suppress(RuntimeError, ValueError, TypeError):
                emitter.disconnect(callback)

    widget.native.destroyed.connect(disconnect)


def layer_list_events(viewer) -> list:
    e = viewer.layers.events
    return [e.inserted, e.removed, e.moved]


_LAZY_IMPORTS = ("pandas",)  #: what napari imports when the first Labels layer is made
_warming = None


def warm_dash_patterns() -> None:
    """Fill vispy's cache of dash patterns (``dash_atlas._make_pattern``, an
    ``lru_cache``): every Labels layer gets a polygon-drawing overlay whose agg line
    builds a ``DashAtlas`` of 13 patterns, 1024 texels each, in a Python loop. The
    first one in a process took 59 ms of the first skull-mask layer's 112-135 ms turn
    on the GUI thread (cProfile, session 21); cached, a ``DashAtlas`` takes under 1 ms.
    Building one here, unused, changes nothing in vispy but the cache's contents."""
    with contextlib.suppress(ImportError):
        from vispy.visuals.line.dash_atlas import DashAtlas

        DashAtlas()


def warm_napari_imports() -> None:
    """Do in a background thread, once, what napari does lazily on the GUI thread
    when it makes the first Labels layer: import pandas (for the layer's features),
    0.2-0.5 s on this machine, and build vispy's dash patterns
    (:func:`warm_dash_patterns`), about 60 ms; they froze the window as the first
    reconstruction's skull-mask layer went on screen when no labels layer was open yet
    (the viewer held only DICOM or PNG views). In a thread the event loop's longest gap
    during the import is about 9 ms (measured with a 5 ms timer, 3D canvas). A plain
    daemon thread: nothing comes back, no napari worker (signals, progress) is needed."""
    global _warming
    if _warming is not None:
        return
    import importlib
    import threading

    def work():
        for name in _LAZY_IMPORTS:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        warm_dash_patterns()

    _warming = threading.Thread(target=work, name="genmed-warm-imports", daemon=True)
    _warming.start()


CANCEL_TIP = "stop the running job; nothing it would still deliver is shown"

#: the progress bar shows at most one new value per this many ms. Each value it shows is
#: a synchronous repaint (QProgressBar.setValue repaints at once when its text changes),
#: 25-35 ms for the window with the 3D canvas under software OpenGL; progress signals
#: queued while the GUI was busy were painted back to back, one event-loop gap of
#: several repaints. Coalesced, the bar shows the newest step at most 7 times a second.
PROGRESS_INTERVAL_MS = 150


class JobPanel:
    """Mixin of panels that run one job at a time. The panel provides ``worker``,
    ``progress`` (a ProgressBar), ``cancel`` (a button) and ``start_buttons()``
    (the widgets disabled while the job runs)."""

    worker = None

    def stop_on_close(self) -> None:
        """Cancel the running job, and a model still loading in the panel's
        ``models`` box, when the panel is closed (with the viewer, say); nothing they
        still deliver reaches the deleted widgets."""
        holder, models = self, getattr(self, "models", None)

        def close(*_):
            abandon(holder.worker)
            if models is not None:
                abandon(models.worker)

        self.native.destroyed.connect(close)

    def wait_for_model(self, button, what: str = "a model") -> None:
        """``button`` stays off, saying why, until the panel's model box has loaded a
        model (it used to answer "Load a model first." while enabled)."""
        tip = button.tooltip
        button.enabled = False
        button.tooltip = f"load {what} first (Load model, above)"

        def ready(_model):
            button.tooltip = tip
            button.enabled = self.worker is None

        self.models.loaded.connect(ready)

    def start_buttons(self) -> list:
        raise NotImplementedError

    def stop(self):
        """Cancel: the job stops at its next yield and delivers no result."""
        if self.worker is not None:
            self.worker.quit()

    def launch(self, job, what: str, on_result) -> object:
        """Run a core job (a generator) in a worker: buttons disabled, progress
        shown, Cancel enabled until it ends."""
        self._busy(True)
        self.worker = start_job(
            lambda: (yield from job),
            what=what,
            on_result=on_result,
            progress=False,
            on_finished=self._on_finished,
            on_progress=self._on_progress,
        )
        return self.worker

    def _busy(self, busy: bool):
        for w in self.start_buttons():
            w.enabled = not busy
        self.cancel.enabled = busy
        self.progress.native.setFormat("%p%" if busy else "ready")
        if not busy:
            self.progress.value = 0

    _progress_pending = None  #: the newest step not shown yet
    _progress_ticking = False  #: a coalescing tick is scheduled

    def _on_progress(self, p):
        """Show a step at once when no tick is scheduled, else keep it (the newest
        wins) for the next tick (:data:`PROGRESS_INTERVAL_MS`)."""
        if self._progress_ticking:
            self._progress_pending = p
            return
        self._show_progress(p)
        self._schedule_progress_tick()

    def _schedule_progress_tick(self):
        from qtpy.QtCore import QTimer

        self._progress_ticking = True
        QTimer.singleShot(PROGRESS_INTERVAL_MS, self._progress_tick)

    def _progress_tick(self):
        p, self._progress_pending = self._progress_pending, None
        if p is None or self.worker is None:  # nothing new (or the job ended): stop
            self._progress_ticking = False
            return
        self._show_progress(p)
        self._schedule_progress_tick()

    def _show_progress(self, p):
        # value and tooltip only: a changing label would relayout the dock, and
        # every relayout repaints the 3D canvas (costly under software OpenGL)
        self.progress.max = p.total
        self.progress.value = p.step
        self.progress.tooltip = p.message

    def _on_finished(self):
        self.worker = None
        self._progress_pending = None
        self._busy(False)
