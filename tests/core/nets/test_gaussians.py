"""The latent Gaussians: the analytic KL against torch.distributions, and free bits."""

import torch
from torch.distributions import Normal, kl_divergence

from napari_genmed.core.nets.gaussians import free_bits, kl_gaussians, kl_per_dim


def test_the_analytic_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu_q, lv_q, mu_p, lv_p = (torch.randn(4, 6, generator=g) for _ in range(4))
    expect = kl_divergence(Normal(mu_q, (0.5 * lv_q).exp()), Normal(mu_p, (0.5 * lv_p).exp()))
    assert torch.allclose(kl_per_dim(mu_q, lv_q, mu_p, lv_p), expect, atol=1e-5)
    std = kl_divergence(Normal(mu_q, (0.5 * lv_q).exp()), Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(kl_gaussians(mu_q, lv_q), std, atol=1e-5)


def test_free_bits_leave_dimensions_under_the_floor_without_a_gradient():
    mu = torch.tensor([[0.1, 3.0], [-0.1, 3.0]], requires_grad=True)
    kl = kl_per_dim(mu, torch.zeros_like(mu))  # 0.005 and 4.5 nats per dimension
    assert torch.isclose(free_bits(kl, 0.0), kl.sum(1).mean())  # no floor: the plain KL
    term = free_bits(kl, 0.25)
    assert torch.isclose(term, torch.tensor(0.25 + 4.5))
    term.backward()
    assert torch.all(mu.grad[:, 0] == 0) and torch.all(mu.grad[:, 1] > 0)
