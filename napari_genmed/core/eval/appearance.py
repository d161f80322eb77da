"""A scanner appearance for evaluation only: a second, independent way to form the image.

This project's renderer (:mod:`~..sim.ultrasound`) traces the lines of a curvilinear
probe through acoustic property volumes (impedance, attenuation, backscatter) and
forms reflections from impedance steps. Nothing is trained on the appearance here,
and it shares none of that code path. It is a *convolution model* (Bamber & Dickinson,
Phys. Med. Biol. 1980; Gao et al., IEEE TUFFC 2009), formed on the pixel grid of a
*phased-array sector* (apex at the top centre, no probe curvature):

- each pixel's tissue is the plane's label there (nearest), its echo strength a table
  of this module's own (:data:`ECHOGENICITY`), not the acoustic properties;
- specular echoes: the magnitude of the depth derivative of a smoothed "brightness"
  map of the labels (boundaries facing the beam), bone strongest;
- a diffuse part: complex Gaussian scatterers on the pixel grid scaled by the echo
  strength; the two convolved with an analytic 2D point-spread function (a complex
  carrier along depth under a Gaussian, wider laterally and widening with depth), the
  envelope its modulus;
- shadowing behind bone along each beam (the beams are the sector's rays),
  attenuation with depth and its compensation with a different law, log compression
  to :attr:`ConvolutionProbe.dynamic_range_db` and a display gamma;
- black outside the sector.

:func:`convolution_views` renders a head's three planes at the poses the project's own
renderer would use, so the two appearances differ in image formation only. A second
evaluation-only appearance, beamformed from simulated channel data, is in
:mod:`.beamformed`, a third (speckle as resolution cells, then a scanner's speckle
reduction and edge enhancement) in :mod:`.processed`; :func:`evaluate_appearance_job`
reports all three.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sim import labels as L
from ..sim.geometry import VIEW_NAMES, Pose

#: echo strength per label (this module's own, for an appearance no model saw)
ECHOGENICITY = {
    L.FLUID: 0.01,
    L.BONE: 1.0,
    L.BRAIN: 0.20,
    L.FALX: 0.45,
    L.CSP: 0.02,
    L.VENTRICLE: 0.02,
    L.CHOROID: 0.55,
    L.THALAMUS: 0.12,
    L.SCALP: 0.35,
    L.MEMBRANE: 0.30,
}


@dataclass(frozen=True)
class ConvolutionProbe:
    half_angle_deg: float = 40.0  #: half the sector's opening
    wavelength_mm: float = 0.44  #: 3.5 MHz in tissue
    axial_sigma_mm: float = 0.5  #: pulse envelope
    lateral_sigma_mm: float = 0.9  #: beam width near the probe ...
    lateral_growth: float = 0.012  #: ... widening with depth (per mm)
    bone_shadow: float = 0.35  #: transmission lost per mm of bone crossed
    attenuation_db_mm: float = 0.05  #: round trip
    tgc_db_mm: float = 0.04  #: compensated, less than lost: deep tissue darker
    dynamic_range_db: float = 48.0
    gamma: float = 1.3  #: display gamma
    specular_gain: float = 6.0  #: boundaries relative to the diffuse echo
    wall_mm: float = 8.0  #: a bright band of maternal wall under the probe
    #: the envelope shown as white: fixed, as a scanner's gain is (None: the envelope
    #: itself); the median 99.5th percentile of head planes (9 planes, GA 20-36)
    reference: float | None = 3.46


def _psf(probe: ConvolutionProbe, pixel_mm: float, depth_mm: float) -> np.ndarray:
    """The analytic PSF at ``depth_mm`` on the pixel grid (rows: depth)."""
    half = int(np.ceil(3 * max(probe.axial_sigma_mm, probe.lateral_sigma_mm * 3) / pixel_mm))
    z, x = np.meshgrid(*(np.arange(-half, half + 1) * pixel_mm,) * 2, indexing="ij")
    lateral = probe.lateral_sigma_mm + probe.lateral_growth * depth_mm
    envelope = np.exp(-(z**2) / (2 * probe.axial_sigma_mm**2) - x**2 / (2 * lateral**2))
    return envelope * np.exp(2j * np.pi * z / probe.wavelength_mm)


def convolution_view(
    labels: np.ndarray,
    spacing_mm: float,
    pose: Pose,
    seed: int = 0,
    probe: ConvolutionProbe = ConvolutionProbe(),
) -> np.ndarray:
    """The plane ``pose`` through label volume ``labels`` in this appearance: an
    ``(H, W)`` float32 image in [0, 1]."""
    from scipy import ndimage, signal

    h, w = pose.shape
    sp = pose.spacing_mm
    lab = L.labels_on_plane(np.asarray(labels), spacing_mm, pose)
    table = L.lookup(ECHOGENICITY, dtype=np.float32)
    echo = table[np.clip(lab, 0, len(table) - 1)]
    rows, cols = np.meshgrid(np.arange(h) * sp, (np.arange(w) - (w - 1) / 2) * sp, indexing="ij")
    depth = np.hypot(rows, cols)  # from the apex at the top centre
    wall = depth < probe.wall_mm
    echo = np.where(wall, 0.5, echo)
    bright = ndimage.gaussian_filter(echo, 0.6 / sp)
    specular = np.abs(np.gradient(bright, axis=0)) * probe.specular_gain
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 11])
    field = (rng.standard_normal((h, w)) + 1j * rng.standard_normal((h, w))) / np.sqrt(2)
    source = echo * field + specular
    shallow = signal.fftconvolve(source, _psf(probe, sp, 20.0), mode="same")
    deep = signal.fftconvolve(source, _psf(probe, sp, 100.0), mode="same")
    t = np.clip(depth / 100.0, 0.0, 1.0)  # the beam widens with depth
    envelope = np.abs((1 - t) * shallow + t * deep)
    # shadowing behind bone along each ray (rays: straight lines from the apex)
    bone = (lab == L.BONE).astype(np.float32)
    angle = np.arctan2(cols, rows + 1e-6)
    n_rays, n_r = 2 * w, int(np.ceil(depth.max() / sp)) + 1
    ray_angle = np.linspace(
        -np.deg2rad(probe.half_angle_deg), np.deg2rad(probe.half_angle_deg), n_rays
    )
    r = np.arange(n_r) * sp
    ray_rows = (r[None, :] * np.cos(ray_angle)[:, None]) / sp
    ray_cols = (r[None, :] * np.sin(ray_angle)[:, None]) / sp + (w - 1) / 2
    along = ndimage.map_coordinates(bone, [ray_rows, ray_cols], order=1, mode="constant")
    crossed = np.cumsum(along, axis=1) * sp
    li = (angle - ray_angle[0]) / (ray_angle[1] - ray_angle[0])
    shadow = ndimage.map_coordinates(crossed, [li, depth / sp], order=1, mode="nearest")
    gain_db = (probe.tgc_db_mm - probe.attenuation_db_mm) * depth
    envelope = envelope * np.exp(-probe.bone_shadow * shadow) * 10 ** (gain_db / 20)
    if probe.reference is None:  # the measurement of the reference itself
        return envelope.astype(np.float32)
    db = 20 * np.log10(envelope / probe.reference + 1e-9)
    image = np.clip(1.0 + db / probe.dynamic_range_db, 0.0, 1.0) ** probe.gamma
    image[np.abs(angle) > np.deg2rad(probe.half_angle_deg)] = 0.0
    return image.astype(np.float32)


def planes_in(render, labels, spacing_mm: float, poses: dict[str, Pose], seed: int = 0) -> dict:
    """A head's planes (``poses``, e.g. those of the project's own rendering) drawn by
    ``render(labels, spacing_mm, pose, seed)``, each plane with a seed of its own."""
    return {
        name: render(labels, spacing_mm, poses[name], seed * 3 + k)
        for k, name in enumerate(VIEW_NAMES)
        if name in poses
    }


def convolution_views(
    labels: np.ndarray, spacing_mm: float, poses: dict[str, Pose], seed: int = 0
) -> dict[str, np.ndarray]:
    """A head's planes in this appearance (:func:`planes_in`)."""
    return planes_in(convolution_view, labels, spacing_mm, poses, seed)


def held_out_appearances() -> dict:
    """The appearances written for evaluation only, by name: a head's planes at given
    poses, ``f(labels, spacing_mm, poses, seed) -> {view: image}``."""
    from .beamformed import beamformed_views
    from .processed import processed_views

    return {
        "convolution": convolution_views,
        "beamformed": beamformed_views,
        "processed": processed_views,
    }


def subject_poses(item) -> dict:
    """The poses of a subject's three views (``item["poses"]``, as the dataset stores
    them), by view name."""
    from ..sim.geometry import Pose

    return {
        name: Pose(tuple(v[:3]), tuple(v[3:6]), tuple(v[6:9]), float(v[9]), (128, 128))
        for name, v in zip(VIEW_NAMES, item["poses"])
    }


def evaluate_appearance_job(
    models: dict,
    gate,
    n: int = 20,
    families=("phantom", "deformed"),
    appearances=None,
    split: str = "test",
):
    """Per family and model: three-view DC (and HC error) of held-out heads (``split``:
    the test heads of the reported tables, or the validation heads a run's rule is
    judged on) rendered by the project's own simulator and, at the same poses, in each
    evaluation-only appearance (:func:`held_out_appearances`; ``appearances`` picks
    some by name); and the plane gate's acceptance of every rendering. Issue 24's
    target: three-view DC within 0.03 of the training appearance."""
    from dataclasses import replace

    from ..data.dataset import DatasetConfig, PhantomDataset
    from ..progress import Progress
    from ..tasks.plausibility import assess_prepared
    from ..tasks.reconstruct import reconstruct
    from ..tasks.viewprep import prepare_views
    from .reconstruction import head_metrics

    held_out = held_out_appearances()
    names = list(held_out) if appearances is None else list(appearances)
    if split not in ("test", "val"):
        raise ValueError(f"split must be 'test' or 'val', not {split!r}")
    unknown = [a for a in names if a not in held_out]
    if unknown:
        raise ValueError(f"unknown appearance(s) {unknown}; known: {sorted(held_out)}")
    looks = ["own", *names]
    rows, total = [], n * len(families)
    for f, family in enumerate(families):
        data = replace(DatasetConfig(), families=(family,))
        ds = PhantomDataset(split, n, data)
        scores = {(m, a): [] for m in models for a in looks}
        accepted = {a: [] for a in looks}
        for i in range(n):
            item = ds.arrays(i)
            poses = subject_poses(item)
            renders = {"own": {name: (item["views"][k], 1.0) for k, name in enumerate(VIEW_NAMES)}}
            for look in names:
                images = held_out[look](item["labels"], data.spacing_mm, poses, int(item["seed"]))
                renders[look] = {name: (img, 1.0) for name, img in images.items()}
            for look, views in renders.items():
                images, _ = prepare_views(views, gate.config.view_size, gate.config.view_pixel_mm)
                verdicts = assess_prepared(gate, images, list(VIEW_NAMES))
                accepted[look] += [v.verdict == "plausible" for v in verdicts]
                for name, model in models.items():
                    r = reconstruct(model, views)
                    m = head_metrics(r.probability, item, r.spacing_mm, 0.5, frame_free=False)
                    scores[(name, look)].append((m["dice"], m["hc_err_mm"]))
            yield Progress(f * n + i + 1, total, f"{family} heads")
        for name in models:
            row = dict(family=family, model=name, heads=n, split=split, appearances=names)
            for look in looks:
                arr = np.array(scores[(name, look)])
                row[f"dice_{look}"] = float(np.median(arr[:, 0]))
                row[f"hc_err_{look}_mm"] = float(np.nanmedian(arr[:, 1]))
                row[f"gate_accepts_{look}"] = float(np.mean(accepted[look]))
            row["meets_target"] = all(row["dice_own"] - row[f"dice_{a}"] <= 0.03 for a in names)
            rows.append(row)
    return rows


def format_appearance(rows: list[dict]) -> str:
    """The rows as a table: per family and model, three-view DC, HC error and the
    gate's acceptance in the own appearance and each evaluation-only one."""
    if not rows:
        return "no rows"
    looks = ["own", *rows[0]["appearances"]]
    head = "family     model        " + "  ".join(f"{a:>24}" for a in looks)
    lines = [head, "             (DC / HC error mm / gate accepts)", "-" * len(head)]
    for r in rows:
        cells = [
            f"{r[f'dice_{a}']:.3f} / {r[f'hc_err_{a}_mm']:4.1f} / {r[f'gate_accepts_{a}']:6.1%}"
            for a in looks
        ]
        lines.append(f"{r['family']:<11}{r['model']:<13}" + "  ".join(f"{c:>24}" for c in cells))
    lines.append("target: three-view DC in every evaluation-only appearance within 0.03 of the own")
    return "\n".join(lines)
