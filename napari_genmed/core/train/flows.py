"""Training of the flows: the patch flow behind the density maps, and the toy.

Patch flow: random ``S`` x ``S`` patches, at random positions, of the simulated
speckled standard-plane views of the training heads (the reconstruction dataset's
cache, :mod:`~..data.patches`), dequantised with uniform noise of one 8-bit level;
the flow is conditioned on the patch position. Its evaluation is
:mod:`~..eval.density`. The toy: a RealNVP fitted to samples of the banana
(:mod:`~..flows.toyflow`).
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
    def from_dict(cls, d: dict) -> FlowTrainConfig:
        from .settings import settings_from_dict

        return settings_from_dict(cls, d)


def train_patch_flow_job(cfg: FlowTrainConfig, out_dir) -> Job[dict]:
    import torch

    from ..data.patches import random_patches, view_bank
    from ..flows.glow import GlowConfig, PatchGlow, bits_per_dim
    from ..io.checkpoint import save_checkpoint

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    yield Progress(0, cfg.steps, "reading the training views")
    bank = view_bank("train", cfg.heads, cfg.cache_dir)
    flow = PatchGlow(GlowConfig(**dict(cfg.model.items())))
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
    path = save_checkpoint(
        out / "model.safetensors", flow, recipe, {"train_bpd": float(bpd.detach())}
    )
    return {"path": str(path), "seconds": recipe["seconds"], "model": flow}


def train_toy_flow_job(out_dir, steps: int = 3000, n: int = 20000, seed: int = 0) -> Job[dict]:
    """The teaching toy (:mod:`.toyflow`): a RealNVP fitted to samples of the banana."""
    import torch

    from ..flows.toyflow import toy_log_density, toy_samples
    from ..flows.vectorflows import VectorFlow, VectorFlowConfig, fit
    from ..io.checkpoint import save_checkpoint

    torch.manual_seed(seed)
    flow = VectorFlow(VectorFlowConfig("realnvp", features=2, transforms=6, hidden=64))
    t0 = time.perf_counter()
    nll = float("nan")
    for step, nll in fit(flow, torch.as_tensor(toy_samples(n, seed)), steps=steps, seed=seed):
        yield Progress(step, steps, "toy flow", {"nll": nll})
    true = float(-toy_log_density(toy_samples(n, seed + 1)).mean())
    metrics = {"train_nll_nats": nll, "true_entropy_nats": true}
    path = save_checkpoint(
        Path(out_dir) / "model.safetensors",
        flow,
        {"steps": steps, "samples": n, "seed": seed, "seconds": time.perf_counter() - t0},
        metrics,
    )
    return {"path": str(path), "model": flow} | metrics
