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

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..devices import out_of_memory_as_advice
from ..progress import Job, Progress, run
from ..sim.geometry import VIEW_NAMES
from .reconstruct import Reconstruction

DIRECTIONS_VERSION = 2  #: bump when the ranking changes, so old cache entries are ignored
SLIDER_RANGE = 3.0  #: sliders span +- this many sigma


@dataclass(frozen=True)
class LatentDirections:
    effect: tuple[
        float, ...
    ]  #: per dimension: summed |change of skull probability| (voxels) for -2 -> +2 sigma
    order: tuple[int, ...]  #: dimensions by decreasing effect
    groups: tuple[tuple[str, tuple[int, ...]], ...]  #: (name, dimensions) e.g. HiREC's levels
    code_sigma: tuple[float, ...] | None  #: TL-net: the spread of the code (it has no prior)
    fingerprint: str  #: SHA-256 of the weights they were computed for
    n_reference: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LatentDirections:
        return cls(
            effect=tuple(float(v) for v in d["effect"]),
            order=tuple(int(v) for v in d["order"]),
            groups=tuple((str(n), tuple(int(v) for v in dims)) for n, dims in d["groups"]),
            code_sigma=None
            if d.get("code_sigma") is None
            else tuple(float(v) for v in d["code_sigma"]),
            fingerprint=str(d["fingerprint"]),
            n_reference=int(d["n_reference"]),
        )

    def group_of(self, dim: int) -> str:
        for name, dims in self.groups:
            if dim in dims:
                return name
        return ""


def latent_groups(model) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The latent's parts: HiREC-CVAE's levels (axial, sagittal, coronal), else one."""
    if model.kind == "hirec-cvae":
        return tuple(
            (f"level {k + 1} ({view})", tuple(range(s.start, s.stop)))
            for k, (view, s) in enumerate(zip(VIEW_NAMES, model.levels()))
        )
    return (("code" if model.kind == "tl-net" else "latent", tuple(range(model.latent_dim))),)


def fingerprint(model) -> str:
    """SHA-256 of the model's kind, config and weights."""
    h = hashlib.sha256(
        json.dumps(
            {"kind": model.kind, "config": model.config_dict()}, sort_keys=True, default=list
        ).encode()
    )
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def cache_dir() -> Path:
    """``$NAPARI_GENMED_CACHE``, else ``$XDG_CACHE_HOME/napari-genmed``, else ``~/.cache/napari-genmed``."""
    if os.environ.get("NAPARI_GENMED_CACHE"):
        return Path(os.environ["NAPARI_GENMED_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "napari-genmed"


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
    if condition.shape[0] == n:
        return condition
    return condition.expand(n, *condition.shape[1:])


# -- ranking the dimensions -----------------------------------------------------
def _reference_conditions(model, n: int):
    from ..data.dataset import DatasetConfig, make_subject, subject_seed

    c = model.config
    data = DatasetConfig(
        grid=(c.grid,) * 3,
        spacing_mm=c.spacing_mm,
        view_shape=(c.view_size,) * 2,
        pixel_mm=c.view_pixel_mm,
    )
    subjects = [make_subject(subject_seed("val", i), data) for i in range(n)]
    images = np.stack([s["views"] for s in subjects]).astype(np.float32)
    return condition_of_arrays(model, images, np.ones((n, len(VIEW_NAMES)), np.float32))


def directions_job(
    model, n_reference: int = 4, use_cache: bool = True, step: float = 2.0, chunk: int = 16
) -> Job[LatentDirections]:
    """Rank the latent dimensions (see the module docstring): per reference head
    one batched decode of every dimension at +-``step`` sigma; a job that yields
    progress per head. Seconds at 64^3; the result is cached on disk."""
    import torch

    n = int(n_reference)
    if not 1 <= n <= 64:
        raise ValueError(f"n_reference must lie in 1..64, got {n_reference}")
    fp = fingerprint(model)
    path = cache_dir() / "latent" / f"{fp[:32]}-v{DIRECTIONS_VERSION}-n{n}.json"
    found = _read_cached(path, fp, model.latent_dim) if use_cache else None
    if found is not None:
        return found
    yield Progress(0, n + 2, "simulating reference heads")
    conditions = _reference_conditions(model, n)
    code_sigma = None
    if model.kind == "tl-net":
        with torch.no_grad():
            codes = model.prior_mean(conditions).float().cpu().numpy()
        code_sigma = tuple(float(v) for v in np.maximum(codes.std(0), 1e-3))
    dims, chunk = model.latent_dim, max(2, int(chunk) // 2 * 2)  # whole (-, +) pairs per batch
    with_views = np.zeros(dims)
    for i in range(n):
        message = Progress(
            1 + i, n + 2, f"ranking the {dims} dimensions on reference head {i + 1} of {n}"
        )
        with_views += (
            yield from _effects(model, _index(conditions, i), code_sigma, step, chunk, message)
        ) / n
    message = Progress(n + 1, n + 2, f"ranking the {dims} dimensions under the prior")
    unconditional = yield from _effects(
        model, condition_of(model, None), code_sigma, step, chunk, message
    )
    effect = 0.5 * with_views + 0.5 * unconditional
    order = tuple(int(d) for d in np.argsort(-effect, kind="stable"))
    found = LatentDirections(
        tuple(float(e) for e in effect), order, latent_groups(model), code_sigma, fp, n
    )
    if use_cache:
        _write_cached(path, found)
    return found


def _effects(model, condition, code_sigma, step: float, chunk: int, message: Progress):
    """Per dimension: summed |probability change| between -step and +step sigma
    around the prior mean of one condition (batched decodes); a job that yields
    ``message`` after every batch (so Cancel acts within one batch)."""
    dims = model.latent_dim
    mean, sigma = prior(model, condition, code_sigma)
    z = np.repeat(
        mean, 2 * dims, axis=0
    )  # rows 2d and 2d + 1: dimension d at -step and +step sigma
    z[0::2, :] -= np.eye(dims, dtype=np.float32) * step * sigma
    z[1::2, :] += np.eye(dims, dtype=np.float32) * step * sigma
    effect = np.zeros(dims)
    for start in range(0, 2 * dims, chunk):
        part = z[start : start + chunk]
        prob = decode(model, part, _expand(condition, len(part)))
        effect[start // 2 : (start + len(part)) // 2] = (
            np.abs(prob[1::2] - prob[0::2]).reshape(len(part) // 2, -1).sum(1)
        )
        yield message
    return effect


def _index(condition, i: int):
    if isinstance(condition, dict):
        return {k: _index(v, i) for k, v in condition.items()}
    return condition[i : i + 1]


def _read_cached(path: Path, fp: str, dims: int) -> LatentDirections | None:
    try:
        found = LatentDirections.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or damaged: recomputed
    return found if found.fingerprint == fp and len(found.effect) == dims else None


def _write_cached(path: Path, found: LatentDirections) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(found.to_dict()))
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache: recomputed next time


def latent_directions(model, n_reference: int = 4, use_cache: bool = True) -> LatentDirections:
    """The ranked latent dimensions of ``model`` (from the on-disk cache when these
    weights were ranked before)."""
    return run(directions_job(model, n_reference, use_cache))


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
