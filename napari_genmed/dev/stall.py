"""How long the GUI's event loop stalls while a reconstruction runs.

A 5 ms QTimer ticks on the GUI thread while the Skull reconstruction panel's job
runs in its worker; the longest gap between ticks, up to the moment the job
delivers its result, is the longest time the window could not respond. Before the
job the viewer is left to settle (pending paints of panels just opened are not the
job's). Used by the demo test and by ``genmed bench`` (:func:`main`, in a process of
its own with a display).
"""

from __future__ import annotations

import json
import time

import numpy as np

TICK_MS = 5


def pump(until=None, timeout_s: float = 300.0, for_s: float | None = None) -> None:
    """Run the Qt event loop until ``until()`` is true (or for ``for_s`` seconds)."""
    from qtpy.QtWidgets import QApplication

    app, t0 = QApplication.instance(), time.perf_counter()
    while True:
        elapsed = time.perf_counter() - t0
        if for_s is not None and elapsed >= for_s:
            return
        if until is not None and until():
            return
        if elapsed > timeout_s:
            raise TimeoutError(f"still waiting after {timeout_s:.0f} s")
        app.processEvents()
        time.sleep(0.001)


def reconstruction_stall(
    panel, samples: int = 64, settle_s: float = 1.0, timeout_s: float = 300.0
) -> dict:
    """Run one reconstruction with ``samples`` samples in ``panel`` (views and model
    ready) and return ``{max_ms, p99_ms, ticks, seconds, samples}`` of the event loop's
    gaps while it ran, and ``show_max_ms``: the longest gap while its result went on
    screen (layers updated or added, and the first paint)."""
    from qtpy.QtCore import Qt, QTimer

    pump(for_s=settle_s)
    gaps: list[float] = []
    state = {"last": time.perf_counter(), "running": True}

    def tick():
        now = time.perf_counter()
        if state["running"]:
            gaps.append(now - state["last"])
        state["last"] = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    panel.samples.value = int(samples)
    timer.start()
    t0 = state["last"] = time.perf_counter()
    if panel.run() is None:
        timer.stop()
        raise RuntimeError("the reconstruction did not start (no model or views?)")
    panel.worker.returned.connect(
        lambda _: state.__setitem__("running", False), type=Qt.DirectConnection
    )
    pump(lambda: panel.worker is None, timeout_s)
    # then the result goes on screen (layers updated in place or added one per turn)
    from .._qt.results import blocks, settled

    showing: list[float] = []
    state.update(running=False, last=time.perf_counter())
    timer.timeout.disconnect(tick)

    def tick_showing():
        now = time.perf_counter()
        showing.append(now - state["last"])
        state["last"] = now

    timer.timeout.connect(tick_showing)
    pump(lambda: settled(panel.viewer), timeout_s)
    pump(for_s=0.05)  # and its first paint
    timer.stop()
    g = np.asarray(gaps) * 1000.0
    shown = np.asarray(showing or [0.0]) * 1000.0
    return {
        "max_ms": float(g.max()),
        "p99_ms": float(np.percentile(g, 99)),
        "show_max_ms": float(shown.max()),
        "show_blocks_ms": [round(b, 1) for b in blocks(panel.viewer)],
        "ticks": int(g.size),
        "seconds": time.perf_counter() - t0,
        "samples": int(samples),
    }


def main(runs: int = 3, samples: int = 64) -> None:
    """Open the demo (shown, 3D), wait for every panel's start-up work, then measure
    ``runs`` reconstructions; prints one JSON line."""
    import napari

    from ..demo import open_demo

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1600, 1000)
    widgets = {k: getattr(w, "__wrapped__", w) for k, w in open_demo(viewer).items()}
    panel = widgets["Skull reconstruction"]

    def started():
        busy = [getattr(w, "worker", None) for w in widgets.values()] + [
            getattr(getattr(w, "models", None), "worker", None) for w in widgets.values()
        ]
        return panel.models.model is not None and all(b is None for b in busy)

    pump(started)
    results = [reconstruction_stall(panel, samples) for _ in range(runs)]
    out = {"runs": results, "display_3d": viewer.dims.ndisplay == 3, "paint_ms": paints(viewer)}
    out["slider_ms"] = slider_steps(viewer, widgets["Latent explorer"])
    print(json.dumps(out))
    viewer.close()


def slider_steps(viewer, latent, n: int = 12, timeout_s: float = 120.0) -> list[float]:
    """``n`` moves of the Latent explorer's top slider (+-1.5, alternating), each timed
    from the move until the canvas has drawn its result (ms): decoded, the layers
    updated, and the next paint after that done."""
    pump(lambda: latent.latent is not None and latent.idle, timeout_s)
    pump(for_s=1.0)
    scene = _scene(viewer)
    draws: list[float] = []

    def drawn(_event):
        draws.append(time.perf_counter())

    scene.events.draw.connect(drawn)
    slider, times = latent.sliders.sliders[0], []
    for k in range(n):
        t0 = time.perf_counter()
        slider.value = 1.5 if k % 2 == 0 else -1.5
        pump(lambda: latent.idle, timeout_s)
        shown = time.perf_counter()
        pump(lambda shown=shown: bool(draws) and draws[-1] > shown, 10.0)
        times.append(1000.0 * (draws[-1] - t0))
        pump(for_s=0.3)
    scene.events.draw.disconnect(drawn)
    return times


def paints(viewer, n: int = 7) -> list[float]:
    """``n`` off-screen renders of ``viewer``'s scene (ms each): what every 3D paint
    draws, after a slider step or a new result (a first render, which may compile
    shaders, is not counted)."""
    from .timing import time_ms

    return time_ms(_scene(viewer).render, n).tolist()


def _scene(viewer):
    """napari's vispy canvas (private; measurements only)."""
    return viewer.window._qt_viewer.canvas._scene_canvas


if __name__ == "__main__":
    main()
