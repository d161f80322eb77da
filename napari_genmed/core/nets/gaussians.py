"""Diagonal Gaussians of the latent spaces: sampling and the KL term of the ELBO.

A diagonal Gaussian is its mean ``mu`` and log-variance ``logvar``. Sampling uses the
reparameterisation ``z = mu + eps * exp(logvar / 2)``, ``eps ~ N(0, I)`` (Kingma and
Welling, ICLR 2014), and the KL divergence between two of them is analytic:

    KL(q || p) = 1/2 sum_d [ logvar_p - logvar_q + (exp(logvar_q) + (mu_q - mu_p)^2) / exp(logvar_p)
    - 1 ]

which for ``p = N(0, I)`` is ``1/2 sum_d [ mu_q^2 + exp(logvar_q) - 1 - logvar_q ]``.
"""

from __future__ import annotations

import torch


def kl_gaussians(mu_q, logvar_q, mu_p=None, logvar_p=None) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians summed over dimensions, per sample;
    ``p`` defaults to N(0, I)."""
    if mu_p is None:
        return 0.5 * torch.sum(mu_q**2 + logvar_q.exp() - 1.0 - logvar_q, dim=1)
    return 0.5 * torch.sum(
        logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1.0, dim=1
    )


def gaussian_noise(like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard normal noise shaped like ``like``, drawn on the generator's device
    (so a CPU generator serves a CUDA model) and moved to ``like``'s."""
    device = generator.device if generator is not None else like.device
    return torch.randn(like.shape, generator=generator, device=device, dtype=like.dtype).to(
        like.device
    )


def clamp_logvar(logvar: torch.Tensor) -> torch.Tensor:
    return logvar.clamp(-10.0, 6.0)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp()
