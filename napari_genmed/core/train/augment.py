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
chain's own curves and filters. :func:`speckle_augment` redraws the texture instead: it
smooths the view's own speckle away (Gaussian, sigma 1-2 pixels) and adds a speckle
of another grain, a Gaussian field smoothed anisotropically (sigma 0.3-1.5 pixels along
the rows, the depth, and 0.5-2.5 across) scaled to a standard deviation of 0.02-0.08
of the display. Log-compressed speckle is additive on the display, and a log-gamma
intensity is close to Gaussian for the compounding orders of scanners (Goodman,
*Speckle Phenomena in Optics*, 2007, ch. 3; Burckhardt, IEEE TSU 1978): another
scatterer density, point-spread function or compounding than the renderer's one.
Black stays black (the fan's outside), the result is clipped to [0, 1]. Validation
views are never augmented.
"""

from __future__ import annotations

import torch


def _kernel(sigma: torch.Tensor, r: int) -> torch.Tensor:
    t = torch.arange(-r, r + 1, dtype=sigma.dtype, device=sigma.device)
    k = torch.exp(-0.5 * (t[None] / sigma[:, None]) ** 2)
    return k / k.sum(1, keepdim=True)


def _blur(x: torch.Tensor, sigma: torch.Tensor, sigma_rows=None, r: int = 4) -> torch.Tensor:
    """Each ``(N, H, W)`` image blurred by its own Gaussian: ``sigma`` pixels across
    (along the columns) and ``sigma_rows`` (default the same) along the rows, the
    kernels ``r`` pixels wide either side."""
    across = _kernel(sigma, r)
    down = across if sigma_rows is None else _kernel(sigma_rows, r)
    n = x.shape[0]
    y = torch.nn.functional.pad(x[None], (r, r, 0, 0), mode="replicate")
    y = torch.nn.functional.conv2d(y, across[:, None, None, :], groups=n)
    y = torch.nn.functional.pad(y, (0, 0, r, r), mode="replicate")
    return torch.nn.functional.conv2d(y, down[:, None, :, None], groups=n)[0]


def _uniform(n: int, generator: torch.Generator, device):
    def u(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(n, *shape, generator=generator).to(device)

    return u


def _per_view(views: torch.Tensor, p: float, generator: torch.Generator, transform):
    """``views`` (B, V, H, W), each with probability ``p`` replaced by ``transform(x,
    u, generator)`` of the flattened ``(N, H, W)`` views (``u(lo, hi, *shape)``: one
    uniform draw per view); black stays black. No draws at all when ``p <= 0``."""
    if p <= 0:
        return views
    b, v, h, w = views.shape
    x = views.reshape(b * v, h, w).float()
    n = x.shape[0]
    chosen = (torch.rand(n, generator=generator) < p).to(x.device)
    out = transform(x, _uniform(n, generator, x.device), generator)
    out = torch.where(x > 0, out, torch.zeros_like(x))
    return torch.where(chosen[:, None, None], out, x).reshape(b, v, h, w).to(views.dtype)


def intensity_augment(views: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """``views`` (B, V, H, W) in [0, 1], each with probability ``p`` through a gamma, a
    smoothing or sharpening and a monotone grey map (see the module docstring)."""
    return _per_view(views, p, generator, _grey_levels)


def _grey_levels(x: torch.Tensor, u, generator: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
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
    return lo + frac * (hi - lo)


def speckle_augment(views: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """``views`` (B, V, H, W) in [0, 1], each with probability ``p`` given a speckle of
    another grain and strength in place of its own (see the module docstring)."""
    return _per_view(views, p, generator, _new_speckle)


def _new_speckle(x: torch.Tensor, u, generator: torch.Generator) -> torch.Tensor:
    smooth = _blur(x, u(1.0, 2.0), r=6)
    noise = torch.randn(x.shape, generator=generator).to(x.device)
    grain = _blur(noise, u(0.5, 2.5), u(0.3, 1.5), r=6)
    grain = grain / grain.flatten(1).std(1).clamp_min(1e-6)[:, None, None]
    return (smooth + u(0.02, 0.08)[:, None, None] * grain).clamp(0, 1)
