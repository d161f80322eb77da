"""Where a latent sits in the learnt distribution: log q(z) under the latent flow.

The latent flow (:mod:`~..train.latent_flow`) is a RealNVP fitted to a CVAE's
aggregate posterior q(z), so ``log q(z)`` is exact. :func:`density_slice` evaluates
it on a grid over two latent dimensions (in sigma units around the reference, the
other dimensions held at the current latent): the latent explorer shows the map with
the current latent on it, and a click on the map moves the latent there.
"""

from __future__ import annotations

import numpy as np


def check_flow_fits(flow, model) -> None:
    """``ValueError`` unless ``flow`` was fitted to this kind of model's latent (its
    card names the CVAE) and has as many features as the latent has dimensions."""
    cvae = (getattr(flow, "card", {}) or {}).get("metrics", {}).get("cvae")
    if cvae != model.kind or flow.config.features != model.latent_dim:
        raise ValueError(
            f"the latent flow describes {cvae}'s {flow.config.features}-D latent, "
            f"not this {model.latent_dim}-D {model.kind}"
        )


def log_density(flow, z: np.ndarray) -> float:
    """log q(z) in nats of one latent."""
    import torch

    with torch.no_grad():
        return float(flow.log_prob(torch.as_tensor(np.asarray(z, np.float32)[None])).item())


def density_slice(
    flow,
    z: np.ndarray,
    dims: tuple[int, int],
    sigma: np.ndarray,
    reference: np.ndarray,
    size: int = 64,
    span: float = 3.0,
) -> tuple[np.ndarray, tuple]:
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
