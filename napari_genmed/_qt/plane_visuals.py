"""Posed views drawn as flat textured images in 3D, not as ray-cast slabs.

A view placed at its pose is a one-voxel-thick image layer, ``(1, H, W)`` (or
``(H, 1, W)``, ``(H, W, 1)``) with the pose as its affine. napari draws every 3D image
layer as a volume, ray-cast for each screen pixel it covers, and under software OpenGL
(Mesa's llvmpipe, what a remote desktop or a virtual machine gives) those ray casts
were nearly all of every 3D paint: the demo scene took 115-157 ms to draw, 5.7 ms
without its three planes (docs/performance.md). Drawn as a flat image at the same place
(vispy's Image visual: the layer's contrast limits, colormap, gamma, opacity,
interpolation and blending, as napari sets them), the same scene draws in a fraction
of that, so a slider step or a new result shows sooner.

napari has no public way to choose a layer's visual; it keeps one slot for a custom
node (``ImageLayerNode._custom_node``), which this fills. Where napari's private names
differ (another napari version), nothing changes and the layer stays a volume.
Written here, not taken from a library: no napari plugin or vispy release offers it.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

_HOOKED: weakref.WeakSet = weakref.WeakSet()  #: viewers whose plane layers are drawn flat
MAX_SIDE = 2048  #: larger planes stay napari's (a 2D texture that size fits any OpenGL 2)


def plane_axis(shape) -> int | None:
    """The one axis of length 1 of a 3D shape (the slab's thickness), else None."""
    single = [k for k, s in enumerate(shape) if s == 1]
    return single[0] if len(shape) == 3 and len(single) == 1 else None


def flat_to_voxels(axis: int) -> np.ndarray:
    """vispy's row-vector 4 x 4 matrix taking the flat image's coordinates ``(u, v)``
    (pixel corners at integers: pixel ``(i, j)`` spans ``[j, j+1] x [i, i+1]``) to
    vispy's data coordinates of the slab ``(x, y, z) = (a2, a1, a0)`` (voxel centres at
    integers), the image's rows and columns being the slab's two long axes in order and
    its thin axis ``axis`` at 0."""
    rows, cols = (k for k in range(3) if k != axis)
    m = np.zeros((4, 4))
    m[0, 2 - cols] = 1.0  # u -> the column axis
    m[1, 2 - rows] = 1.0  # v -> the row axis
    m[2, 2 - axis] = 1.0
    m[3, 2 - cols] = m[3, 2 - rows] = -0.5  # pixel corners -> voxel centres
    m[3, 3] = 1.0
    return m


@functools.cache
def _node_classes():
    """The node classes, built on first use (vispy and napari's visuals are imported
    only when a viewer needs them)."""
    from napari._vispy.visuals.image import Image as NapariImage
    from vispy.scene.node import Node
    from vispy.visuals.filters import Filter
    from vispy.visuals.transforms import MatrixTransform

    class PlaneTransform(MatrixTransform):
        """napari's matrix (vispy data coordinates to the world) after ``local`` (the
        flat image to the slab's voxels): napari sets ``matrix`` as for the volume."""

        local = np.eye(4)
        outer = np.eye(4)

        @property
        def matrix(self):
            return MatrixTransform.matrix.fget(self)

        @matrix.setter
        def matrix(self, m):
            self.outer = np.asarray(m, dtype=float)
            MatrixTransform.matrix.fset(self, self.local @ self.outer)

        def set_local(self, local: np.ndarray) -> None:
            self.local = local
            MatrixTransform.matrix.fset(self, self.local @ self.outer)

    class DiscardClear(Filter):
        """Fully transparent fragments are not drawn, so the clear part of a view
        (a colormap with transparent black) hides nothing behind it through the depth
        test, as with the volume."""

        def __init__(self):
            super().__init__(
                fcode="void discard_clear() { if (gl_FragColor.a <= 0.0) { discard; } }",
                fpos=1000,
            )

    class PlaneNode(NapariImage):
        """A plane layer's node in 3D (and 2D): the slab squeezed to a flat image,
        placed by :class:`PlaneTransform`."""

        _plane_local = np.eye(4)  #: the flat image to the slab (a class default: vispy
        #: freezes a visual's attributes after its __init__)

        def __init__(self, texture_format=None):
            super().__init__(None, method="auto", texture_format=texture_format)
            self.attach(DiscardClear())
            self.transform = PlaneTransform()

        @property
        def transform(self):
            return Node.transform.fget(self)

        @transform.setter
        def transform(self, tr):
            # napari replaces a node's transform by a plain MatrixTransform (or vispy by
            # a NullTransform on reparenting): keep the flat-to-slab step in front
            if not isinstance(tr, PlaneTransform):
                plane = PlaneTransform()
                plane.set_local(self._plane_local)
                if isinstance(tr, MatrixTransform):
                    plane.matrix = tr.matrix
                tr = plane
            Node.transform.fset(self, tr)

        def set_data(self, image):
            data = np.asarray(image)
            axis = plane_axis(data.shape) if data.ndim == 3 else None
            if data.ndim == 3:  # (no plane any more: blank until the layer is a volume again)
                data = np.zeros((1, 1), data.dtype) if axis is None else np.take(data, 0, axis)
            self._plane_local = np.eye(4) if axis is None else flat_to_voxels(axis)
            self.transform.set_local(self._plane_local)
            super().set_data(data)

    return PlaneNode


def is_plane_layer(layer) -> bool:
    """An image layer one voxel thick in 3D (a posed view, a generated view, a map on
    one), single-scale, not RGB."""
    from napari.layers import Image

    return (
        isinstance(layer, Image)
        and layer.ndim == 3
        and not layer.multiscale
        and not layer.rgb
        and plane_axis(layer.data.shape) is not None
        and max(layer.data.shape) <= MAX_SIDE
    )


def _visuals(viewer) -> dict | None:
    """napari's map from layers to their vispy layers (private), or None."""
    canvas = getattr(getattr(getattr(viewer, "window", None), "_qt_viewer", None), "canvas", None)
    visuals = getattr(canvas, "layer_to_visual", None)
    return visuals if isinstance(visuals, dict) else None


def _refresh(viewer, layer) -> bool:
    """Draw ``layer`` flat if it is a plane layer, as a volume if it is no longer one;
    True when it is drawn flat."""
    visual = (_visuals(viewer) or {}).get(layer)
    layer_node = getattr(visual, "_layer_node", None)
    if layer_node is None or not hasattr(layer_node, "_custom_node"):
        return False  # another napari: leave napari's own visual
    flat = is_plane_layer(layer)
    if flat == (layer_node._custom_node is not None):
        return flat
    order = visual.node.order  # napari's draw order (the layer's index); a new node starts at 0
    if flat:
        image_node = getattr(layer_node, "_image_node", None)
        layer_node._custom_node = _node_classes()(getattr(image_node, "texture_format", None))
    else:
        layer_node._custom_node = None
    visual._on_display_change()
    visual._on_data_change()
    visual.order = order
    return flat


def draw_planes_flat(viewer) -> None:
    """From now on, every plane layer of ``viewer`` (those there and those added) is
    drawn as a flat image; once per viewer. Nothing happens without napari's Qt window
    (a headless viewer) or where napari's private names differ."""
    from .layers import unproxied

    real = unproxied(viewer)
    if real in _HOOKED or _visuals(real) is None:
        return
    _HOOKED.add(real)
    ref = weakref.ref(real)

    def watch(layer):
        def changed(_event=None):
            v = ref()
            if v is not None and layer in v.layers:
                _refresh(v, layer)

        layer.events.data.connect(changed)
        _refresh(real, layer)

    real.layers.events.inserted.connect(lambda event: watch(event.value), position="last")
    for layer in list(real.layers):
        watch(layer)
