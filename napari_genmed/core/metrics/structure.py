"""Does a generated plane show the head's structure, or a blob of the right size?

Whole-image SSIM and NCC of a 64 x 64 view are dominated by the black outside the fan
and the head's outline: a blob of the right size scores well. These measure what is
inside the head instead (issue 26):

- :func:`in_region_similarity`: SSIM (scikit-image's local map, 7 x 7 windows,
  averaged over the region only) and NCC over the pixels of a region (the true head on
  the query plane: every label but fluid and scalp);
- :func:`echo_dice`: the overlap of the bright echoes (the skull ring, the midline)
  of two images, ``2 |A & B| / (|A| + |B|)``, where an echo is a thin bright
  structure: a pixel brighter by at least :data:`ECHO_CONTRAST` than the grey opening
  of the image with a disc of radius :data:`ECHO_RADIUS` pixels (a white top-hat),
  inside a region (the head dilated by 4 mm, so the maternal wall under the probe never
  counts); 0 when neither image has an echo there. A fixed brightness level instead
  caught little but the vault's near arc, which a blurred blob has too (a ring shifted
  by 6 mm kept a Dice of 0.75 at level 0.5; the top-hat's: 0.52);
- :func:`hf_energy`: the mean squared difference between an image and its Gaussian
  blur (sigma 1 pixel) over a region: how much fine texture (speckle, sharp edges) an
  image holds; a generated plane's over the true speckled plane's is the realism ratio.
"""

from __future__ import annotations

import numpy as np

#: an echo is at most this thick (pixels of the generators' 2 mm grid: a 14 mm disc):
#: the skull's echo band and the falx are 2-8 mm wide, the head 60-100 mm
ECHO_RADIUS = 3
#: and this much brighter than its surroundings: on the simulator's speckle-free
#: planes the skull's sides and the falx stand 0.15-0.4 above the brain beside them
ECHO_CONTRAST = 0.08


def _region(mask, shape) -> np.ndarray:
    m = np.asarray(mask, bool)
    if m.shape != tuple(shape):
        raise ValueError(f"the region's shape {m.shape} is not the images' {tuple(shape)}")
    return m


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two 2D images of one shape, got {a.shape} and {b.shape}")
    return a, b


def in_region_similarity(generated, truth, region) -> dict[str, float]:
    """``{"ssim", "ncc"}`` of two images in [0, 1] over the pixels of ``region``
    (NaN for an empty region)."""
    from skimage.metrics import structural_similarity

    from .similarity import ncc

    g, t = _pair(generated, truth)
    m = _region(region, g.shape)
    if not m.any():
        return {"ssim": float("nan"), "ncc": float("nan")}
    _, local = structural_similarity(t, g, data_range=1.0, full=True)
    return {"ssim": float(local[m].mean()), "ncc": ncc(g[m], t[m])}


def echo_mask(image, region) -> np.ndarray:
    """The thin bright structures of ``image`` inside ``region`` (a white top-hat)."""
    from scipy import ndimage

    img = np.asarray(image, np.float64)
    yy, xx = np.mgrid[-ECHO_RADIUS : ECHO_RADIUS + 1, -ECHO_RADIUS : ECHO_RADIUS + 1]
    disc = yy**2 + xx**2 <= ECHO_RADIUS**2
    top_hat = img - ndimage.grey_opening(img, footprint=disc)
    return (top_hat >= ECHO_CONTRAST) & _region(region, img.shape)


def echo_dice(generated, truth, region) -> float:
    """Dice of the two images' echoes inside ``region`` (0 when neither has one)."""
    g, t = _pair(generated, truth)
    a, b = echo_mask(g, region), echo_mask(t, region)
    total = a.sum() + b.sum()
    return float(2.0 * (a & b).sum() / total) if total else 0.0


def hf_energy(image, region) -> float:
    """Mean squared high-pass (image minus its sigma-1 Gaussian blur) over ``region``."""
    from scipy import ndimage

    img = np.asarray(image, np.float64)
    m = _region(region, img.shape)
    if not m.any():
        return float("nan")
    high = img - ndimage.gaussian_filter(img, 1.0)
    return float((high[m] ** 2).mean())


def head_regions(plane_labels) -> tuple[np.ndarray, np.ndarray]:
    """``(head, echo region)`` of a plane's labels on the image grid (2 mm pixels):
    the head inside its skin, and that dilated by two pixels (the echo band's spread)."""
    from scipy import ndimage

    from ..sim.labels import head_mask

    head = head_mask(np.asarray(plane_labels))
    return head, ndimage.binary_dilation(head, iterations=2)
