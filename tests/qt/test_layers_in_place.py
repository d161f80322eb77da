"""Result layers updated in place: what changed is set, what did not is left alone (a
transform set again makes napari recompute the viewer's dims), and a colormap the user
chose since is kept until the product gives another."""

import numpy as np
import pytest

from napari_genmed._qt.layers import set_layer


def test_in_place_updates_set_only_what_changed(viewer):
    kwargs = {"name": "p", "scale": (2.0, 2.0, 2.0), "colormap": "magma", "contrast_limits": (0, 1)}
    data = np.zeros((8, 8, 8), np.float32)
    layer = set_layer(viewer, data, kwargs, "image", "me")
    events = []
    layer.events.scale.connect(lambda e: events.append("scale"))
    layer.events.colormap.connect(lambda e: events.append("colormap"))
    layer.events.contrast_limits.connect(lambda e: events.append("contrast_limits"))
    again = set_layer(viewer, data + 1, kwargs, "image", "me")
    assert again is layer and events == [] and layer.data.max() == 1  # data replaced
    set_layer(
        viewer, data, dict(kwargs, scale=(3.0, 3.0, 3.0), contrast_limits=(0, 2)), "image", "me"
    )
    assert "scale" in events and "contrast_limits" in events
    assert tuple(layer.scale) == (3.0, 3.0, 3.0) and tuple(layer.contrast_limits) == (0, 2)
    # the user picks another colormap: kept while the product's spec is the same ...
    layer.colormap = "viridis"
    set_layer(
        viewer, data, dict(kwargs, scale=(3.0, 3.0, 3.0), contrast_limits=(0, 2)), "image", "me"
    )
    assert layer.colormap.name == "viridis"
    # ... and replaced when the product gives a new one
    set_layer(viewer, data, dict(kwargs, colormap="gray"), "image", "me")
    assert layer.colormap.name == "gray"


@pytest.mark.parametrize("proxied", [False, True])
def test_a_batch_leaves_its_shown_layer_active_not_a_hidden_one(viewer, proxied):
    """The layer controls follow the active layer: after a batch of product layers
    they show the layer the user sees, not a hidden std or label map napari added
    last; a batch of in-place updates leaves the user's choice alone. Panels hold
    napari's proxy of the viewer, which hands out a new proxy per access."""
    from napari.utils._proxies import PublicOnlyProxy

    from napari_genmed._qt.layers import add_layers

    real, viewer = viewer, PublicOnlyProxy(viewer) if proxied else viewer
    image = np.zeros((8, 8), np.float32)
    batch = [
        (image, {"name": "generated"}, "image"),
        (image, {"name": "generated std", "visible": False}, "image"),
        (image.astype(np.uint8), {"name": "generated labels", "visible": False}, "labels"),
    ]
    add_layers(viewer, batch, "me")
    assert real.layers.selection.active.name == "generated"
    real.add_image(image, name="the user's")
    real.layers.selection.active = real.layers["generated labels"]  # the user's pick
    add_layers(viewer, batch, "me")  # all in place: nothing added
    assert real.layers.selection.active.name == "generated labels"
    assert "the user's" in real.layers
