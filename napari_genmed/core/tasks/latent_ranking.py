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

DIRECTIONS_VERSION = 3  #: bump when the ranking changes, so old cache entries are ignored


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
    effect_views: tuple[float, ...] = ()  #: per dimension, with the three views (mean over heads)
    effect_prior: tuple[float, ...] = ()  #: per dimension, under the prior (no views)
    #: per dimension: mean |change| (mm) of BPD, OFD and HC for -2 -> +2 sigma with the three
    #: views (NaN where a decode is not a closed vault)
    biometry: tuple[tuple[float, float, float], ...] = ()
    #: the top dimensions' effect with the axial view alone: how much more moves with fewer
    #: views ((dimension, voxels) pairs)
    effect_axial: tuple[tuple[int, float], ...] = ()

    BIOMETRY_KEYS = ("BPD", "OFD", "HC")

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
            effect_views=tuple(float(v) for v in d.get("effect_views", ())),
            effect_prior=tuple(float(v) for v in d.get("effect_prior", ())),
            biometry=tuple(tuple(float(x) for x in row) for row in d.get("biometry", ())),
            effect_axial=tuple((int(k), float(v)) for k, v in d.get("effect_axial", ())),
        )

    def moves_most(self, dim: int) -> tuple[str, float] | None:
        """The biometry dimension ``dim`` moves most with the three views, and by how
        much (mm, -2 -> +2 sigma); None when not measured."""
        if dim >= len(self.biometry) or not np.isfinite(self.biometry[dim]).any():
            return None
        row = np.nan_to_num(np.asarray(self.biometry[dim], float), nan=-1.0)
        k = int(np.argmax(row))
        return self.BIOMETRY_KEYS[k], float(row[k])

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
def _reference_images(model, n: int) -> np.ndarray:
    """The three views of the first ``n`` validation heads, ``(n, 3, H, W)``."""
    from ..data.dataset import DatasetConfig, make_subject, subject_seed

    c = model.config
    data = DatasetConfig(
        grid=(c.grid,) * 3,
        spacing_mm=c.spacing_mm,
        view_shape=(c.view_size,) * 2,
        pixel_mm=c.view_pixel_mm,
    )
    return np.stack([make_subject(subject_seed("val", i), data)["views"] for i in range(n)]).astype(
        np.float32
    )


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
    images = _reference_images(model, n)
    conditions = condition_of_arrays(model, images, np.ones((n, len(VIEW_NAMES)), np.float32))
    code_sigma = None
    if model.kind == "tl-net":
        with torch.no_grad():
            codes = model.prior_mean(conditions).float().cpu().numpy()
        code_sigma = tuple(float(v) for v in np.maximum(codes.std(0), 1e-3))
    dims, chunk = model.latent_dim, max(2, int(chunk) // 2 * 2)  # whole (-, +) pairs per batch
    total = n + 3
    with_views, biometry = np.zeros(dims), []
    for i in range(n):
        message = Progress(
            1 + i, total, f"ranking the {dims} dimensions on reference head {i + 1} of {n}"
        )
        effect_i, bio_i = yield from _effects(
            model, _index(conditions, i), code_sigma, step, chunk, message, measure_biometry=True
        )
        with_views += effect_i / n
        biometry.append(bio_i)
    message = Progress(n + 1, total, f"ranking the {dims} dimensions under the prior")
    unconditional, _ = yield from _effects(
        model, condition_of(model, None), code_sigma, step, chunk, message
    )
    effect = 0.5 * with_views + 0.5 * unconditional
    order = tuple(int(d) for d in np.argsort(-effect, kind="stable"))
    message = Progress(n + 2, total, "the top dimensions with the axial view alone")
    top = order[:TOP_AXIAL]
    axial = np.zeros(len(top))
    only_axial = np.zeros((n, len(VIEW_NAMES)), np.float32)
    only_axial[:, 0] = 1.0
    axial_conditions = condition_of_arrays(model, images, only_axial)
    for i in range(n):
        cond = _index(axial_conditions, i)
        part, _ = yield from _effects(model, cond, code_sigma, step, chunk, message, dims=top)
        axial += part / n
    with np.errstate(all="ignore"):
        bio = np.nanmean(np.abs(np.stack(biometry)), axis=0)  # (dims, 3)
    found = LatentDirections(
        tuple(float(e) for e in effect),
        order,
        latent_groups(model),
        code_sigma,
        fp,
        n,
        effect_views=tuple(float(e) for e in with_views),
        effect_prior=tuple(float(e) for e in unconditional),
        biometry=tuple(tuple(float(x) for x in row) for row in bio),
        effect_axial=tuple((int(d), float(e)) for d, e in zip(top, axial)),
    )
    if use_cache:
        _write_cached(path, found)
    return found


TOP_AXIAL = 3  #: dimensions also measured with the axial view alone (a few: it costs decodes)


def _effects(
    model,
    condition,
    code_sigma,
    step: float,
    chunk: int,
    message: Progress,
    measure_biometry: bool = False,
    dims=None,
):
    """Per dimension (all, or those of ``dims``): summed |probability change| between
    -step and +step sigma around the prior mean of one condition (batched decodes),
    and with ``measure_biometry`` the change of BPD, OFD and HC (mm; NaN where a decode
    is no closed vault); a job that yields ``message`` after every batch (so Cancel
    acts within one batch)."""
    from ..metrics.volume_biometry import measure

    picked = list(range(model.latent_dim)) if dims is None else [int(d) for d in dims]
    mean, sigma = prior(model, condition, code_sigma)
    # rows 2k and 2k + 1: dimension picked[k] at -step and +step sigma
    z = np.repeat(mean, 2 * len(picked), axis=0)
    unit = np.eye(model.latent_dim, dtype=np.float32)[picked] * step * sigma
    z[0::2, :] -= unit
    z[1::2, :] += unit
    effect = np.zeros(len(picked))
    bio = np.full((len(picked), 3), np.nan)
    for start in range(0, 2 * len(picked), chunk):
        part = z[start : start + chunk]
        prob = decode(model, part, _expand(condition, len(part)))
        rows = slice(start // 2, (start + len(part)) // 2)
        effect[rows] = np.abs(prob[1::2] - prob[0::2]).reshape(len(part) // 2, -1).sum(1)
        if measure_biometry:
            for k, (lo, hi) in enumerate(zip(prob[0::2], prob[1::2])):
                try:
                    a, b = (
                        measure(lo, model.config.spacing_mm),
                        measure(hi, model.config.spacing_mm),
                    )
                except ValueError:
                    continue  # not a closed vault at one end: no biometry change
                bio[rows.start + k] = [b[key] - a[key] for key in ("bpd_mm", "ofd_mm", "hc_mm")]
        yield message
    return effect, bio


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
