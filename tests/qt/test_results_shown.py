"""How a reconstruction's layers go on screen (:mod:`napari_genmed._qt.results`), on a
made-up result: a sphere's probability, its surface and a spread that colours it."""

from types import SimpleNamespace

import numpy as np
from qtpy.QtCore import QTimer
from skimage.measure import marching_cubes

from napari_genmed._qt.results import settled, show_reconstruction


def _result(coloured: bool):
    z, y, x = np.mgrid[:16, :16, :16] - 7.5
    prob = np.clip(6.0 - np.sqrt(z * z + y * y + x * x), 0, 1).astype(np.float32)
    verts, faces, *_ = marching_cubes(prob, 0.5)
    spread = (np.abs(x) / 8.0).astype(np.float32) if coloured else None
    return SimpleNamespace(
        probability=prob,
        mask=lambda: prob > 0.5,
        spacing_mm=8.0,
        surface=(verts * 8.0, faces),
        spread_mm=spread,
        uncertainty=spread,
        model_kind="hirec-cvae",
        views_used=["axial"],
        threshold=0.5,
    )


def test_a_new_surface_gets_its_colour_bar_a_turn_later(viewer, qtbot):
    """The surface's first paint and its colour bar's (glyphs, shaders: about 200 ms
    under software GL) are two freezes one after the other, not one long one."""
    events = []
    ticker = QTimer()
    ticker.setInterval(1)
    ticker.timeout.connect(lambda: events.append("tick"))

    def inserted(event):
        layer = event.value
        if layer.name == "reconstructed surface":
            events.append(f"surface added, bar {layer.colorbar.visible}")
            layer.colorbar.events.visible.connect(
                lambda e: events.append(f"bar {layer.colorbar.visible}")
            )

    viewer.layers.events.inserted.connect(inserted)
    ticker.start()
    assert show_reconstruction(viewer, _result(coloured=True))
    qtbot.waitUntil(lambda: settled(viewer), timeout=30_000)
    ticker.stop()
    surface = viewer.layers["reconstructed surface"]
    assert surface.colorbar.visible
    added = events.index("surface added, bar False")
    shown = events.index("bar True")
    assert added < shown and "tick" in events[added:shown], events
    # an orange surface (one sample) updated in place drops its bar at once
    assert show_reconstruction(viewer, _result(coloured=False))
    assert not surface.colorbar.visible and settled(viewer)


def test_an_orange_surface_never_shows_a_colour_bar(viewer, qtbot):
    assert show_reconstruction(viewer, _result(coloured=False))
    qtbot.waitUntil(lambda: settled(viewer), timeout=30_000)
    assert not viewer.layers["reconstructed surface"].colorbar.visible
