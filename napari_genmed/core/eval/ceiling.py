"""How much of the skull a set of standard planes determines: the view sets' ceiling.

A reader that sees the planes through the head centre perfectly knows every head
parameter they show (the gestational age and with it the skull's thickness, the
semi-axes lying in the planes, the shape-noise terms that do not vanish on them) and
nothing else. The best it can do is to average the skulls over what it cannot see,
drawn from the phantom prior (:func:`.phantom.sample_shape`), and threshold that
probability. Its Dice, sensitivity and precision on held-out heads bound what any
model can reach from those views on these phantoms; the views' pose jitter, speckle
and pixel size only lower it. With all three planes nothing is hidden and the bound
is 1.

The reader's draws are also the true posterior of the skull given the planes, so
they measure how far apart a model's sampled variants should lie: ``models`` adds,
per view set, each CVAE's spread (the voxel-wise standard deviation of its
thresholded latent samples, summed over the volume) beside the reader's.

``reading_error`` turns the perfect reader into an imperfect one: every semi-axis it
sees is known only to a relative Gaussian error of that size, and it averages over
that error too. One number, calibrated on three views against a trained model's
Dice, then predicts what the same quality of reading gives with views missing.

Written here rather than taken from a library: it redraws exactly the parameters of
this project's phantom generator that each plane leaves open.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..data.dataset import DatasetConfig, make_subject, subject_phantom, subject_seed
from ..metrics.overlap import overlap
from ..progress import Job, Progress
from ..sim import phantom as P
from ..sim.geometry import VIEW_NAMES
from ..sim.labels import BONE
from .paper import PAPER_TABLE1, VIEW_SETS

#: the semi-axes of :class:`.phantom.HeadShape` lying in each standard plane
_PLANE_AXES = {
    "axial": ("b", "a_front", "a_back"),
    "sagittal": ("a_front", "a_back", "c_up", "c_down"),
    "coronal": ("b", "c_up", "c_down"),
}
#: the power of the noise monomial that vanishes on each plane (z = 0, x = 0, y = 0)
_PLANE_POWER = {"axial": 0, "sagittal": 2, "coronal": 1}


def visible(views) -> tuple[set[str], tuple[bool, ...]]:
    """The semi-axes and the shape-noise terms that the planes ``views`` show.

    Only view sets with the axial plane are supported: without it the hidden
    semi-axes are tied to the seen ones through the prior (the vertex height follows
    the BPD and OFD), and redrawing them would need the posterior, not the prior."""
    views = tuple(views)
    unknown = [v for v in views if v not in VIEW_NAMES]
    if unknown:
        raise ValueError(f"unknown view {unknown[0]!r}; use {', '.join(VIEW_NAMES)}")
    if "axial" not in views:
        raise ValueError(
            "the ceiling needs the axial plane in the view set (without it the hidden semi-axes "
            "depend on the seen ones)"
        )
    axes = {a for v in views for a in _PLANE_AXES[v]}
    terms = tuple(any(powers[_PLANE_POWER[v]] == 0 for v in views) for *powers, _ in P._NOISE_TERMS)
    return axes, terms


def redraw(
    shape: P.HeadShape, views, rng: np.random.Generator, reading_error: float = 0.0
) -> P.HeadShape:
    """One head the reader of ``views`` cannot tell from ``shape``: the seen
    semi-axes (each off by ``reading_error``, relative), the rest from the prior."""
    axes, terms = visible(views)
    seen = {
        a: getattr(shape, a) * (1.0 + reading_error * rng.normal())
        if reading_error
        else getattr(shape, a)
        for a in sorted(axes)
    }
    out = replace(shape, **seen)
    if "c_up" not in axes:  # the prior's vertex height, from the BPD and OFD it follows
        c_up = P.vertex_semi_axis(
            (out.a_front + out.a_back) / 2, out.b, rng.uniform(*P.VERTEX_FACTOR)
        )
        out = replace(out, c_up=float(c_up), c_down=float(c_up * rng.uniform(*P.BASE_RATIO)))
    noise = tuple(
        c if seen_term else float(rng.normal(0.0, P.NOISE_SD) * w)
        for seen_term, c, (*_, w) in zip(terms, shape.noise, P._NOISE_TERMS)
    )
    return replace(out, noise=noise)


def spread(draws: np.ndarray) -> float:
    """How far apart binary draws ``(K, ...)`` lie: the voxel-wise standard
    deviation, summed (in voxels; 0 when every draw is the same)."""
    return share_spread(np.asarray(draws, np.float32).mean(0))


def share_spread(share: np.ndarray) -> float:
    """:func:`spread` from the share of draws calling each voxel bone."""
    return float(np.sqrt(share * (1.0 - share)).sum())


def model_variants(
    model, views: np.ndarray, mask, draws: int, seed: int, threshold: float = 0.5
) -> np.ndarray:
    """``draws`` latent samples of ``model`` from the view stack ``(3, H, W)`` with
    ``mask``, each thresholded: ``(draws, S, S, S)`` booleans."""
    import torch

    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(seed))
    with torch.no_grad():
        v = torch.as_tensor(views[None], device=device)
        m = torch.as_tensor(np.asarray(mask, np.float32)[None], device=device)
        condition = model.encode_views(v, m)
        out = [
            torch.sigmoid(model.decode(model.sample_latent(condition, generator), condition))[0, 0]
            > threshold
            for _ in range(draws)
        ]
    return torch.stack(out).cpu().numpy()


def ceiling_job(
    view_sets=tuple(VIEW_SETS),
    n: int = 50,
    draws: int = 16,
    reading_error: float = 0.0,
    thresholds=(0.4, 0.5, 0.6),
    data: DatasetConfig = DatasetConfig(),
    split: str = "test",
    models: dict | None = None,
) -> Job[list[dict]]:
    """Score the ceiling reader of each view set on ``n`` heads of ``split``: one
    row per (view set, threshold) with DC, SEN and PPV (mean +- std), the paper's
    Table 1 rows it reaches, the spread of its draws and, for each of ``models``
    (kind -> CVAE), the spread of that model's variants. Arguments are checked here,
    before the job starts."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of heads, got {n!r}")
    if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= 1024:
        raise ValueError(f"draws must be an integer in 1..1024, got {draws!r}")
    if not (np.isfinite(reading_error) and 0.0 <= reading_error < 0.5):
        raise ValueError(f"reading_error is a relative error in [0, 0.5), got {reading_error!r}")
    thresholds = tuple(float(t) for t in thresholds)
    if not thresholds or not all(0.0 < t < 1.0 for t in thresholds):
        raise ValueError(f"thresholds must lie strictly between 0 and 1, got {thresholds}")
    sets = {}
    for name in view_sets:
        if name not in VIEW_SETS:
            raise ValueError(f"unknown view set {name!r}; use {', '.join(VIEW_SETS)}")
        sets[name] = tuple(v for v, on in zip(VIEW_NAMES, VIEW_SETS[name]) if on)
        visible(sets[name])  # refuse unsupported sets before any work
    subject_seed(split, n - 1)  # a bad split or size fails here, not midway
    if tuple(data.families) != ("phantom",):
        raise ValueError(
            "the ceiling redraws the phantom family's own parameters: phantom heads only"
        )
    models = dict(models or {})
    for kind, model in models.items():
        if not getattr(model, "can_sample", True):
            raise ValueError(f"{kind} is deterministic: it has no variants to compare")
        c = model.config
        if (c.grid, c.spacing_mm, c.view_size) != (
            data.grid[0],
            data.spacing_mm,
            data.view_shape[0],
        ):
            raise ValueError(
                f"{kind} works on a {c.grid}^3 grid at {c.spacing_mm} mm with {c.view_size} px "
                "views; the data differ"
            )
    return _ceiling(sets, n, draws, reading_error, thresholds, data, split, models)


def _ceiling(sets, n, draws, reading_error, thresholds, data, split, models) -> Job[list[dict]]:
    scores = {(name, t): [] for name in sets for t in thresholds}
    spreads = {(name, who): [] for name in sets for who in ["reader", *models]}
    total, done = n * len(sets), 0
    for i in range(n):
        seed = subject_seed(split, i)
        ph = subject_phantom(seed, data)
        truth = ph.skull
        images = (
            make_subject(seed, data, ph)["views"] if models else None
        )  # the same head's simulated planes
        for k, (name, planes) in enumerate(sets.items()):
            axes, terms = visible(planes)
            exact = (
                reading_error == 0.0 and len(axes) == 5 and all(terms)
            )  # nothing to average over
            rng = np.random.default_rng([seed, k, int(round(reading_error * 1e6))])
            guess = (
                redraw(ph.shape_params, planes, rng, reading_error)
                if reading_error
                else ph.shape_params
            )
            prob = np.zeros(truth.shape, np.float32)
            for _ in range(1 if exact else draws):
                prob += (
                    P.rasterise(
                        redraw(guess, planes, rng, reading_error), data.grid, data.spacing_mm
                    )
                    == BONE
                )
            prob /= 1 if exact else draws
            for t in thresholds:
                scores[(name, t)].append(overlap(prob > t, truth))
            spreads[(name, "reader")].append(share_spread(prob))
            for kind, model in models.items():
                spreads[(name, kind)].append(
                    spread(model_variants(model, images, VIEW_SETS[name], draws, seed))
                )
            done += 1
            yield Progress(done, total, f"head {i + 1} of {n}: {name}")

    rows = []
    for (name, t), values in scores.items():
        row = {
            "views": name,
            "threshold": t,
            "n": n,
            "draws": draws,
            "reading_error": reading_error,
            "split": split,
        }
        for key in ("dice", "sen", "ppv"):
            arr = np.array([v[key] for v in values])
            row[key], row[key + "_std"] = float(arr.mean()), float(arr.std())
        row["reaches"] = [
            m
            for m, table in PAPER_TABLE1.items()
            if all(row[k] >= p for k, p in zip(("dice", "sen", "ppv"), table[name]))
        ]
        row["spread_voxels"] = {
            who: float(np.mean(v)) for (set_name, who), v in spreads.items() if set_name == name
        }
        rows.append(row)
    return rows


def format_ceiling(rows: list[dict]) -> str:
    """Rows as a Markdown table: the ceiling per view set and threshold."""
    lines = [
        "| views | reading error | threshold | DC | SEN | PPV | paper rows reached | spread "
        "(voxels) |",
        "|" + "---|" * 8,
    ]
    for r in rows:
        ms = lambda k, r=r: f"{r[k]:.3f} +- {r[k + '_std']:.3f}"  # noqa: E731
        spread_text = ", ".join(f"{who} {v:.0f}" for who, v in r["spread_voxels"].items())
        lines.append(
            f"| {r['views']} | {r['reading_error']:g} | {r['threshold']:g} | {ms('dice')} | "
            f"{ms('sen')} | {ms('ppv')} | "
            f"{', '.join(r['reaches']) or 'none'} | {spread_text} |"
        )
    return "\n".join(lines)
