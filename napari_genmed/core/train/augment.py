"""Grey-level augmentations of training views, drawn per view.

The kinds MONAI's intensity transforms draw (Cardoso et al., "MONAI: an open-source
framework for deep learning in healthcare", 2022), written here in a few lines of
torch rather than adding MONAI and its dependencies for three functions:

- a **gamma**, ``x -> x^g`` with ``log g ~ U(-0.5, 0.5)`` (``RandAdjustContrast``);
- a **Gaussian smoothing** (sigma 0.5-1.5 pixels, ``RandGaussianSmooth``) or a
  **sharpening** ``x + a (x - G x)`` (a 0.5-2, ``RandGaussianSharpen``), equally often;
- a **monotone grey map**, piecewise linear through four control points moved at
  random from the diagonal (``RandHistogramShift``).

They stand for what no acquisition setting of the training renderer draws: a display
chain's own curves and filters. Black stays black (the fan's outside), the result is
clipped to [0, 1]. Validation views are never augmented.
"""

from __future__ import annotations

import torch


def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Each ``(N, H, W)`` image blurred by its own Gaussian ``sigma`` (pixels)."""
    r = 4
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t[None] / sigma[:, None]) ** 2)
    k = k / k.sum(1, keepdim=True)
    n = x.shape[0]
    y = torch.nn.functional.pad(x[None], (r, r, 0, 0), mode="replicate")
    y = torch.nn.functional.conv2d(y, k[:, None, None, :], groups=n)
    y = torch.nn.functional.pad(y, (0, 0, r, r), mode="replicate")
    return torch.nn.functional.conv2d(y, k[:, None, :, None], groups=n)[0]


def intensity_augment(views: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """``views`` (B, V, H, W) in [0, 1], each with probability ``p`` through a gamma, a
    smoothing or sharpening and a monotone grey map (see the module docstring)."""
    if p <= 0:
        return views
    b, v, h, w = views.shape
    x = views.reshape(b * v, h, w).float()
    n = x.shape[0]

    def u(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(n, *shape, generator=generator).to(x.device)

    chosen = (torch.rand(n, generator=generator) < p).to(x.device)
    out = x.clamp(0, 1) ** torch.exp(u(-0.5, 0.5))[:, None, None]
    smooth = _blur(out, u(0.5, 1.5))
    sharpen = torch.rand(n, generator=generator).to(x.device) < 0.5
    amount = u(0.5, 2.0)[:, None, None]
    out = torch.where(sharpen[:, None, None], out + amount * (out - smooth), smooth).clamp(0, 1)
    # monotone piecewise-linear map through (0, 0), four moved points and (1, 1)
    knots = torch.linspace(0, 1, 6, device=x.device)
    ys = (knots[None, 1:-1] + u(-0.12, 0.12, 4)).clamp(0, 1).sort(dim=1).values
    ys = torch.cat([torch.zeros(n, 1, device=x.device), ys, torch.ones(n, 1, device=x.device)], 1)
    seg = (out * 5).floor().clamp(0, 4).long()
    frac = out * 5 - seg
    flat = seg.reshape(n, -1)
    lo, hi = ys.gather(1, flat).reshape(out.shape), ys.gather(1, flat + 1).reshape(out.shape)
    out = torch.where(x > 0, lo + frac * (hi - lo), torch.zeros_like(x))
    return torch.where(chosen[:, None, None], out, x).reshape(b, v, h, w).to(views.dtype)
