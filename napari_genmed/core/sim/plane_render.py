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

#: the slab's voxels and the plane's pixels on the generators' grid (data/scenes.py)
PIXEL_MM = 2.0
FINE_MM = 1.0  #: rendered at the views' own pixel, then averaged (as the truth is)


def render_plane_labels(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """The speckle-free image of a plane whose labels are ``labels`` (``S x S`` on
    the 2 mm grid, row 0 nearest the probe): ``S x S`` float32 in [0, 1]. ``seed``
    draws the maternal wall above the head (as every rendering's does)."""
    from .geometry import Pose
    from .ultrasound import simulate_view

    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] != labels.shape[1]:
        raise ValueError(f"a plane's labels are a square 2D map, got shape {labels.shape}")
    side = labels.shape[0]
    slab = np.repeat(labels.astype(np.uint8)[None], 3, axis=0)
    centre = (PIXEL_MM, (side - 1) / 2 * PIXEL_MM, (side - 1) / 2 * PIXEL_MM)
    fine = int(round(side * PIXEL_MM / FINE_MM))
    pose = Pose(centre, (0, 1, 0), (0, 0, 1), FINE_MM, (fine, fine))
    image = simulate_view(slab, pose, PIXEL_MM, int(seed), speckle=False).image
    k = fine // side  # averaged in k x k blocks, as data/scenes.downsample does
    return image.reshape(side, k, side, k).mean(axis=(1, 3)).astype(np.float32)
