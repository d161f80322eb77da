"""npe2 sample data: "Synthetic fetal head" (skull and labels, three planes at their
poses; the true skull surface hidden). Made on the fly from the same (GA, seed) as the
files in ``sample_data/``."""

from __future__ import annotations


def sample_head():
    from .core.data.sample import sample_scan
    from .layer_data import phantom_layers

    scan = sample_scan()
    # the true skull's surface starts hidden: a reconstruction (orange) is not drawn
    # under it; its eye in the layer list shows it for a comparison
    layers = phantom_layers(scan.phantom, scan.views, show_surface=False)
    views = [kwargs for _, kwargs, _ in layers if "pose" in (kwargs.get("metadata") or {})]
    if _in_3d(len(views)):  # made hidden, shown once napari has them in 3D
        for kwargs in views:
            kwargs["visible"] = False
            kwargs["metadata"] = dict(kwargs["metadata"], **{REVEAL: True})
    return layers


REVEAL = "genmed_reveal"  #: metadata flag: show this layer once it is in the viewer


def _in_3d(n_views: int) -> bool:
    """The sample's views are posed planes: the current viewer turns to 3D (with a
    notice) before napari adds them, and they are shown once added (a layer made
    visible slices in 2D as it is made, and an oblique one warns). False without a
    viewer (the data alone)."""
    try:
        import napari

        viewer = napari.current_viewer()
    except ImportError:
        return False
    if viewer is None:
        return False
    from ._qt.layers import show_posed_in_3d

    show_posed_in_3d(viewer)
    left = [n_views]

    def reveal(event):
        layer = event.value
        if (layer.metadata or {}).pop(REVEAL, False):
            layer.visible = True
            left[0] -= 1
            if left[0] <= 0:
                viewer.layers.events.inserted.disconnect(reveal)

    viewer.layers.events.inserted.connect(reveal)
    return True


def toy_flow():
    """The seed material's 2D flow x = (u1, u2 - u1^2 - 1): base, true and learnt
    densities (the bundled RealNVP) as three images side by side."""
    from .core.flows.toyflow import density_images
    from .core.io.checkpoint import load_model
    from .layer_data import toy_flow_layers

    return toy_flow_layers(density_images(load_model("toy-flow", "cpu")))
