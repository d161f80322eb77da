"""Reading and writing the viewer's layers: what the panels take from layers and how
their results replace earlier ones.

Every layer a panel writes carries its maker in its metadata (:data:`MADE_BY`: the
panel's role, e.g. ``"reconstruction"``). A result replaces in place only a layer
the same maker wrote earlier; a layer the user opened (or another role wrote) is
never replaced nor removed: the result takes the next free name instead,
``"axial (2)"`` (:func:`own_name`, :func:`set_layer`, :func:`remove_own`). A view
layer's 2D image is read back whatever axis it was stored on (:func:`view_image`);
a layer's pixel spacing comes from its metadata or its scale (:func:`layer_spacing`).
A cine layer (``(frames, 1, H, W)``, as the reader opens one) is a view layer too: a
slot takes the frame the user set for it (:attr:`~..state.ViewerState.frame`), and a
model sees it cleaned (:func:`model_image`: drawn-on pixels filled, cropped to the
calibrated ultrasound region).
"""

from __future__ import annotations

import weakref

import numpy as np

NONE = "(none)"  #: the choice of no layer in every combo box


def layer_kind(layer) -> str:
    """``"image"``, ``"labels"``, ``"surface"``, ... of a napari layer, from its public
    class (napari hands plugins proxies, on which private attributes are deprecated)."""
    return (
        layer.__class__.__name__.lower()
    )  # __class__, not type(): a proxy reports the wrapped class


def is_view_layer(layer) -> bool:
    """A 2D image, a slice placed in 3D (one singleton axis), an RGB frame or a cine."""
    if layer_kind(layer) != "image":
        return False
    shape = np.shape(layer.data)
    if getattr(layer, "rgb", False):
        return len(shape) == 3
    return len(shape) == 2 or (len(shape) == 3 and min(shape) == 1) or is_cine(layer)


def is_cine(layer) -> bool:
    """A ``(frames, 1, H, W)`` image layer: a cine, one frame a plane."""
    shape = np.shape(layer.data)
    return layer_kind(layer) == "image" and len(shape) == 4 and shape[1] == 1


def n_frames(layer) -> int:
    """How many frames a view layer holds (1 unless a cine)."""
    return int(np.shape(layer.data)[0]) if is_cine(layer) else 1


def view_image(layer, frame: int = 0) -> np.ndarray:
    """The (H, W) image of a layer made by :func:`view_layer` (or any 2D layer), of a
    cine its frame ``frame``."""
    data = layer.data
    if np.ndim(data) == 4:
        if not 0 <= int(frame) < np.shape(data)[0]:
            raise ValueError(f"{layer.name!r} has {np.shape(data)[0]} frames; no frame {frame}")
        return np.asarray(data[int(frame), 0])
    data = np.asarray(data)
    axes = (layer.metadata or {}).get("view_axes")
    if axes is not None and data.ndim == 3:
        return np.moveaxis(data, tuple(axes), (0, 1, 2))[0]
    if data.ndim == 3 and data.shape[0] == 1:
        return data[0]
    return data


def layer_image(layer, frame: int = 0) -> np.ndarray:
    """The 2D image of a view layer, an RGB frame as it is (colour is made gray later)."""
    if getattr(layer, "rgb", False):
        return np.asarray(layer.data)
    return view_image(layer, frame)


def model_image(layer, frame: int = 0) -> np.ndarray:
    """What a model takes from a view layer: the frame's image with the pixels drawn on
    it filled and cropped to its calibrated ultrasound region, as the CLI takes a file
    (:func:`~..core.io.acquired.clean_frame`); an RGB frame as it is."""
    from ..core.io.acquired import clean_frame

    image = layer_image(layer, frame)
    if getattr(layer, "rgb", False):
        return image
    meta = layer.metadata or {}
    overlay = meta.get("overlay")
    if overlay is not None:
        overlay = np.asarray(overlay)
        overlay = overlay[int(frame), 0] if overlay.ndim == 4 else overlay
        overlay = overlay if overlay.shape == np.shape(image) else None
    return clean_frame(image, meta.get("us_region"), overlay)


def shown_frame(viewer, layer) -> int:
    """The frame of a cine layer napari's slider shows (0 for other layers)."""
    if not is_cine(layer):
        return 0
    step = viewer.dims.current_step[viewer.dims.ndim - 4]
    return int(np.clip(step, 0, n_frames(layer) - 1))


def layer_spacing(layer) -> float:
    """The pixel spacing (mm) of a view layer: its metadata's, else its scale."""
    meta = layer.metadata or {}
    if "pixel_spacing_mm" in meta:
        sp = meta["pixel_spacing_mm"]
        return float(np.mean(sp)) if np.ndim(sp) else float(sp)
    return float(np.mean(np.asarray(layer.scale)[-2:]))


def assigned_views(viewer, state) -> dict:
    """``{view: (image, pixel mm)}`` of the layers assigned in the viewer's state (what
    the models take); a ValueError names a slot whose layer is gone."""
    out = {}
    for slot, name in state.assigned().items():
        if name not in viewer.layers:
            raise ValueError(f"the layer assigned to {slot} ({name!r}) is gone")
        image = model_image(viewer.layers[name], state.frame[slot])
        out[slot] = (np.asarray(image), float(state.pixel_mm[slot]))
    return out


def view_index(layer, row: float, col: float) -> tuple:
    """The data index of pixel (row, col) of a view layer."""
    k, r, c = layer.metadata["view_axes"]
    idx = [0.0, 0.0, 0.0]
    idx[r], idx[c] = row, col
    return tuple(idx)


def truth_mask(viewer, name: str | None, grid_shape) -> np.ndarray | None:
    """The skull (label 1) of labels layer ``name`` when it lies on the model's grid;
    None when no layer is chosen, it is gone, or its grid differs (no Dice then)."""
    if name is None or name not in viewer.layers:
        return None
    data = np.asarray(viewer.layers[name].data)
    if data.shape != tuple(grid_shape):
        return None
    return data == 1


MADE_BY = "genmed_made_by"  #: metadata key: which of the plugin's roles wrote a layer


def made_by(layer) -> str | None:
    """The role that wrote ``layer`` (None for a layer the user opened)."""
    return (layer.metadata or {}).get(MADE_BY)


def own_name(viewer, name: str, owner: str) -> str:
    """The name under which ``owner``'s layer ``name`` lives or will live: ``name``
    itself unless a layer ``owner`` did not write holds it, then ``name (2)``,
    ``name (3)``, ... (the first that is free or ``owner``'s)."""
    candidate, k = name, 1
    while candidate in viewer.layers and made_by(viewer.layers[candidate]) != owner:
        k += 1
        candidate = f"{name} ({k})"
    return candidate


def own_layer(viewer, name: str, owner: str):
    """``owner``'s layer written as ``name`` (see :func:`own_name`), or None."""
    actual = own_name(viewer, name, owner)
    return viewer.layers[actual] if actual in viewer.layers else None  # noqa: SIM401 (a LayerList)


def remove_own(viewer, name: str, owner: str) -> None:
    """Remove ``owner``'s layer ``name`` if there is one; never a layer it did not write."""
    layer = own_layer(viewer, name, owner)
    if layer is not None:
        viewer.layers.remove(layer)


IN_3D = (
    "Switched to 3D: the ultrasound views are planes placed at their poses in the head, "
    "often oblique, and napari draws such a plane only in 3D (in 2D it is a line or "
    "nothing). The 2D/3D button below the layer list switches back."
)  #: the notice when a posed view makes the viewer turn to 3D


def show_posed_in_3d(viewer) -> bool:
    """Turn a 2D viewer to 3D, with a notice, before a view placed at its pose is added
    (in 2D napari shows an oblique plane as a line, warns about non-orthogonal slicing,
    and a density map over it as black); True when it switched. From then on the
    viewer's plane layers are drawn flat (:mod:`.plane_visuals`: a ray-cast slab costs
    most of a 3D paint under software OpenGL)."""
    from .plane_visuals import draw_planes_flat

    draw_planes_flat(viewer)
    if viewer.dims.ndisplay == 3:
        return False
    from napari.utils.notifications import show_info

    viewer.dims.ndisplay = 3
    show_info(IN_3D)
    return True


def is_posed(kwargs: dict) -> bool:
    """Layer kwargs of a view placed at its pose (:func:`~napari_genmed.layer_data.view_layer`)."""
    return "pose" in (kwargs.get("metadata") or {}) and "affine" in kwargs


def add_layers(viewer, layers, owner: str) -> list:
    """Add or update ``(data, kwargs, type)`` layer data (see :func:`set_layer`).
    napari makes the last layer added the active one; when that is a hidden layer of
    the batch (a std map, a label map), the first shown layer of the batch is made
    active instead, so the layer controls are those of what the user sees. A batch
    that only updated layers in place leaves the user's selection alone."""
    before = {id(unproxied(layer)) for layer in viewer.layers}
    out = [set_layer(viewer, data, kwargs, kind, owner) for data, kwargs, kind in layers]
    active = unproxied(viewer.layers.selection.active)
    added = {id(unproxied(layer)) for layer in out} - before
    if active is not None and not active.visible and id(active) in added:
        shown = next((layer for layer in out if layer.visible), None)
        if shown is not None:
            viewer.layers.selection.active = unproxied(shown)
    return out


def unproxied(obj):
    """The object behind napari's plugin proxy: the proxy hands out a new wrapper per
    access, so identities, weak keys and private names need the object itself."""
    return getattr(obj, "__wrapped__", obj)


def _unchanged(layer, key: str, value) -> bool:
    """Whether setting ``key`` to ``value`` would change nothing. napari recomputes the
    viewer's dims and the layer's extent whenever a transform is set, equal or not
    (about 10 ms each on this box, for every in-place update of a result)."""
    try:
        if key == "affine":
            matrix = np.asarray(getattr(value, "affine_matrix", value), dtype=float)
            return np.array_equal(layer.affine.affine_matrix, matrix)
        if key in ("scale", "translate", "contrast_limits"):
            return np.array_equal(np.asarray(getattr(layer, key), float), np.asarray(value, float))
        if key == "colormap":  # the spec this product last gave the layer (a labels
            # colormap is rebuilt on every set, about 14 ms; a colormap the user chose
            # since is kept)
            return _COLORMAP_SET.get(layer) == repr(value)
    except (TypeError, ValueError):
        return False
    return False  # metadata: set every time (cheap)


_COLORMAP_SET: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def set_layer(viewer, data, kwargs: dict, layer_type: str, owner: str):
    """Add a layer written by ``owner``, or update in place ``owner``'s earlier layer
    of that name and type (results replace earlier results instead of piling up);
    a layer of that name that ``owner`` did not write is left alone and the new one
    takes the next free name (:func:`own_name`)."""
    kwargs = dict(kwargs, metadata=dict(kwargs.get("metadata") or {}, **{MADE_BY: owner}))
    if is_posed(kwargs):
        show_posed_in_3d(viewer)
    name = kwargs["name"] = own_name(viewer, kwargs["name"], owner)
    if name in viewer.layers:
        layer = viewer.layers[name]
        same_kind = layer_kind(layer) == layer_type and (
            layer_type == "surface" or layer.data.ndim == np.ndim(data)
        )
        if same_kind:
            for key in ("affine", "scale", "translate", "metadata", "colormap", "contrast_limits"):
                if key in kwargs and not _unchanged(layer, key, kwargs[key]):
                    setattr(layer, key, kwargs[key])
            layer.data = data
            return _remember_colormap(layer, kwargs)
        viewer.layers.remove(layer)
    add = getattr(viewer, f"add_{layer_type}")
    if not is_posed(kwargs):
        return _remember_colormap(add(data, **kwargs), kwargs)
    # a posed view is made hidden and then shown: napari slices a visible layer in 2D
    # as it makes it, and warns about an oblique one even in a 3D viewer
    layer = add(data, **dict(kwargs, visible=False))
    layer.visible = kwargs.get("visible", True)
    return _remember_colormap(layer, kwargs)


def _remember_colormap(layer, kwargs: dict):
    """Note the colormap spec the product gave ``layer`` (see :func:`_unchanged`)."""
    if "colormap" in kwargs:
        _COLORMAP_SET[layer] = repr(kwargs["colormap"])
    return layer
