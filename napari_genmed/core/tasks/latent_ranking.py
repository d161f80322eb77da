"""Ranking a model's latent dimensions by how much they change the decoded skull.

:func:`latent_directions` (and its job, :func:`directions_job`) measures, per
dimension, the summed absolute change of the skull probability (in voxels) when the
dimension moves from -2 to +2 sigma, averaged half over ``n_reference`` held-out
heads seen through their three views (validation seeds, never trained on) and half
under the unconditional prior. Both halves matter: with three views a CVAE's latent
holds only what the views leave open (little), without views it holds the whole
shape. It is computed once per set of weights and cached on disk (keyed by the
SHA-256 of the weights).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..progress import Job, Progress, run
from ..sim.geometry import VIEW_NAMES
from .latent import _expand, condition_of, condition_of_arrays, decode, prior

DIRECTIONS_VERSION = 2  #: bump when the ranking changes, so old cache entries are ignored


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
    """``$NAPARI_GENMED_CACHE``, else ``$XDG_CACHE_HOME/napari-genmed``, else
    ``~/.cache/napari-genmed``."""
    if os.environ.get("NAPARI_GENMED_CACHE"):
        return Path(os.environ["NAPARI_GENMED_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "napari-genmed"


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
    if isinstance(condition, list):
        return [_index(v, i) for v in condition]
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
