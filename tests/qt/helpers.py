"""Helpers of the napari tests."""

PLUGIN = "napari-genmed"


def wait_job(qtbot, owner, timeout=120_000):
    """Wait until a panel's job is over (its ``finished`` handler clears ``worker``) and
    the result layers it queued are on screen."""
    from napari_genmed._qt.results import settled

    qtbot.waitUntil(lambda: owner.worker is None, timeout=timeout)
    viewer = getattr(owner, "viewer", None)
    if viewer is not None:
        qtbot.waitUntil(lambda: settled(viewer), timeout=timeout)


def panel_with_weights(viewer, qtbot, name: str, weights):
    """The sample head and panel ``name`` with the model of file ``weights`` loaded."""
    from napari_genmed._qt.model_box import FROM_FILE

    viewer.open_sample(PLUGIN, "fetal_head")
    _, panel = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    panel = getattr(panel, "__wrapped__", panel)
    panel.models.choice.value = FROM_FILE
    panel.models.file.value = str(weights)
    panel.models.start_loading()
    wait_job(qtbot, panel.models)
    assert panel.models.model is not None
    return panel


def reconstruction_panel(viewer, qtbot, weights, assign: bool = True):
    """The sample head and the reconstruction panel with ``weights`` loaded; with
    ``assign``, the user's choices: the sample's planes as the views (by name) and its
    skull as the ground truth."""
    panel = panel_with_weights(viewer, qtbot, "Skull reconstruction", weights)
    if assign:
        panel.views.assign_by_name()
        panel.truth.value = "skull"
    return panel


def canvas_pixel(viewer, world):
    """The canvas pixel (x, y) where world point ``world`` (all world axes) shows."""
    import numpy as np

    canvas = viewer.window._qt_viewer.canvas
    displayed = list(viewer.dims.displayed)
    scene = np.asarray(world, float)[displayed][
        ::-1
    ]  # vispy's scene axes are the displayed world axes, reversed
    px = canvas.view.scene.transform.map(np.r_[scene, np.zeros(3 - len(scene)), 1.0])
    return px[:2] / px[3]


def click_world(viewer, world, qtbot=None):
    """Click (press and release, no drag) on the canvas pixel where world point
    ``world`` (all world axes) shows, through vispy's mouse events as a user's click
    would arrive: napari turns the pixel back into a world position and view ray."""
    from qtpy.QtWidgets import QApplication

    canvas = viewer.window._qt_viewer.canvas
    px = canvas_pixel(viewer, world)
    canvas._scene_canvas.events.mouse_press(pos=px, button=1, modifiers=())
    canvas._scene_canvas.events.mouse_release(pos=px, button=1, modifiers=())
    QApplication.processEvents()
    return px


def raise_dock(panel) -> None:
    """Bring a docked panel's tab to the front (for screenshots)."""
    from qtpy.QtWidgets import QDockWidget

    dock = getattr(panel, "native", panel)
    while dock is not None and not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    dock.raise_()


def scroll_to(widget) -> None:
    """Scroll the dock's scroll area (if any) until ``widget`` is in view."""
    from qtpy.QtWidgets import QScrollArea

    area = widget.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    assert area is not None, "the widget is not inside a scroll area"
    area.ensureWidgetVisible(widget)


def shoot(viewer, qtbot, path) -> None:
    """Save the window as ``path`` in the display it is in and as ``*_2d.png`` in
    napari's 2D view (the product turns to 3D for posed views; the 2D shot shows what a
    user who switches back sees), then restore the display."""
    from pathlib import Path

    path = Path(path)
    qtbot.wait(200)
    viewer.screenshot(str(path), canvas_only=False)
    ndisplay = viewer.dims.ndisplay
    viewer.dims.ndisplay = 2
    qtbot.wait(200)
    viewer.screenshot(str(path.with_name(f"{path.stem}_2d.png")), canvas_only=False)
    viewer.dims.ndisplay = ndisplay
    qtbot.wait(100)
