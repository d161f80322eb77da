"""A plane's labels rendered as the scanner would show that plane.

The anatomy generator (``mental-map-anatomy``) predicts the labels of a query plane
(skull, brain, falx, ventricles, thalami, ...: :mod:`.labels`) on the generators' grid
(64 x 64 pixels of 2 mm) instead of its grey levels. The image is then made by this
project's own physics (:mod:`.ultrasound`): the 2D label map is stood up as a slab
three voxels thick, the probe placed above its top row, and the slab rendered
speckle-free at 128 x 128 pixels of 1 mm and averaged to the grid, as the scenes
render their truth (:func:`~..data.scenes.SceneDataset.make`). So the skull's echo,
its shadow, the midline and the ventricles are drawn sharp where the labels put them.

What the slab cannot know is the tissue just off the plane: the interfaces' normals
lie in the plane, so an oblique interface echoes as if it were met square on. On the
true labels of held-out heads' planes this rendering and the scenes' 3D rendering of
the same plane agree to an SSIM of 0.95 (docs/research-log.md, session 28).
"""

from __future__ import annotations

import numpy as np

from .medium import Medium
from .ultrasound import Probe

#: the slab's voxels and the plane's pixels on the generators' grid (data/scenes.py)
PIXEL_MM = 2.0
FINE_MM = 1.0  #: rendered at the views' own pixel, then averaged (as the truth is)
#: scan lines across the fan: 192 of the scenes' 256 draw the true labels of held-out
#: planes as close to their 3D rendering (SSIM 0.9454 against 0.9461) in 25 ms, not 34
#: (160: 0.9425; 128: 0.9369; research log, session 29)
N_LINES = 192
PROBE = Probe(n_lines=N_LINES)  #: the scanner the planes are drawn with


def render_plane_labels(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """The speckle-free image of a plane whose labels are ``labels`` (``S x S`` on
    the 2 mm grid, row 0 nearest the probe): ``S x S`` float32 in [0, 1]. ``seed``
    draws the maternal wall above the head (as every rendering's does)."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] != labels.shape[1]:
        raise ValueError(f"a plane's labels are a square 2D map, got shape {labels.shape}")
    return _render_slab(Medium(np.repeat(labels.astype(np.uint8)[None], 3, axis=0), PIXEL_MM), seed)


def render_plane_probabilities(probabilities: np.ndarray, seed: int = 0) -> np.ndarray:
    """The speckle-free image of a plane whose labels are known as probabilities
    ``(C, S, S)`` over the label values ``0..C-1``: each pixel drawn as the expected
    medium of its labels (:meth:`.Medium.expected`: a pixel half skull, half brain is
    drawn with half the skull's impedance step), so what the generator is unsure of is
    drawn faint and what it is sure of as sharp as :func:`render_plane_labels` draws it
    (which this equals for one-hot probabilities)."""
    p = np.asarray(probabilities, np.float32)
    if p.ndim != 3 or p.shape[1] != p.shape[2]:
        raise ValueError(f"a plane's label probabilities are (C, S, S), got shape {p.shape}")
    return _render_slab(Medium.expected(np.repeat(p[:, None], 3, axis=1), PIXEL_MM), seed)


def _render_slab(slab, seed: int) -> np.ndarray:
    """The plane in the middle of a three-voxel slab, drawn at 1 mm and averaged."""
    from .geometry import Pose
    from .ultrasound import simulate_view

    side = slab.labels.shape[1]
    centre = (PIXEL_MM, (side - 1) / 2 * PIXEL_MM, (side - 1) / 2 * PIXEL_MM)
    fine = int(round(side * PIXEL_MM / FINE_MM))
    pose = Pose(centre, (0, 1, 0), (0, 0, 1), FINE_MM, (fine, fine))
    image = simulate_view(_MiddleLayer(slab), pose, PIXEL_MM, int(seed), False, PROBE).image
    k = fine // side  # averaged in k x k blocks, as data/scenes.downsample does
    return image.reshape(side, k, side, k).mean(axis=(1, 3)).astype(np.float32)


class _MiddleLayer(Medium):
    """A slab's middle layer as a medium sampled in 2D: every point of the plane lies
    on it (index 1 across the slab, where trilinear sampling weighs that layer alone,
    and the slab is uniform across, so the interface normals have no component
    across), so bilinear sampling gives the same numbers at half the cost (the
    renderer's sampling was half of a plane's 40 ms)."""

    def __init__(self, slab: Medium):
        self.labels, self.spacing_mm = slab.labels[1], slab.spacing_mm
        self.impedance, self.attenuation = slab.impedance[1], slab.attenuation[1]
        self.scatter, self.gradient = slab.scatter[1], slab.gradient[:, 1]

    def _index(self, points_mm):
        return np.moveaxis(points_mm[..., 1:] / self.spacing_mm, -1, 0)
