"""Patches of the simulated views, for fitting and testing the patch flow.

:func:`view_bank` reads a split's speckled standard-plane views (three per head, from
the reconstruction dataset and its cache); :func:`random_patches` draws patches at
random positions with their position context (:func:`~..flows.patches.patch_context`),
dequantised by uniform noise of one 8-bit level (the views are 8-bit in practice, and
a continuous density on discrete values would be unbounded).
"""

from __future__ import annotations

import numpy as np

from ..flows.patches import patch_context


def view_bank(split: str, heads: int, cache_dir=None, family: str = "phantom") -> np.ndarray:
    """``(heads * 3, 128, 128)`` speckled views of a split, of heads from ``family``
    (a held-out family only outside the training split)."""
    from ..data.dataset import DatasetConfig, PhantomDataset

    ds = PhantomDataset(split, heads, DatasetConfig(families=(family,)), cache_dir=cache_dir)
    return np.concatenate([ds.arrays(i)["views"] for i in range(heads)]).astype(np.float32)


def random_patches(
    bank: np.ndarray, n: int, patch: int, rng: np.random.Generator, dequantise: bool = True
):
    k = rng.integers(len(bank), size=n)
    r = rng.integers(0, bank.shape[1] - patch + 1, size=n)
    c = rng.integers(0, bank.shape[2] - patch + 1, size=n)
    idx = np.arange(patch)
    x = bank[
        k[:, None, None],
        r[:, None, None] + idx[None, :, None],
        c[:, None, None] + idx[None, None, :],
    ][:, None]
    if dequantise:
        x = x + rng.uniform(0, 1 / 256, x.shape).astype(np.float32)
    return x.astype(np.float32), patch_context(r, c, patch, bank.shape[1])
