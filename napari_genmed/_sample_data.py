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
    return phantom_layers(scan.phantom, scan.views, show_surface=False)


def toy_flow():
    """The seed material's 2D flow x = (u1, u2 - u1^2 - 1): base, true and learnt
    densities (the bundled RealNVP) as three images side by side."""
    from .core.flows.toyflow import density_images
    from .core.io.checkpoint import load_model
    from .layer_data import toy_flow_layers

    return toy_flow_layers(density_images(load_model("toy-flow", "cpu")))
