"""The complexity term of the density maps' corrected score (Serra et al. 2020)."""

import numpy as np
import pytest
from scipy import ndimage

from napari_genmed.core.flows.complexity import COMPLEXITY_WEIGHT, patch_complexity
from napari_genmed.core.flows.glow import GlowConfig, PatchGlow
from napari_genmed.core.tasks.density import clean_reference, density_map, patch_scores


def test_complexity_orders_blank_smooth_and_speckle():
    rng = np.random.default_rng(0)
    blank = np.zeros((16, 16))
    ramp = np.tile(np.linspace(0.2, 0.6, 16), (16, 1))  # smooth: one step per pixel
    speckle = ndimage.gaussian_filter(rng.rayleigh(0.3, (16, 16)), 1.5)  # correlated
    noise = rng.uniform(0, 1, (16, 16))
    bits = patch_complexity(np.stack([blank, ramp, speckle, noise])[:, None])
    assert bits.shape == (4,)
    assert bits[0] < 0.5 and bits[0] < bits[1] < bits[2] < bits[3]
    assert 7.5 < bits[3] < 9.5  # uniform 8-bit noise does not compress
    with pytest.raises(ValueError):
        patch_complexity(np.zeros((2, 16)))


def test_corrected_map_is_nll_less_the_weighted_complexity():
    import torch

    torch.manual_seed(0)
    flow = PatchGlow(GlowConfig(size=8, levels=2, steps=1, hidden=8))
    flow.train()
    flow.log_prob(torch.rand(32, 1, 8, 8), torch.rand(32, 2))  # actnorm initialisation
    flow.eval()
    image = np.random.default_rng(1).random((128, 128)).astype(np.float32)
    image[40:80, 40:80] = 0.3  # a flat square: low complexity
    nll = density_map(image, flow, score="nll", reduce="mean")
    corr = density_map(image, flow, reduce="mean")
    scored = patch_scores(image, flow)
    assert np.allclose(scored.map(0.0, "mean"), nll) and np.allclose(scored.map(None, "mean"), corr)
    # each pixel is the mean over its patches of NLL - w L: the difference is w * mean L
    diff = nll - corr
    flat, busy = diff[56:64, 56:64].mean(), diff[:8, :8].mean()
    assert flat < 0.2 * busy and busy == pytest.approx(COMPLEXITY_WEIGHT * 8.6, rel=0.15)
    with pytest.raises(ValueError, match="score"):
        density_map(image, flow, score="bits")


def test_the_colour_reference_belongs_to_the_corrected_score():
    class Flow:
        card = {"metrics": {"evaluation": {"clean_fan_bpd": {"median": 1, "p95": 2, "p99": 3}}}}

    assert clean_reference(Flow()) is None  # an older card measured the bare NLL
    Flow.card["metrics"]["evaluation"]["score"] = "corrected"
    assert clean_reference(Flow()) == {"median": 1, "p95": 2, "p99": 3}
