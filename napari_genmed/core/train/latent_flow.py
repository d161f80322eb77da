"""A normalizing flow over a CVAE's latent space, and 2D slices of its density.

The aggregate posterior q(z) = E_{skull, views} q(z | skull, views) is where the
model actually puts heads; a RealNVP (zuko, :mod:`.vectorflows`) fitted to draws of
it gives log q(z) exactly. :func:`density_slice` evaluates it on a grid over two
latent dimensions (in sigma units around the current latent, the others held at
their current values): the latent explorer shows it with the current latent, and a
click on the map moves the latent there.
"""

from __future__ import annotations

import numpy as np

from ..progress import Job, Progress


def aggregate_latents(model, heads: int = 2000, cache_dir=None, draws: int = 4, seed: int = 0, batch: int = 16) -> Job[np.ndarray]:
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


def density_slice(flow, z: np.ndarray, dims: tuple[int, int], sigma: np.ndarray, reference: np.ndarray, size: int = 64, span: float = 3.0) -> tuple[np.ndarray, tuple]:
    """log q(z) on a ``size`` x ``size`` grid over dimensions ``dims = (i, j)``
    spanning reference +- ``span`` sigma (rows: dimension i, top = high; columns:
    dimension j), the other dimensions at ``z``. Returns the map and the extent
    ``((i_lo, i_hi), (j_lo, j_hi))`` in sigma units."""
    import torch

    i, j = (int(d) for d in dims)
    if i == j or not (0 <= i < len(z) and 0 <= j < len(z)):
        raise ValueError(f"pick two different dimensions in 0..{len(z) - 1}, got {dims}")
    u = np.linspace(span, -span, size)  # rows: high at the top
    v = np.linspace(-span, span, size)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    pts = np.repeat(np.asarray(z, np.float32)[None], size * size, 0)
    pts[:, i] = reference[i] + uu.ravel() * sigma[i]
    pts[:, j] = reference[j] + vv.ravel() * sigma[j]
    with torch.no_grad():
        lp = flow.log_prob(torch.as_tensor(pts)).reshape(size, size).numpy()
    return lp.astype(np.float32), ((-span, span), (-span, span))


def train_latent_flow_job(out_dir, model: str = "hirec-cvae", heads: int = 800, steps: int = 1500, cache_dir=None, seed: int = 0,
                          transforms: int = 3, hidden: int = 32, lr: float = 1e-3) -> Job[dict]:
    """Fit a RealNVP to the aggregate posterior of bundled CVAE ``model``; reports
    held-out NLL against the standard normal prior. The flow is kept small: a few
    thousand draws of a 32-D latent overfit a wide one (held-out NLL explodes)."""
    import time
    from pathlib import Path

    import torch

    from ..io.checkpoint import load_model, save_checkpoint
    from ..progress import run
    from ..flows.vectorflows import VectorFlow, VectorFlowConfig, fit

    t0 = time.perf_counter()
    cvae = load_model(model, "cpu")
    yield Progress(0, steps, f"encoding {heads} training heads")
    z = torch.as_tensor(run(aggregate_latents(cvae, heads, cache_dir, seed=seed)))
    held = z[-len(z) // 10 :]
    train = z[: -len(z) // 10]
    torch.manual_seed(seed)
    flow = VectorFlow(VectorFlowConfig("realnvp", features=z.shape[1], transforms=transforms, hidden=hidden))
    for step, nll in fit(flow, train, steps=steps, lr=lr, seed=seed):
        yield Progress(step, steps, "latent flow", {"nll": nll})
    with torch.no_grad():
        flow_nll = float(-flow.log_prob(held).mean())
        normal_nll = float(-torch.distributions.Normal(0.0, 1.0).log_prob(held).sum(1).mean())
    metrics = {"cvae": model, "heldout_nll_nats": flow_nll, "standard_normal_nll_nats": normal_nll, "draws": len(z)}
    recipe = {"model": model, "heads": heads, "steps": steps, "seed": seed, "transforms": transforms, "hidden": hidden, "lr": lr, "seconds": time.perf_counter() - t0}
    path = save_checkpoint(Path(out_dir) / "model.safetensors", flow, recipe, metrics)
    return {"path": str(path), "model": flow} | metrics
