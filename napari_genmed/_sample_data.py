"""npe2 sample data: "Synthetic fetal head" (skull and labels, three planes at their
poses). Made on the fly from the same (GA, seed) as the files in ``sample_data/``."""

from __future__ import annotations


def sample_head():
    from .core.data.sample import sample_scan
    from .layer_data import phantom_layers

    scan = sample_scan()
    return phantom_layers(scan.phantom, scan.views)


def toy_flow():
    """The seed material's 2D flow x = (u1, u2 - u1^2 - 1): base, true and learnt
    densities (the bundled RealNVP) as three images side by side."""
    from . import api
    from .core.flows.toyflow import density_images

    images = density_images(api.load_model("toy-flow", "cpu"))
    return [
        (
            images[key],
            {"name": f"toy flow: {title}", "translate": (0.0, 140.0 * k), "colormap": "magma"},
            "image",
        )
        for k, (key, title) in enumerate(
            (("base", "base N(0, I)"), ("true", "true banana"), ("learnt", "learnt by RealNVP"))
        )
    ]
