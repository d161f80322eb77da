"""Similarity of a generated image to the truth: SSIM and PSNR from scikit-image,
normalised cross-correlation (zero-mean, unit-norm inner product) here."""

from __future__ import annotations

import numpy as np


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64) - np.mean(a)
    b = np.asarray(b, np.float64) - np.mean(b)
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def similarity(generated: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """SSIM, NCC and PSNR (dB) of two images in [0, 1]."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    g, t = np.asarray(generated, np.float64), np.asarray(truth, np.float64)
    if g.shape != t.shape or g.ndim != 2:
        raise ValueError(f"need two 2D images of one shape, got {g.shape} and {t.shape}")
    return {
        "ssim": float(structural_similarity(t, g, data_range=1.0)),
        "ncc": ncc(g, t),
        "psnr": float(peak_signal_noise_ratio(t, np.clip(g, 0, 1), data_range=1.0)),
    }
