"""Fitting the plane gate (:mod:`..nets.plane_gate`) on the training views.

No network is trained: the view encoders are copied from a trained reconstruction
model, the Gaussians and the calibration are statistics of the training split's
views (two disjoint sets of subjects), and the plane classifier is a multinomial
logistic regression on their features (full-batch L-BFGS), with off-standard planes
rendered through training heads as its fourth class. Everything is drawn from the
training families; the evaluation's inputs (:mod:`..eval.plausibility`) are not.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ..data.dataset import (
    DatasetConfig,
    PhantomDataset,
    scan_acquisition,
    subject_phantom,
    subject_seed,
)
from ..nets.plane_gate import CLASSES, PlaneGate, PlaneGateConfig, shrunk_precision
from ..progress import Job, Progress
from ..sim.acquisition import burn_in
from ..sim.geometry import VIEW_NAMES, adjusted_pose, standard_pose
from ..sim.medium import Medium
from ..sim.ultrasound import simulate_view
from .settings import settings_from_dict

OFFSET_MM = (22.0, 45.0)  #: off-standard: moved this far along the normal ...
TILT_DEG = (30.0, 70.0)  #: ... or tilted this far about the plane's row axis


@dataclass(frozen=True)
class GateFitConfig:
    #: the bundled model (or checkpoint) whose view encoders the gate copies
    source: str = "tl-net"
    data: dict = field(default_factory=dict)  #: DatasetConfig fields (the training families)
    fit_size: int = 2000  #: training subjects whose views fit the Gaussians and classifier
    #: other training subjects: the p-values' reference (and the classifier's check)
    calibration_size: int = 1600
    off_standard_heads: int = 300  #: training heads rendered at two off-standard poses each
    classifier_steps: int = 200  #: L-BFGS iterations (converged well before, measured)
    #: the gate judges views at 1/pool of the models' resolution (2: 64 px of 2 mm, a
    #: quarter of the convolutions), brought there as every view it judges is
    pool: int = 1
    weight_decay: float = 1e-4  #: L2 on the classifier's weights (standardised features)
    seed: int = 0
    cache_dir: str | None = None
    kind: str = "plane-gate"

    @classmethod
    def from_dict(cls, d: dict) -> GateFitConfig:
        return settings_from_dict(cls, d)


def off_standard_views(seeds, config: DatasetConfig, rng: np.random.Generator) -> np.ndarray:
    """Views through the heads of ``seeds`` far from every standard plane: for each
    head and standard plane one of them moved 22-45 mm along its normal or tilted
    30-70 degrees (plus up to 20 about the other axis); scanned as the head's standard
    planes are (with ``config.vary_acquisition``, its drawn scanner settings and
    overlays), so the classifier cannot tell off-standard planes by their appearance."""
    out = []
    for seed in seeds:
        ph = subject_phantom(int(seed), config)
        medium = Medium(ph.labels, ph.spacing_mm)
        probe, scan_rng = scan_acquisition(int(seed), config)
        centre = medium.standard_centre()
        for k, view in enumerate(VIEW_NAMES):
            base = standard_pose(view, centre, config.view_shape, config.pixel_mm)
            sign = rng.choice([-1.0, 1.0])
            if rng.uniform() < 0.5:
                pose = adjusted_pose(base, offset_mm=sign * rng.uniform(*OFFSET_MM))
            else:
                pose = adjusted_pose(
                    base,
                    tilt_row_deg=sign * rng.uniform(*TILT_DEG),
                    tilt_col_deg=rng.uniform(-20.0, 20.0),
                )
            image = simulate_view(medium, pose, seed=int(seed) * 3 + k, probe=probe).image
            out.append(image if scan_rng is None else burn_in(image, scan_rng))
    return np.stack(out).astype(np.float32)


def _all_features(gate: PlaneGate, views: np.ndarray, pixel_mm: float = 1.0) -> torch.Tensor:
    """``(N, H, W)`` views of ``pixel_mm`` -> ``(N, 3, D)``: every view, prepared at the
    gate's size and pixel as it is at inference, through every plane's encoder."""
    c = gate.config
    if (views.shape[-1], pixel_mm) != (c.view_size, c.view_pixel_mm):
        from ..tasks.viewprep import prepare_view

        views = np.stack(
            [prepare_view("view", (v, pixel_mm), c.view_size, c.view_pixel_mm) for v in views]
        )
    x = torch.as_tensor(np.asarray(views, np.float32))
    return torch.stack([gate.features(x, k) for k in range(len(VIEW_NAMES))], 1)


def fit_gate_job(cfg: GateFitConfig, out_dir) -> Job[dict]:
    from ..io.checkpoint import load_model, save_checkpoint

    start = time.time()
    data = DatasetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.data.items()})
    source = load_model(cfg.source, "cpu")
    c = source.config
    if cfg.pool not in (1, 2, 4) or c.view_size % cfg.pool:
        raise ValueError(f"pool must be 1, 2 or 4 and divide the view size, got {cfg.pool}")
    gate = PlaneGate(
        PlaneGateConfig(
            view_size=c.view_size // cfg.pool,
            view_pixel_mm=c.view_pixel_mm * cfg.pool,
            channels=c.view_channels,
        )
    )
    if (data.view_shape[0], data.pixel_mm) != (c.view_size, c.view_pixel_mm):
        raise ValueError("the gate's source model and the dataset disagree on the view size")
    for stack, enc in zip(gate.encoders, source.conditioner.views.encoders):
        stack.load_state_dict(enc.features.state_dict())
    n = cfg.fit_size + cfg.calibration_size
    ds = PhantomDataset("train", n, data, cfg.cache_dir)
    total = n + cfg.off_standard_heads + 2
    feats = []  # (subjects, 3 views, 3 encoders, D)
    with torch.no_grad():
        for i in range(n):
            feats.append(_all_features(gate, ds.arrays(i)["views"], data.pixel_mm))
            if i % 50 == 0:
                yield Progress(i, total, "features of the training views")
        feats = torch.stack(feats)
        fit, cal = feats[: cfg.fit_size], feats[cfg.fit_size :]
        for k in range(len(VIEW_NAMES)):
            gate.means[k], gate.precisions[k] = shrunk_precision(
                fit[:, k, k], gate.config.shrinkage
            )
        d_cal = torch.stack([gate.distances(cal[:, k, k], k) for k in range(len(VIEW_NAMES))])
        levels = torch.linspace(0.0, 1.0, gate.config.calibration_points, dtype=torch.float64)
        gate.calibration.copy_(torch.quantile(d_cal.double(), levels, dim=1).T.float())
        rng = np.random.default_rng(cfg.seed)
        heads = [subject_seed("train", n + i) for i in range(cfg.off_standard_heads)]
        off = []
        for j in range(0, len(heads), 25):
            views = off_standard_views(heads[j : j + 25], data, rng)
            off.append(_all_features(gate, views, data.pixel_mm))
            yield Progress(n + j, total, "off-standard planes through training heads")
        off = torch.cat(off)
    n_off = len(off) * cfg.fit_size // n  # the off-standard planes split as the subjects are

    def split(part, subjects, off_part):
        """Per encoder: features and labels (planes 0-2, off-standard 3)."""
        x = torch.cat([part.flatten(0, 1), off_part])  # (M, 3 encoders, D)
        y = torch.cat([torch.arange(3).repeat(subjects), torch.full((len(off_part),), 3)])
        return x, y

    x_fit, y_fit = split(fit, cfg.fit_size, off[:n_off])
    x_cal, y_cal = split(cal, cfg.calibration_size, off[n_off:])
    yield Progress(total - 2, total, "the plane classifiers")
    accuracy, losses = [], []
    for k in range(len(VIEW_NAMES)):
        gate.feature_mean[k] = x_fit[:, k].mean(0)
        gate.feature_std[k] = x_fit[:, k].std(0).clamp(min=1e-6)
        losses.append(_fit_classifier(gate, k, x_fit[:, k], y_fit, cfg))
        with torch.no_grad():
            hit = gate.plane_probabilities(x_cal[:, k], k).argmax(1) == y_cal
        accuracy.append(float(hit.float().mean()))
    metrics = {
        "classifier_accuracy_held_out": accuracy,
        "classifier_loss": losses,
        "median_distance_held_out": [float(v) for v in d_cal.median(1).values],
    }
    recipe = {**asdict(cfg), "seconds": round(time.time() - start, 1), "classes": list(CLASSES)}
    path = save_checkpoint(f"{out_dir}/model.safetensors", gate, recipe=recipe, metrics=metrics)
    yield Progress(total, total, "done")
    return {"path": str(path), "seconds": recipe["seconds"], **metrics, "model": gate}


def _fit_classifier(gate: PlaneGate, k: int, x: torch.Tensor, y: torch.Tensor, cfg) -> float:
    z = ((x - gate.feature_mean[k]) / gate.feature_std[k]).detach()
    layer = gate.classifiers[k]
    layer.requires_grad_(True)
    opt = torch.optim.LBFGS(
        layer.parameters(), max_iter=cfg.classifier_steps, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(layer(z), y)
        loss = loss + cfg.weight_decay * layer.weight.pow(2).sum()
        loss.backward()
        return loss

    loss = float(opt.step(closure).detach())
    layer.requires_grad_(False)
    return loss
