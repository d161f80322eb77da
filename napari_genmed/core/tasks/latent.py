"""The latent space of a reconstruction model, for exploring it.

A model's latent ``z`` (REC-CVAE: 32-D; HiREC-CVAE: its levels side by side;
TL-net: its 64-D code) is decoded with a *condition*: the encoded views, or the
encoding of no view at all, which gives the unconditional prior (the plain VAE view
of the same model; every model is trained with that empty view set).

Each dimension is explored in units of its prior's standard deviation ``sigma``
around the *reference*, the prior mean of the current condition (the views' point
estimate): ``z = reference + u * sigma`` with ``u`` in [-3, 3]. REC-CVAE's prior is
N(0, I); HiREC-CVAE's chain of conditional priors gives each level's mean and std
(walked at the means); TL-net has no prior, so its sigma is the spread of the
regressed codes over reference heads.

:func:`latent_directions` ranks the dimensions by how much they change the decoded
skull: the summed absolute change of the skull probability (in voxels) when the
dimension moves from -2 to +2 sigma, averaged half over ``n_reference`` held-out heads
seen through their three views (validation seeds, never trained on) and half under
the unconditional prior. Both halves matter: with three views a CVAE's latent holds
only what the views leave open (little), without views it holds the whole shape. It
is computed once per set of weights and cached on disk (keyed by the SHA-256 of the
weights).
"""

from __future__ import annotations

import numpy as np

from ..devices import out_of_memory_as_advice
from ..sim.geometry import VIEW_NAMES
from .reconstruct import Reconstruction

SLIDER_RANGE = 3.0  #: sliders span +- this many sigma


# -- conditions and priors ------------------------------------------------------
def model_device(model):
    return next(model.parameters()).device


def condition_of(model, views: dict | None):
    """The model's condition for a dict of views (any subset; see
    :func:`~.viewprep.prepare_views`), or for no views at all (``None``: the
    unconditional prior)."""
    from .viewprep import prepare_views

    c = model.config
    if views:
        images, mask = prepare_views(views, c.view_size, c.view_pixel_mm)
    else:
        images, mask = (
            np.zeros((len(VIEW_NAMES), c.view_size, c.view_size), np.float32),
            np.zeros(len(VIEW_NAMES), np.float32),
        )
    return condition_of_arrays(model, images[None], mask[None])


def condition_of_arrays(model, images: np.ndarray, mask: np.ndarray):
    import torch

    dev = model_device(model)
    with torch.no_grad():
        return model.encode_views(
            torch.as_tensor(images, device=dev), torch.as_tensor(mask, device=dev)
        )


def prior(model, condition, code_sigma=None) -> tuple[np.ndarray, np.ndarray]:
    """Reference (prior mean) and sigma of each dimension, ``(B, D)`` each."""
    import torch

    with torch.no_grad():
        mean = model.prior_mean(condition).float().cpu().numpy()
        if model.kind == "hirec-cvae":
            sigma = model.prior_std(condition).float().cpu().numpy()
        elif model.kind == "tl-net":
            if code_sigma is None:
                raise ValueError(
                    "TL-net has no prior: its sigma comes from latent_directions (code_sigma)"
                )
            sigma = np.broadcast_to(np.asarray(code_sigma, np.float32), mean.shape).copy()
        else:
            sigma = np.ones_like(mean)
    return mean, sigma


def decode(model, z, condition) -> np.ndarray:
    """Skull probability ``(S, S, S)`` (or ``(B, S, S, S)`` for a batch of latents)
    of latent(s) ``z`` under ``condition``."""
    import torch

    z = np.asarray(z, np.float32)
    single = z.ndim == 1
    zt = torch.as_tensor(np.atleast_2d(z), device=model_device(model))
    if zt.shape[1] != model.latent_dim:
        raise ValueError(
            f"z must have {model.latent_dim} values for this {model.kind}, got {zt.shape[1]}"
        )
    if not torch.isfinite(zt).all():
        raise ValueError("z holds NaN or infinite values")
    cond = _expand(condition, zt.shape[0])
    with torch.inference_mode(), out_of_memory_as_advice("decoding a latent"):
        prob = torch.sigmoid(model.decode(zt, cond))[:, 0].float().cpu().numpy()
    return prob[0] if single else prob


def _expand(condition, n: int):
    if isinstance(condition, dict):
        return {k: _expand(v, n) for k, v in condition.items()}
    if isinstance(condition, list):  # a lifted model's grids
        return [_expand(v, n) for v in condition]
    if condition.shape[0] == n:
        return condition
    return condition.expand(n, *condition.shape[1:])


def latent_reconstruction(
    model,
    z,
    condition,
    views_used: tuple[str, ...],
    threshold: float = 0.5,
    truth=None,
    with_surface: bool = True,
    with_measurements: bool = True,
) -> Reconstruction:
    """Decode ``z`` into a :class:`~.reconstruct.Reconstruction` (mask, surface,
    biometry and, with ``truth``, overlap), as the result layers show it; without
    measurements (and surface) only the probability and its threshold."""
    prob = decode(model, z, condition)
    r = Reconstruction(
        prob,
        None,
        float(model.config.spacing_mm),
        tuple(views_used),
        model.kind,
        threshold=float(threshold),
    )
    return r.recut(threshold, truth, with_surface) if with_measurements else r
