"""``make demo``: napari with the plugin's panels docked and the sample head in 3D.

    python -m napari_genmed.demo [--screenshot FILE] [--quit]

``--screenshot`` saves the window once it is drawn; ``--quit`` closes it after (for
checking the demo under a virtual display).
"""

from __future__ import annotations

import argparse

PANELS = ("Fetal head phantom",)  #: dock widgets opened by the demo


def open_demo(viewer):
    """Dock the panels, open the sample head and turn to a 3D view."""
    for panel in PANELS:
        viewer.window.add_plugin_dock_widget("napari-genmed", panel)
    viewer.open_sample("napari-genmed", "fetal_head")
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.camera.angles = (150.0, -30.0, 30.0)  # an oblique look at the vault and the planes
    return viewer


def main(argv=None):
    import napari
    from qtpy.QtCore import QTimer

    p = argparse.ArgumentParser(prog="napari_genmed.demo")
    p.add_argument("--screenshot", default=None)
    p.add_argument("--quit", action="store_true")
    args = p.parse_args(argv)
    viewer = napari.Viewer(title="napari-genmed demo")
    viewer.window._qt_window.resize(1500, 950)
    open_demo(viewer)

    def finish():
        if args.screenshot:
            viewer.screenshot(args.screenshot, canvas_only=False)
        if args.quit:
            viewer.close()

    if args.screenshot or args.quit:
        QTimer.singleShot(1500, finish)
    napari.run()


if __name__ == "__main__":
    main()
