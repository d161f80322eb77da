"""``make demo``: napari with the plugin's panels docked and the sample head in 3D.

    python -m napari_genmed.demo [--screenshot FILE] [--quit]

``--screenshot`` saves the window once it is drawn; ``--quit`` closes it after (for
checking the demo under a virtual display).
"""

from __future__ import annotations

import argparse

PANELS = (
    "Skull reconstruction",
    "Latent explorer",
    "Missing views",
    "Flow density",
    "Plane picker",
    "Fetal head phantom",
)  #: dock widgets opened by the demo


def open_demo(viewer, load_model: bool = True):
    """Open the sample head, dock the panels (the sample's planes are assigned to
    the views), start loading the default model and turn to a 3D view: one click on
    Reconstruct remains."""
    viewer.open_sample("napari-genmed", "fetal_head")
    widgets, docks = {}, {}
    for k, panel in enumerate(
        PANELS
    ):  # the reconstruction panel first: the latent explorer binds to it
        docks[panel], widgets[panel] = viewer.window.add_plugin_dock_widget(
            "napari-genmed", panel, tabify=k > 0
        )
    from qtpy.QtCore import QTimer

    # the demo's own choices, made on screen: the sample's planes as the views and its
    # skull as the ground truth (a panel never assigns layers by itself)
    widgets["Skull reconstruction"].views.assign_by_name()
    widgets["Skull reconstruction"].state.set_truth("skull")
    widgets["Missing views"].truth.value = "head labels"
    front = docks[PANELS[0]]
    # and in front: now, and again once Qt has built the tab bar (a raise before that is lost)
    front.raise_()
    QTimer.singleShot(0, front.raise_)
    if load_model:
        widgets["Skull reconstruction"].models.start_loading()
        widgets["Missing views"].models.start_loading()
        widgets["Flow density"].models.start_loading()
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.scene.camera.angles = (150.0, -30.0, 30.0)  # an oblique look at the vault and the planes
    return widgets


def main(argv=None):
    import napari
    from qtpy.QtCore import QTimer

    p = argparse.ArgumentParser(prog="napari_genmed.demo")
    p.add_argument("--screenshot", default=None)
    p.add_argument("--quit", action="store_true")
    p.add_argument(
        "--reconstruct", action="store_true", help="press Reconstruct once the model is loaded"
    )
    args = p.parse_args(argv)
    viewer = napari.Viewer(title="napari-genmed demo")
    viewer.window._qt_window.resize(1600, 1000)
    widgets = open_demo(viewer)
    panel = widgets["Skull reconstruction"]
    delay = 1500

    if args.reconstruct:
        delay = 6000
        panel.models.loaded.connect(lambda model: panel.run())

    def finish():
        if args.screenshot:
            viewer.screenshot(args.screenshot, canvas_only=False)
        if args.quit:
            viewer.close()

    if args.screenshot or args.quit:
        QTimer.singleShot(delay, finish)
    napari.run()


if __name__ == "__main__":
    main()
