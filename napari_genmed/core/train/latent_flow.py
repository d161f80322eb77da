"""Fitting a normalizing flow to a CVAE's aggregate posterior.

The aggregate posterior q(z) = E_{skull, views} q(z | skull, views) is where the
model actually puts heads; a RealNVP (zuko, :mod:`~..flows.vectorflows`) fitted to
draws of it gives log q(z) exactly. Its density maps are :mod:`~..tasks.latent_density`.
"""

from __future__ import annotations

import numpy as np

from ..progress import Job, Progress


def aggregate_latents(
    model, heads: int = 2000, cache_dir=None, draws: int = 4, seed: int = 0, batch: int = 16
) -> Job[np.ndarray]:
    """``(heads * draws, D)`` draws of q(z | skull, views) over training heads, with
    the training's view dropout (random subsets of views)."""
    import torch

    from ..data.dataset import PhantomDataset

    if not hasattr(model, "posterior_sample"):
        raise ValueError(f"{model.kind} has no posterior to aggregate (a CVAE is needed)")
    ds = PhantomDataset("train", heads, cache_dir=cache_dir)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    out = []
    model.eval()
    for start in range(0, heads, batch):
        yield Progress(start, heads, "encoding training heads")
        items = [ds[i] for i in range(start, min(start + batch, heads))]
        skull = torch.stack([it["skull"] for it in items])
        views = torch.stack([it["views"] for it in items])
        with torch.no_grad():
            for _ in range(draws):
                mask = (torch.rand(len(items), 3, generator=g) < 0.6).float()
                mask[torch.rand(len(items), generator=g) < 0.4] = 1.0
                z, _ = model.posterior_sample(skull, model.encode_views(views, mask))
                out.append(z.numpy())
    return np.concatenate(out).astype(np.float32)


def train_latent_flow_job(
    out_dir,
    model: str = "hirec-cvae",
    heads: int = 800,
    steps: int = 1500,
    cache_dir=None,
    seed: int = 0,
    transforms: int = 3,
    hidden: int = 32,
    lr: float = 1e-3,
) -> Job[dict]:
    """Fit a RealNVP to the aggregate posterior of bundled CVAE ``model``; reports
    held-out NLL against the standard normal prior. The flow is kept small: a few
    thousand draws of a 32-D latent overfit a wide one (held-out NLL explodes)."""
    import time
    from pathlib import Path

    import torch

    from ..flows.vectorflows import VectorFlow, VectorFlowConfig, fit
    from ..io.checkpoint import load_model, save_checkpoint
    from ..progress import run

    t0 = time.perf_counter()
    cvae = load_model(model, "cpu")
    yield Progress(0, steps, f"encoding {heads} training heads")
    z = torch.as_tensor(run(aggregate_latents(cvae, heads, cache_dir, seed=seed)))
    held = z[-len(z) // 10 :]
    train = z[: -len(z) // 10]
    torch.manual_seed(seed)
    flow = VectorFlow(
        VectorFlowConfig("realnvp", features=z.shape[1], transforms=transforms, hidden=hidden)
    )
    for step, nll in fit(flow, train, steps=steps, lr=lr, seed=seed):
        yield Progress(step, steps, "latent flow", {"nll": nll})
    with torch.no_grad():
        flow_nll = float(-flow.log_prob(held).mean())
        normal_nll = float(-torch.distributions.Normal(0.0, 1.0).log_prob(held).sum(1).mean())
    metrics = {
        "cvae": model,
        "heldout_nll_nats": flow_nll,
        "standard_normal_nll_nats": normal_nll,
        "draws": len(z),
    }
    recipe = {
        "model": model,
        "heads": heads,
        "steps": steps,
        "seed": seed,
        "transforms": transforms,
        "hidden": hidden,
        "lr": lr,
        "seconds": time.perf_counter() - t0,
    }
    path = save_checkpoint(Path(out_dir) / "model.safetensors", flow, recipe, metrics)
    return {"path": str(path), "model": flow} | metrics
