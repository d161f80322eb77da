"""A scanner's texture on an expected image: one B-mode sample of a speckle-free plane.

The renderer (:mod:`.ultrasound`) draws the *expected* image of a plane (``speckle=
False``: the root of the expected echo intensity, log-compressed) and a *B-mode*
image (the echo of complex Gaussian scatterers through the point-spread function,
compounded). A generator of missing views predicts the expected image, the mean of
what a scanner could show, which is smooth by definition. :func:`bmode_sample` draws
one image a scanner could show around it, with the renderer's physics:

- the display is undone: ``A = 10^((I - 1) DR / 20)`` (the expected amplitude, relative
  to the display's white; ``DR`` the probe's dynamic range);
- ``compounding`` independent fields of complex Gaussian scatterers, each blurred by
  the probe's amplitude point-spread function (axial ``axial_sigma_mm`` along the
  rows, lateral ``lateral_sigma_mm + lateral_growth |depth - focus|`` along the
  columns) and normalised to unit mean intensity; their mean intensity ``S`` is the
  speckle (exponential for one field, gamma of order ``compounding`` for several:
  Goodman, *Speckle Phenomena in Optics*, 2007, ch. 3);
- the sample's amplitude is ``A sqrt(S)``, displayed as the renderer displays it;
  black stays black (outside the fan, and below the dynamic range).

Every echo is treated as diffuse (Rayleigh): the expected image no longer tells the
specular part from the diffuse one, so a bright skull echo gets speckle too, where
the renderer would show it steadier. The rows are taken as depth (the fan's lines
are within 36 degrees of vertical). Deterministic for a seed.
"""

from __future__ import annotations

import numpy as np

from .ultrasound import Probe, _lateral_blur

FINE_MM = 0.25  #: the scatterers' spacing along the rows (depth)


def bmode_sample(
    expected: np.ndarray, spacing_mm: float, seed: int = 0, probe: Probe | None = None
) -> np.ndarray:
    """One B-mode image around the expected image ``expected`` (``(H, W)`` in [0, 1],
    pixels of ``spacing_mm``), float32 in [0, 1]."""
    from scipy import ndimage

    image = np.asarray(expected, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"an expected image is 2D, got shape {image.shape}")
    if not np.isfinite(image).all():
        raise ValueError("the expected image holds NaN or infinite values")
    probe = probe or Probe()
    sp = float(spacing_mm)
    h, w = image.shape
    dr = probe.dynamic_range_db
    amplitude = 10 ** ((np.clip(image, 0.0, 1.0) - 1.0) * dr / 20)
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 31])
    n = probe.compounding
    # the scatterers on rows of at most FINE_MM, so that the pulse (axial sigma 0.6 mm)
    # is resolved, then sampled at the pixels' centres (as the renderer samples its
    # lines); across, the beam (sigma 1 mm and more) is resolved by the pixels themselves
    f = max(1, int(np.ceil(sp / FINE_MM)))
    fine = sp / f
    fields = rng.standard_normal((2 * n, h * f, w), dtype=np.float32)
    fields = ndimage.gaussian_filter1d(fields, probe.axial_sigma_mm / fine, axis=1)
    fields = fields[:, f // 2 :: f]
    depth = (np.arange(h) + 0.5) * sp
    lateral = probe.lateral_sigma_mm + probe.lateral_growth * np.abs(depth - probe.focus_mm)
    # _lateral_blur blurs axis -2 with a width varying along axis -1: columns, rows
    fields = np.swapaxes(_lateral_blur(np.swapaxes(fields, 1, 2), lateral / sp, False), 1, 2)
    intensity = fields[0::2] ** 2 + fields[1::2] ** 2
    speckle = np.mean(intensity / intensity.mean(axis=(1, 2), keepdims=True), axis=0)
    db = 20 * np.log10(amplitude * np.sqrt(speckle) + 1e-12)
    out = np.clip(1.0 + db / dr, 0.0, 1.0)
    out[image <= 0] = 0.0
    return out.astype(np.float32)
