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

from . import phantom as P
from .dataset import DatasetConfig, subject_ga, subject_seed
from .evaluation import PAPER_TABLE1, VIEW_SETS
from .geometry import VIEW_NAMES
from .labels import BONE
from .metrics import overlap
from .progress import Job, Progress

#: the semi-axes of :class:`.phantom.HeadShape` lying in each standard plane
_PLANE_AXES = {"axial": ("b", "a_front", "a_back"), "sagittal": ("a_front", "a_back", "c_up", "c_down"), "coronal": ("b", "c_up", "c_down")}
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
        raise ValueError("the ceiling needs the axial plane in the view set (without it the hidden semi-axes depend on the seen ones)")
    axes = {a for v in views for a in _PLANE_AXES[v]}
    terms = tuple(any(powers[_PLANE_POWER[v]] == 0 for v in views) for *powers, _ in P._NOISE_TERMS)
    return axes, terms


def redraw(shape: P.HeadShape, views, rng: np.random.Generator, reading_error: float = 0.0) -> P.HeadShape:
    """One head the reader of ``views`` cannot tell from ``shape``: the seen
    semi-axes (each off by ``reading_error``, relative), the rest from the prior."""
    axes, terms = visible(views)
    seen = {a: getattr(shape, a) * (1.0 + reading_error * rng.normal()) if reading_error else getattr(shape, a) for a in sorted(axes)}
    out = replace(shape, **seen)
    if "c_up" not in axes:  # the prior's vertex height, from the BPD and OFD it follows
        c_up = 0.90 * ((out.a_front + out.a_back) / 2 + out.b) / 2 * rng.uniform(0.94, 1.06)
        out = replace(out, c_up=float(c_up), c_down=float(c_up * rng.uniform(0.72, 0.82)))
    noise = tuple(c if seen_term else float(rng.normal(0.0, 0.012) * w) for seen_term, c, (*_, w) in zip(terms, shape.noise, P._NOISE_TERMS))
    return replace(out, noise=noise)


def ceiling_job(
    view_sets=tuple(VIEW_SETS), n: int = 50, draws: int = 16, reading_error: float = 0.0,
    thresholds=(0.4, 0.5, 0.6), data: DatasetConfig = DatasetConfig(), split: str = "test",
) -> Job[list[dict]]:
    """Score the ceiling reader of each view set on ``n`` heads of ``split``: one
    row per (view set, threshold) with DC, SEN and PPV (mean +- std) and the paper's
    Table 1 rows it reaches. Arguments are checked here, before the job starts."""
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
    return _ceiling(sets, n, draws, reading_error, thresholds, data, split)


def _ceiling(sets, n, draws, reading_error, thresholds, data, split) -> Job[list[dict]]:
    scores = {(name, t): [] for name in sets for t in thresholds}
    total, done = n * len(sets), 0
    for i in range(n):
        seed = subject_seed(split, i)
        ph = P.make_phantom(subject_ga(seed, data), seed, data.grid, data.spacing_mm)
        truth = ph.skull
        for k, (name, views) in enumerate(sets.items()):
            axes, terms = visible(views)
            exact = reading_error == 0.0 and len(axes) == 5 and all(terms)  # nothing to average over
            rng = np.random.default_rng([seed, k, int(round(reading_error * 1e6))])
            guess = redraw(ph.shape_params, views, rng, reading_error) if reading_error else ph.shape_params
            prob = np.zeros(truth.shape, np.float32)
            for _ in range(1 if exact else draws):
                head = redraw(guess, views, rng, reading_error)
                prob += P.rasterise(head, data.grid, data.spacing_mm) == BONE
            prob /= 1 if exact else draws
            for t in thresholds:
                scores[(name, t)].append(overlap(prob > t, truth))
            done += 1
            yield Progress(done, total, f"head {i + 1} of {n}: {name}")

    rows = []
    for (name, t), values in scores.items():
        row = {"views": name, "threshold": t, "n": n, "draws": draws, "reading_error": reading_error, "split": split}
        for key in ("dice", "sen", "ppv"):
            arr = np.array([v[key] for v in values])
            row[key], row[key + "_std"] = float(arr.mean()), float(arr.std())
        row["reaches"] = [m for m, table in PAPER_TABLE1.items() if all(row[k] >= p for k, p in zip(("dice", "sen", "ppv"), table[name]))]
        rows.append(row)
    return rows


def format_ceiling(rows: list[dict]) -> str:
    """Rows as a Markdown table: the ceiling per view set and threshold."""
    lines = ["| views | reading error | threshold | DC | SEN | PPV | paper rows reached |", "|" + "---|" * 7]
    for r in rows:
        ms = lambda k: f"{r[k]:.3f} +- {r[k + '_std']:.3f}"  # noqa: E731
        lines.append(
            f"| {r['views']} | {r['reading_error']:g} | {r['threshold']:g} | {ms('dice')} | {ms('sen')} | {ms('ppv')} | "
            f"{', '.join(r['reaches']) or 'none'} |"
        )
    return "\n".join(lines)
