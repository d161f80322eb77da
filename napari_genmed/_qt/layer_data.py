"""Core results as napari layer data, and replacing result layers in place.

Plain functions with no Qt import: the npe2 sample-data contribution uses them
too. A 2D view becomes a ``(1, H, W)`` image whose 4x4 affine
(:meth:`~napari_genmed.core.geometry.Pose.affine`) places it at its pose in the
volume's millimetre space, so it shows in 3D through the head.
"""

from __future__ import annotations

import numpy as np

from ..core import labels as L

LayerData = tuple  # (data, kwargs, layer_type)

#: gray, with black (the background outside the fan) transparent so that in 3D the
#: skull shows around and through the slices
VIEW_COLORMAP = {
    "name": "gray (black transparent)",
    "colors": [[0.0, 0.0, 0.0, 0.0], [0.03, 0.03, 0.03, 1.0], [1.0, 1.0, 1.0, 1.0]],
    "controls": [0.0, 0.02, 1.0],
}
SKULL_SURFACE_COLORMAP = {"name": "bone surface", "colors": [[0.93, 0.87, 0.75, 1.0], [0.93, 0.87, 0.75, 1.0]]}
SKULL_COLORS = {None: (0.0, 0.0, 0.0, 0.0), 0: (0.0, 0.0, 0.0, 0.0), 1: (0.93, 0.87, 0.75, 1.0)}  #: bone


def view_layer(view, name: str | None = None) -> LayerData:
    kwargs = {
        "name": name or view.name,
        "affine": view.pose.affine(),
        "colormap": VIEW_COLORMAP,
        "contrast_limits": (0.0, 1.0),
        "rendering": "translucent",
        "blending": "translucent",
        "metadata": {"genmed_view": view.name, "pose": view.pose.to_dict(), "seed": view.seed, "pixel_spacing_mm": view.pose.spacing_mm},
    }
    return (np.asarray(view.image, np.float32)[None], kwargs, "image")


def phantom_layers(phantom, views: dict | None = None, prefix: str = "") -> list[LayerData]:
    """Layers of a phantom: its skull and all labels (2 mm scale), then its views."""
    scale = (phantom.spacing_mm,) * 3
    meta = {"genmed_phantom": phantom.metadata()}
    layers = [
        (phantom.labels, {"name": f"{prefix}head labels", "scale": scale, "metadata": meta, "opacity": 0.5, "visible": False}, "labels"),
        (phantom.skull.astype(np.uint8), {"name": f"{prefix}skull", "scale": scale, "metadata": meta, "colormap": SKULL_COLORS, "visible": False}, "labels"),
        surface_layer(phantom.skull, phantom.spacing_mm, f"{prefix}skull surface"),
    ]
    for view in (views or {}).values():
        layers.append(view_layer(view, f"{prefix}{view.name}"))
    return layers


def surface_layer(mask: np.ndarray, spacing_mm: float, name: str, opacity: float = 0.6) -> LayerData:
    """A smooth surface of a binary volume (marching cubes on a lightly smoothed
    mask), in the volume's millimetre space."""
    from scipy import ndimage
    from skimage.measure import marching_cubes

    smooth = ndimage.gaussian_filter(np.asarray(mask, np.float32), 0.7)
    verts, faces, _, _ = marching_cubes(np.pad(smooth, 1), 0.5, spacing=(spacing_mm,) * 3)
    verts -= spacing_mm  # undo the padding
    values = np.ones(len(verts), np.float32)
    kwargs = {"name": name, "colormap": SKULL_SURFACE_COLORMAP, "opacity": opacity, "shading": "smooth", "blending": "translucent"}
    return ((verts.astype(np.float32), faces.astype(np.int32), values), kwargs, "surface")


def label_names() -> dict[int, str]:
    return dict(L.NAMES)


def set_layer(viewer, data, kwargs: dict, layer_type: str):
    """Add a layer, or update the existing layer of that name and type in place
    (results replace earlier results instead of piling up)."""
    name = kwargs.get("name")
    if name in viewer.layers:
        layer = viewer.layers[name]
        same_kind = layer._type_string == layer_type and (layer_type == "surface" or layer.data.ndim == np.ndim(data))
        if same_kind:
            for key in ("affine", "scale", "metadata"):
                if key in kwargs:
                    setattr(layer, key, kwargs[key])
            layer.data = data
            return layer
        viewer.layers.remove(layer)
    return getattr(viewer, f"add_{layer_type}")(data, **kwargs)
