"""How complex a patch is, in bits per pixel: the complexity term of a
complexity-corrected likelihood.

Likelihood models give high likelihood to smooth, low-complexity inputs, whatever
they show (Nalisnick et al., "Do deep generative models know what they don't know?",
ICLR 2019): a blanked or smoothly inpainted region of a view scores as typical as
speckle. Serrà et al. ("Input complexity and out-of-distribution detection with
likelihood-based generative models", ICLR 2020) correct for it with a generic
lossless compressor standing in for a universal model of images:

    S(x) = -log2 p(x) - L(x),

where ``L(x)`` is the compressed length of ``x``, in bits. ``S`` is a likelihood
ratio between the model and the compressor: high where the model explains ``x``
worse than a generic compressor does, whatever the input's own complexity.

:func:`patch_complexity` is ``L`` per pixel: each patch quantised to 8 bits, PNG's
"sub" filter (each pixel minus its left neighbour), then raw DEFLATE at level 9 (no
header), the compressor Serrà et al. call PNG. Python's ``zlib`` does it (about 20 ms
for the 841 patches of one view); no compressor is written here.
"""

from __future__ import annotations

import zlib

import numpy as np

#: The weight of the complexity term in the corrected score ``NLL - weight * L``
#: (:meth:`~..tasks.density.PatchScores.map`). A 16 x 16 patch is too small for
#: DEFLATE to reach the entropy of speckle (L is 6-7 bits per pixel on clean fan
#: patches, where the flow's NLL is 3.5-5), so the full term (weight 1) over-corrects:
#: flipped and mirrored regions, whose complexity is unchanged, fall to AUC 0.57-0.62.
#: Chosen on the validation split, never the test split, as the weight whose worst
#: corruption type scores best (``genmed evaluate-density --split val
#: --complexity-weights 0.2 0.25 0.3 0.35 0.4 0.5``, 20 views; worst type 0.840,
#: 0.869, 0.902, 0.928, 0.924, 0.919; always the smooth inpainting but at 0.4 and
#: 0.5, where shifted regions fall behind). Figures: docs/research-log.md.
COMPLEXITY_WEIGHT = 0.35


def _deflate_bits(data: bytes) -> int:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return 8 * len(c.compress(data) + c.flush())


def patch_complexity(patches: np.ndarray) -> np.ndarray:
    """``L`` in bits per pixel of each of ``patches`` (``(N, 1, p, p)`` or
    ``(N, p, p)``, intensities in [0, 1])."""
    x = np.asarray(patches, dtype=np.float32)
    x = x.reshape(len(x), x.shape[-2], x.shape[-1])
    q = np.clip(np.round(x * 255.0), 0, 255).astype(np.int16)
    sub = np.diff(q, axis=2, prepend=0).astype(np.uint8)  # wraps mod 256, as PNG does
    pixels = x.shape[-2] * x.shape[-1]
    return np.array([_deflate_bits(s.tobytes()) for s in sub], np.float32) / pixels
