"""The window at 1600 x 1000 with every panel open from the Plugins menu: the panels
are tabs of one narrow column, the window never grows and the canvas keeps 60% of its
width, before and after results fill the panels."""

import numpy as np

from napari_genmed._qt.docks import TAB_TITLES
from napari_genmed.demo import PANELS

from .helpers import PLUGIN, raise_dock, shoot
from .helpers import wait_job as _wait

SCREEN = (1600, 1000)


def _sizes(viewer, qtbot):
    qtbot.wait(50)  # the panels join the tabs on the next turn of the event loop
    window = viewer.window._qt_window
    canvas = viewer.window._qt_viewer.canvas.native
    return window.width(), window.height(), canvas.width()


def _nothing_clipped(panel):
    """The panel's content fits its scroll area's width (it scrolls only vertically)."""
    root = panel.root_native_widget
    return root.widget() is panel.native and panel.native.width() <= root.viewport().width()


def test_every_panel_opens_as_a_tab_and_the_window_fits(viewer, qtbot, tiny_weights, artifacts):
    from qtpy.QtWidgets import QDockWidget

    viewer.window._qt_window.resize(*SCREEN)
    viewer.open_sample(PLUGIN, "fetal_head")
    panels = {}
    for name in PANELS:  # as the Plugins menu docks them: no tabify asked for
        _, panels[name] = viewer.window.add_plugin_dock_widget(PLUGIN, name)
        width, height, canvas = _sizes(viewer, qtbot)
        assert height <= SCREEN[1] and width <= SCREEN[0], (name, width, height)
        assert canvas >= 0.6 * width, (name, canvas, width)
    window = viewer.window._qt_window
    docks = [d for d in window.findChildren(QDockWidget) if d.windowTitle() in TAB_TITLES.values()]
    assert len(docks) == len(PANELS)
    assert len(window.tabifiedDockWidgets(docks[0])) == len(PANELS) - 1  # one tab group
    # results fill the panels: a reconstruction's readout, the views' previews
    recon = getattr(panels["Skull reconstruction"], "__wrapped__", panels["Skull reconstruction"])
    from napari_genmed._qt.model_box import FROM_FILE

    recon.models.choice.value = FROM_FILE
    recon.models.file.value = str(tiny_weights)
    recon.models.start_loading()
    _wait(qtbot, recon.models)
    recon.views.assign_by_name()
    recon.truth.value = "skull"
    recon.run()
    _wait(qtbot, recon)
    assert "BPD" in recon.readout.value
    from napari_genmed._qt.view_preview import to_pixmap

    views = panels["Missing views"]
    views.preview.native.setPixmap(to_pixmap([np.zeros((128, 128))] * 4))
    views.titles.value = "generated  |  truth (no speckle)\n|difference|  |  std over samples"
    for name, panel in panels.items():
        raise_dock(panel)
        width, height, canvas = _sizes(viewer, qtbot)
        assert height <= SCREEN[1] and canvas >= 0.6 * width, (name, width, height, canvas)
        panel = getattr(panel, "__wrapped__", panel)
        assert _nothing_clipped(panel), (
            name,
            panel.native.width(),
            panel.native.minimumSizeHint().width(),
            panel.root_native_widget.viewport().width(),
        )
        shoot(viewer, qtbot, artifacts / f"layout_{name.split()[0].lower()}.png")


def test_every_control_says_what_it_does(viewer):
    """Every button, box and slider of every panel has a tooltip."""
    from magicgui.widgets import Container, Label, ProgressBar, PushButton
    from magicgui.widgets.bases import ValueWidget

    def silent(container, where):
        for w in container:
            if isinstance(w, Container):
                yield from silent(w, where)
            elif (
                isinstance(w, (ValueWidget, PushButton))
                and not isinstance(w, (Label, ProgressBar))
                and not w.tooltip
            ):
                yield f"{where}: {w.label or getattr(w, 'text', '')}"

    missing = []
    for name in PANELS:
        _, panel = viewer.window.add_plugin_dock_widget(PLUGIN, name)
        missing += list(silent(getattr(panel, "__wrapped__", panel), name))
    assert not missing, missing
