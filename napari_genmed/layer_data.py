"""Core results as napari layer data, and replacing result layers in place.

Plain functions with no Qt import: the npe2 sample-data contribution uses them
too. A 2D view becomes a ``(1, H, W)`` image whose 4x4 affine
(:meth:`~napari_genmed.core.sim.geometry.Pose.affine`) places it at its pose in the
volume's millimetre space, so it shows in 3D through the head.
"""

from __future__ import annotations

import numpy as np

LayerData = tuple  # (data, kwargs, layer_type)

#: gray, with black (the background outside the fan) transparent so that in 3D the
#: skull shows around and through the slices
VIEW_COLORMAP = {
    "name": "gray (black transparent)",
    "colors": [[0.0, 0.0, 0.0, 0.0], [0.03, 0.03, 0.03, 1.0], [1.0, 1.0, 1.0, 1.0]],
    "controls": [0.0, 0.02, 1.0],
}
SKULL_SURFACE_COLORMAP = {
    "name": "bone surface",
    "colors": [[0.93, 0.87, 0.75, 1.0], [0.93, 0.87, 0.75, 1.0]],
}
RECONSTRUCTION_COLORMAP = {
    "name": "reconstruction surface",
    "colors": [[1.0, 0.62, 0.25, 1.0], [1.0, 0.62, 0.25, 1.0]],
}
SKULL_COLORS = {
    None: (0.0, 0.0, 0.0, 0.0),
    0: (0.0, 0.0, 0.0, 0.0),
    1: (0.93, 0.87, 0.75, 1.0),
}  #: bone


def view_arrangement(pose) -> tuple[int, int, int]:
    """Data axes of a view layer: ``(normal axis, row axis, column axis)``.

    The slice is stored as a 3D array with a singleton axis, its axes placed on the
    world axes they are closest to, so the affine is near-diagonal: an exactly
    standard plane then shows as a line in a 2D viewer instead of a singular
    transform."""
    normal_axis = int(np.argmax(np.abs(pose.normal)))
    a, b = [k for k in range(3) if k != normal_axis]
    row = np.abs(np.asarray(pose.row_axis))
    return (normal_axis, a, b) if row[a] >= row[b] else (normal_axis, b, a)


def view_layer(view, name: str | None = None) -> LayerData:
    """A 2D view as an image layer placed at its pose (see :func:`view_arrangement`)."""
    pose = view.pose
    k, r, c = view_arrangement(pose)
    image = np.asarray(view.image, np.float32)
    data = np.moveaxis(image[None], (0, 1, 2), (k, r, c))
    s = pose.spacing_mm
    affine = np.eye(4)
    affine[:3, k] = pose.normal * s
    affine[:3, r] = np.asarray(pose.row_axis) * s
    affine[:3, c] = np.asarray(pose.col_axis) * s
    affine[:3, 3] = pose.points(0.0, 0.0)
    kwargs = {
        "name": name or view.name,
        "affine": affine,
        "colormap": VIEW_COLORMAP,
        "contrast_limits": (0.0, 1.0),
        "rendering": "translucent",
        "blending": "translucent",
        "metadata": {
            "genmed_view": view.name,
            "pose": pose.to_dict(),
            "seed": view.seed,
            "pixel_spacing_mm": s,
            "view_axes": [k, r, c],
        },
    }
    return (data, kwargs, "image")


def view_image(layer) -> np.ndarray:
    """The (H, W) image of a layer made by :func:`view_layer` (or any 2D layer)."""
    data = np.asarray(layer.data)
    axes = (layer.metadata or {}).get("view_axes")
    if axes is not None and data.ndim == 3:
        return np.moveaxis(data, tuple(axes), (0, 1, 2))[0]
    if data.ndim == 3 and data.shape[0] == 1:
        return data[0]
    return data


def view_index(layer, row: float, col: float) -> tuple:
    """The data index of pixel (row, col) of a view layer."""
    k, r, c = layer.metadata["view_axes"]
    idx = [0.0, 0.0, 0.0]
    idx[r], idx[c] = row, col
    return tuple(idx)


def phantom_layers(phantom, views: dict | None = None, prefix: str = "") -> list[LayerData]:
    """Layers of a phantom: its skull and all labels (2 mm scale), then its views."""
    scale = (phantom.spacing_mm,) * 3
    meta = {"genmed_phantom": phantom.metadata()}
    layers = [
        (
            phantom.labels,
            {
                "name": f"{prefix}head labels",
                "scale": scale,
                "metadata": meta,
                "opacity": 0.5,
                "visible": False,
            },
            "labels",
        ),
        (
            phantom.skull.astype(np.uint8),
            {
                "name": f"{prefix}skull",
                "scale": scale,
                "metadata": meta,
                "colormap": SKULL_COLORS,
                "visible": False,
            },
            "labels",
        ),
        surface_layer(phantom.skull, phantom.spacing_mm, f"{prefix}skull surface"),
    ]
    for view in (views or {}).values():
        layers.append(view_layer(view, f"{prefix}{view.name}"))
    return layers


def surface_layer(
    mask: np.ndarray, spacing_mm: float, name: str, opacity: float = 0.6, level: float = 0.5
) -> LayerData:
    """A smooth surface of a volume in the volume's millimetre space."""
    from .core.io.meshes import surface

    mesh = surface(mask, spacing_mm, level)
    if mesh is None:
        raise ValueError("the volume is empty: no surface")
    verts, faces = mesh
    values = np.ones(len(verts), np.float32)
    kwargs = {
        "name": name,
        "colormap": SKULL_SURFACE_COLORMAP,
        "opacity": opacity,
        "shading": "smooth",
        "blending": "translucent",
    }
    return ((verts, faces, values), kwargs, "surface")


def layer_kind(layer) -> str:
    """``"image"``, ``"labels"``, ``"surface"``, ... of a napari layer, from its public
    class (napari hands plugins proxies, on which private attributes are deprecated)."""
    return (
        layer.__class__.__name__.lower()
    )  # __class__, not type(): a proxy reports the wrapped class


def set_layer(viewer, data, kwargs: dict, layer_type: str):
    """Add a layer, or update the existing layer of that name and type in place
    (results replace earlier results instead of piling up)."""
    name = kwargs.get("name")
    if name in viewer.layers:
        layer = viewer.layers[name]
        same_kind = layer_kind(layer) == layer_type and (
            layer_type == "surface" or layer.data.ndim == np.ndim(data)
        )
        if same_kind:
            for key in ("affine", "scale", "translate", "metadata", "contrast_limits"):
                if key in kwargs:
                    setattr(layer, key, kwargs[key])
            layer.data = data
            return layer
        viewer.layers.remove(layer)
    return getattr(viewer, f"add_{layer_type}")(data, **kwargs)
