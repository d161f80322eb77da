"""The teaching example of the seed material: a 2D flow x = (u1, u2 - u1^2 - 1)
of a standard normal u, whose density is a banana

    p(x) = N(u; 0, I) with u = (x1, x2 + x1^2 + 1)   (|det J| = 1),

learnt from samples by a RealNVP; density images of the base and the data space.
"""

from __future__ import annotations

import numpy as np


def toy_samples(n: int, seed: int = 0) -> np.ndarray:
    u = np.random.default_rng(seed).standard_normal((int(n), 2))
    return np.stack([u[:, 0], u[:, 1] - u[:, 0] ** 2 - 1.0], 1).astype(np.float32)


def toy_log_density(x: np.ndarray) -> np.ndarray:
    """The exact log-density of the toy (the map has unit Jacobian)."""
    u1, u2 = x[..., 0], x[..., 1] + x[..., 0] ** 2 + 1.0
    return -0.5 * (u1**2 + u2**2) - np.log(2 * np.pi)


EXTENT = ((-4.0, 4.0), (-9.0, 3.0))  #: (x1 range, x2 range) of the density images


def grid(size: int = 128, extent=EXTENT) -> tuple[np.ndarray, tuple]:
    """Points ``(size, size, 2)``: rows run along x2 (top = high), columns along x1."""
    (a0, a1), (b0, b1) = extent
    x1 = np.linspace(a0, a1, size)
    x2 = np.linspace(b1, b0, size)
    xx1, xx2 = np.meshgrid(x1, x2)
    return np.stack([xx1, xx2], -1).astype(np.float32), extent


def density_images(flow=None, size: int = 128) -> dict[str, np.ndarray]:
    """Density images: the base N(0, I), the true toy density and (with a trained
    ``flow``) the learnt one, each on its own ``size`` x ``size`` grid."""
    import torch

    pts, _ = grid(size)
    base_pts, _ = grid(size, ((-4.0, 4.0), (-4.0, 4.0)))
    out = {
        "base": np.exp(-0.5 * (base_pts**2).sum(-1)) / (2 * np.pi),
        "true": np.exp(toy_log_density(pts)),
    }
    if flow is not None:
        with torch.no_grad():
            lp = flow.log_prob(torch.as_tensor(pts.reshape(-1, 2))).reshape(size, size).numpy()
        out["learnt"] = np.exp(lp)
    return {k: v.astype(np.float32) for k, v in out.items()}
