"""Training and evaluation of the patch flow behind the density maps.

Training data: random ``S`` x ``S`` patches, at random positions, of the simulated
speckled standard-plane views of the training heads (the reconstruction dataset's
cache), dequantised with uniform noise of one 8-bit level; the flow is conditioned
on the patch position. Evaluation (``genmed evaluate-density``): test NLL in bits
per dimension of patches of held-out views, against a full-covariance Gaussian fitted
to the same training patches; and the density maps of held-out views with synthetic
corruptions, scored by ROC AUC of corrupted against clean fan pixels (clean pixels
farther than one patch from the corruption).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..progress import Job, Progress


@dataclass(frozen=True)
class FlowTrainConfig:
    model: dict = field(default_factory=dict)  #: overrides of GlowConfig
    heads: int = 1000  #: training heads whose three views give the patches
    steps: int = 3000
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0
    cache_dir: str | None = None

    @classmethod
    def from_dict(cls, d: dict) -> "FlowTrainConfig":
        from .reconstruction import settings_from_dict

        return settings_from_dict(cls, d)


def view_bank(split: str, heads: int, cache_dir=None) -> np.ndarray:
    """``(heads * 3, 128, 128)`` speckled views of a split."""
    from ..data.dataset import PhantomDataset

    ds = PhantomDataset(split, heads, cache_dir=cache_dir)
    return np.concatenate([ds.arrays(i)["views"] for i in range(heads)]).astype(np.float32)


def random_patches(bank: np.ndarray, n: int, patch: int, rng: np.random.Generator, dequantise: bool = True):
    from ..tasks.density import patch_context

    k = rng.integers(len(bank), size=n)
    r = rng.integers(0, bank.shape[1] - patch + 1, size=n)
    c = rng.integers(0, bank.shape[2] - patch + 1, size=n)
    idx = np.arange(patch)
    x = bank[k[:, None, None], r[:, None, None] + idx[None, :, None], c[:, None, None] + idx[None, None, :]][:, None]
    if dequantise:
        x = x + rng.uniform(0, 1 / 256, x.shape).astype(np.float32)
    return x.astype(np.float32), patch_context(r, c, patch, bank.shape[1])


def train_patch_flow_job(cfg: FlowTrainConfig, out_dir) -> Job[dict]:
    import torch

    from ..io.checkpoint import save_checkpoint
    from ..flows.glow import GlowConfig, PatchGlow, bits_per_dim

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    yield Progress(0, cfg.steps, "reading the training views")
    bank = view_bank("train", cfg.heads, cfg.cache_dir)
    flow = PatchGlow(GlowConfig(**{k: v for k, v in cfg.model.items()}))
    p = flow.config.size
    opt = torch.optim.Adam(flow.parameters(), lr=cfg.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, eta_min=cfg.lr / 50)
    t0 = time.perf_counter()
    flow.train()
    for step in range(1, cfg.steps + 1):
        x, ctx = random_patches(bank, cfg.batch_size, p, rng)
        bpd = bits_per_dim(flow.log_prob(torch.as_tensor(x), torch.as_tensor(ctx)), p * p).mean()
        opt.zero_grad(set_to_none=True)
        bpd.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 50.0)
        opt.step()
        schedule.step()
        yield Progress(step, cfg.steps, "patch flow", {"bpd": float(bpd.detach())})
    flow.eval()
    recipe = asdict(cfg) | {"torch": torch.__version__, "seconds": time.perf_counter() - t0}
    path = save_checkpoint(out / "model.safetensors", flow, recipe, {"train_bpd": float(bpd.detach())})
    return {"path": str(path), "seconds": recipe["seconds"], "model": flow}


def evaluate_density_job(flow, n: int = 20, cache_dir=None, train_heads: int = 300, seed: int = 0) -> Job[dict]:
    """Test NLL (flow vs Gaussian baseline) and corruption-detection AUCs."""
    import torch
    from scipy import ndimage

    from ..tasks.density import CORRUPTIONS, GaussianPatches, corrupt, density_map, roc_auc
    from ..flows.glow import bits_per_dim

    rng = np.random.default_rng(seed)
    p = flow.config.size
    yield Progress(0, n + 2, "fitting the Gaussian baseline")
    train_x, _ = random_patches(view_bank("train", train_heads, cache_dir), 20000, p, rng)
    gauss = GaussianPatches(train_x)
    test = view_bank("test", n, cache_dir)
    yield Progress(1, n + 2, "test likelihoods")
    test_x, test_c = random_patches(test, 10000, p, rng)
    with torch.inference_mode():
        flow_bpd = float(bits_per_dim(flow.log_prob(torch.as_tensor(test_x), torch.as_tensor(test_c)), p * p).mean())
    gauss_bpd = float(bits_per_dim(torch.as_tensor(gauss.log_prob(test_x)), p * p).mean())
    pos: dict = {k: [] for k in CORRUPTIONS}
    neg: dict = {k: [] for k in CORRUPTIONS}
    for i in range(n):
        yield Progress(2 + i, n + 2, f"corrupted held-out view {i + 1} of {n}")
        image = test[3 * i + int(rng.integers(3))]
        for kind in CORRUPTIONS:
            bad, mask = corrupt(image, kind, rng)
            score = density_map(bad, flow)
            far = ~ndimage.binary_dilation(mask, iterations=p) & (image > 0.05)
            pos[kind].append(score[mask])
            neg[kind].append(score[far])
    aucs = {k: roc_auc(np.concatenate(pos[k]), np.concatenate(neg[k])) for k in CORRUPTIONS}
    aucs["all"] = roc_auc(np.concatenate([np.concatenate(pos[k]) for k in CORRUPTIONS]), np.concatenate([np.concatenate(neg[k]) for k in CORRUPTIONS]))
    return {"test_bpd_flow": flow_bpd, "test_bpd_gaussian": gauss_bpd, "auc": aucs, "n_views": n, "patch": p}


def train_toy_flow_job(out_dir, steps: int = 3000, n: int = 20000, seed: int = 0) -> Job[dict]:
    """The teaching toy (:mod:`.toyflow`): a RealNVP fitted to samples of the banana."""
    import torch

    from ..io.checkpoint import save_checkpoint
    from ..flows.toyflow import toy_log_density, toy_samples
    from ..flows.vectorflows import VectorFlow, VectorFlowConfig, fit

    torch.manual_seed(seed)
    flow = VectorFlow(VectorFlowConfig("realnvp", features=2, transforms=6, hidden=64))
    t0 = time.perf_counter()
    nll = float("nan")
    for step, nll in fit(flow, torch.as_tensor(toy_samples(n, seed)), steps=steps, seed=seed):
        yield Progress(step, steps, "toy flow", {"nll": nll})
    true = float(-toy_log_density(toy_samples(n, seed + 1)).mean())
    metrics = {"train_nll_nats": nll, "true_entropy_nats": true}
    path = save_checkpoint(Path(out_dir) / "model.safetensors", flow, {"steps": steps, "samples": n, "seed": seed, "seconds": time.perf_counter() - t0}, metrics)
    return {"path": str(path), "model": flow} | metrics
