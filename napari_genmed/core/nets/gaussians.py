"""Diagonal Gaussians of the latent spaces: sampling and the KL term of the ELBO.

A diagonal Gaussian is its mean ``mu`` and log-variance ``logvar``. Sampling uses the
reparameterisation ``z = mu + eps * exp(logvar / 2)``, ``eps ~ N(0, I)`` (Kingma and
Welling, ICLR 2014), and the KL divergence between two of them is analytic:

    KL(q || p) = 1/2 sum_d [ logvar_p - logvar_q + (exp(logvar_q) + (mu_q - mu_p)^2) / exp(logvar_p)
    - 1 ]

which for ``p = N(0, I)`` is ``1/2 sum_d [ mu_q^2 + exp(logvar_q) - 1 - logvar_q ]``.

*Free bits* (Kingma et al., "Improved variational inference with inverse autoregressive
flow", NeurIPS 2016, eq. 15) keep a decoder with rich skip connections from ignoring the
latent ("posterior collapse"): each dimension's KL, averaged over the minibatch, costs
nothing below a floor ``lambda`` nats,

    L_KL = sum_d max(lambda, E_batch[KL_d]),

so the encoder may spend up to ``lambda`` nats per dimension on what the decoder can use.
"""

from __future__ import annotations

import torch


def kl_per_dim(mu_q, logvar_q, mu_p=None, logvar_p=None) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians per sample and dimension (``[B, D]``);
    ``p`` defaults to N(0, I)."""
    if mu_p is None:
        return 0.5 * (mu_q**2 + logvar_q.exp() - 1.0 - logvar_q)
    ratio = (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp()
    return 0.5 * (logvar_p - logvar_q + ratio - 1.0)


def kl_gaussians(mu_q, logvar_q, mu_p=None, logvar_p=None) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians summed over dimensions, per sample."""
    return kl_per_dim(mu_q, logvar_q, mu_p, logvar_p).sum(1)


def free_bits(kl_dims: torch.Tensor, floor: float) -> torch.Tensor:
    """The KL term of the loss from per-dimension KLs ``[B, D]``: their batch mean
    summed over dimensions, each dimension floored at ``floor`` nats (no floor at 0)."""
    per_dim = kl_dims.mean(0)
    return (per_dim.clamp(min=floor) if floor > 0 else per_dim).sum()


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
