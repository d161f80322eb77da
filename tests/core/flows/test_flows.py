"""Every flow, one parametrised test (zuko's style): invertibility, log-det against
autograd's Jacobian on small dimensions, sampling shapes, save/load through
safetensors. Then the density maps, the Gaussian baseline and the toy."""

import numpy as np
import pytest
import torch

from napari_genmed.core.flows.glow import GlowConfig, PatchGlow, squeeze, unsqueeze
from napari_genmed.core.flows.vectorflows import VectorFlow, VectorFlowConfig
from napari_genmed.core.io.checkpoint import load_checkpoint, save_checkpoint

FLOWS = {
    "realnvp": lambda: VectorFlow(VectorFlowConfig("realnvp", features=4, transforms=3, hidden=16)),
    "maf": lambda: VectorFlow(VectorFlowConfig("maf", features=4, transforms=3, hidden=16)),
    "realnvp-conditional": lambda: VectorFlow(
        VectorFlowConfig("realnvp", features=3, context=2, transforms=2, hidden=16)
    ),
    "glow": lambda: PatchGlow(GlowConfig(size=4, levels=2, steps=2, hidden=8)),
}


def _randomise(flow):
    """Move every parameter off its identity initialisation."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))


def _context(name, n):
    if name == "realnvp-conditional":
        return torch.randn(n, 2)
    if name == "glow":
        return torch.rand(n, 2) * 2 - 1
    return None


def _x(name, n):
    return (
        torch.rand(n, 1, 4, 4, dtype=torch.float64)
        if name == "glow"
        else torch.randn(n, 3 if "conditional" in name else 4, dtype=torch.float64)
    )


@pytest.mark.parametrize("name", list(FLOWS))
def test_every_flow(name, tmp_path):
    torch.manual_seed(0)
    flow = FLOWS[name]().double()
    if name == "glow":
        flow.train()
        flow.log_prob(_x(name, 16), _context(name, 16).double())  # actnorm's data-dependent init
        flow.eval()
    _randomise(flow)
    x, ctx = _x(name, 5), _context(name, 5)
    ctx = None if ctx is None else ctx.double()
    # invertibility and the log-determinant against autograd's Jacobian
    if name == "glow":
        zs, logdet = flow(x, ctx)
        assert torch.allclose(flow.inverse(zs, ctx), x, atol=1e-8)
        for i in range(len(x)):

            def f(v, i=i):
                return torch.cat([z.flatten() for z in flow(v.view(1, 1, 4, 4), ctx[i : i + 1])[0]])

            jac = torch.autograd.functional.jacobian(f, x[i].flatten())
            assert torch.allclose(torch.linalg.slogdet(jac)[1], logdet[i], atol=1e-6)
    else:
        t = flow.transform(ctx)
        z = t(x)
        assert torch.allclose(t.inv(z), x, atol=1e-8)
        ladj = t.log_abs_det_jacobian(x, z)
        for i in range(len(x)):
            ti = flow.transform(None if ctx is None else ctx[i])
            jac = torch.autograd.functional.jacobian(lambda v: ti(v), x[i])
            assert torch.allclose(torch.linalg.slogdet(jac)[1], ladj[i], atol=1e-6)
    # the density integrates the base through the map: log p(x) = log N(z) + log|det J|
    lp = flow.log_prob(x, ctx)
    assert lp.shape == (5,) and torch.isfinite(lp).all()
    # sampling shapes
    n = 7
    if name == "glow":
        s = flow.float().sample(_context(name, n), torch.Generator().manual_seed(0))
        assert s.shape == (n, 1, 4, 4)
    else:
        s = flow.float().sample(n, None if ctx is None else _context(name, 1)[0])
        assert s.shape == (n, x.shape[-1])
    # save and load through safetensors, the architecture checked first
    flow = flow.float()
    path = save_checkpoint(tmp_path / "flow.safetensors", flow)
    loaded, card = load_checkpoint(path)
    assert type(loaded) is type(flow) and card["kind"] == flow.kind
    c32 = None if ctx is None else ctx.float()
    assert torch.allclose(loaded.log_prob(x.float(), c32), flow.log_prob(x.float(), c32), atol=1e-5)


def test_squeeze_is_a_permutation():
    x = torch.arange(2 * 3 * 4 * 4.0).view(2, 3, 4, 4)
    assert squeeze(x).shape == (2, 12, 2, 2) and torch.equal(unsqueeze(squeeze(x)), x)


def test_density_map_shape_finiteness_and_corruption(tmp_path):
    from scipy import ndimage

    from napari_genmed.core.data.patches import view_bank
    from napari_genmed.core.eval.density import CORRUPTIONS, GaussianPatches, corrupt, roc_auc
    from napari_genmed.core.flows.patches import extract
    from napari_genmed.core.progress import run
    from napari_genmed.core.tasks.density import density_map
    from napari_genmed.core.train.flows import FlowTrainConfig, train_patch_flow_job

    cache = tmp_path / "cache"
    cfg = FlowTrainConfig(
        model=dict(size=8, levels=2, steps=2, hidden=16),
        heads=6,
        steps=150,
        batch_size=128,
        cache_dir=str(cache),
    )
    flow = run(train_patch_flow_job(cfg, tmp_path / "flow"))["model"]
    image = view_bank("test", 1, cache)[0]
    m = density_map(image, flow)
    assert m.shape == (128, 128) and np.isfinite(m).all()
    m2 = density_map(
        np.kron(image, np.ones((2, 2))), flow, spacing_mm=0.5
    )  # any size and spacing: the image's own grid
    assert m2.shape == (256, 256) and np.isfinite(m2).all()
    bad, mask = corrupt(image, "noise", np.random.default_rng(0))
    assert (
        density_map(bad, flow)[mask].mean() > m[mask].mean() + 0.5
    )  # the corrupted square scores less likely
    for kind in CORRUPTIONS:
        out, mk = corrupt(image, kind, np.random.default_rng(1))
        assert mk.any() and np.array_equal(out[~mk], image[~mk])
    # the bare likelihood finds a blanked square typical; the corrected score does not
    auc = {}
    for score in ("nll", "corrected"):
        pos, neg = [], []
        for k in range(4):
            bad, mask = corrupt(image, "blank", np.random.default_rng(10 + k))
            m = density_map(bad, flow, score=score)
            far = ~ndimage.binary_dilation(mask, iterations=8) & (image > 0.05)
            pos.append(m[mask]), neg.append(m[far])
        auc[score] = roc_auc(np.concatenate(pos), np.concatenate(neg))
    assert auc["corrected"] > auc["nll"] + 0.03
    g = GaussianPatches(extract(image, 8, 2)[0])
    assert np.isfinite(g.log_prob(extract(image, 8, 8)[0])).all()
    assert (
        roc_auc(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 1.0
        and roc_auc(np.array([0.0]), np.array([1.0])) == 0.0
    )
    for bad_input in (np.zeros((4, 4, 4)), np.full((8, 8), np.nan), np.zeros((0, 5))):
        with pytest.raises(ValueError):
            density_map(bad_input, flow)


def test_toy_flow_learns_the_banana():
    from napari_genmed.core.flows.toyflow import density_images, toy_log_density, toy_samples
    from napari_genmed.core.flows.vectorflows import fit

    flow = VectorFlow(VectorFlowConfig(transforms=4, hidden=32))
    data = torch.as_tensor(toy_samples(4000))
    nll = [loss for _step, loss in fit(flow, data, steps=300)][-1]
    true_nll = float(-toy_log_density(toy_samples(4000, 1)).mean())
    assert nll < true_nll + 0.6  # close to the true entropy (a Gaussian fit is ~0.9 nats worse)
    images = density_images(flow, size=32)
    assert set(images) == {"base", "true", "learnt"} and all(
        v.shape == (32, 32) for v in images.values()
    )
