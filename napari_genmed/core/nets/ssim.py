"""SSIM as a differentiable loss, computed exactly as the evaluation computes it.

The structural similarity of Wang et al. ("Image quality assessment: from error
visibility to structural similarity", IEEE TIP 2004) in scikit-image's default form,
which ``genmed evaluate-views`` reports: a 7 x 7 uniform window, sample (co)variances
(``N / (N - 1)``, ``N = 49``), ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2`` for data range
``L = 1``, and the mean of the map over the pixels whose window lies inside the image
(scikit-image crops the 3 border pixels its reflected padding would invent):

    SSIM(x, y) = mean[(2 mu_x mu_y + C1)(2 s_xy + C2)
                      / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))]

Trained on, it rewards the local contrast and structure that a per-pixel loss averages
away (Zhao et al., "Loss functions for image restoration with neural networks", IEEE
TCI 2017).
"""

from __future__ import annotations

import torch
from torch import nn

WIN = 7  #: scikit-image's default window
C1, C2 = 0.01**2, 0.03**2  #: its constants for a data range of 1


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM of ``(B, 1, H, W)`` images in [0, 1]: a ``(B,)`` tensor."""
    if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"need two (B, 1, H, W) batches of one shape, got {x.shape}, {y.shape}")
    pool = nn.functional.avg_pool2d
    n = WIN * WIN
    mx, my = pool(x, WIN, 1), pool(y, WIN, 1)
    cov = n / (n - 1)
    vx = cov * (pool(x * x, WIN, 1) - mx * mx)
    vy = cov * (pool(y * y, WIN, 1) - my * my)
    vxy = cov * (pool(x * y, WIN, 1) - mx * my)
    s = ((2 * mx * my + C1) * (2 * vxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2))
    return s.flatten(1).mean(1)
