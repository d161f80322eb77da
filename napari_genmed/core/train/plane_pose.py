"""Training the plane pose net (:mod:`..nets.plane_pose`) on the training views.

Every training subject's three jittered views come with their true poses; the
target of each is its offset from the nominal pose, the standard plane through the
subject's own standard centre (:func:`~..nets.plane_pose.pose_offset`). The loss is
the smooth L1 of the scaled offsets. Each batch varies the views' gain by a random
gamma (0.7-1.3): a plane's pose does not change with the scanner's gain, and the net
should not learn one appearance's contrast. Validation: the median centre distance
and rotation angle on the validation split's views, the net's and the nominal
pose's. Everything is drawn from the training families; the held-out family is
:mod:`..eval.poses`'s.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ..data.dataset import DatasetConfig, PhantomDataset
from ..nets.plane_pose import PlanePoseConfig, PlanePoseNet, offset_pose, pose_error, pose_offset
from ..progress import Job, Progress
from ..sim.geometry import VIEW_NAMES
from ..tasks.pose import subject_poses
from .settings import settings_from_dict


@dataclass(frozen=True)
class PoseTrainConfig:
    data: dict = field(default_factory=dict)  #: DatasetConfig fields (the training families)
    train_size: int = 4000  #: training subjects (three views each)
    val_size: int = 64  #: validation subjects
    steps: int = 2000  #: measured: validation angles stop improving after about 1500
    batch: int = 64
    lr: float = 2e-3  #: one-cycle peak
    weight_decay: float = 1e-4
    gamma: tuple[float, float] = (0.7, 1.3)  #: the gain augmentation's range
    seed: int = 0
    cache_dir: str | None = None
    net: dict = field(default_factory=dict)  #: PlanePoseConfig fields
    kind: str = "plane-pose"

    @classmethod
    def from_dict(cls, d: dict) -> PoseTrainConfig:
        return settings_from_dict(cls, d)


def _split(ds: PhantomDataset, data: DatasetConfig, net: PlanePoseNet):
    views, planes, targets, true, nominal = [], [], [], [], []
    for i in range(len(ds)):
        arrays = ds.arrays(i)
        t, n = subject_poses(arrays, data.spacing_mm)
        views.append(arrays["views"])
        planes += list(range(len(VIEW_NAMES)))
        targets += [pose_offset(a, b) / net.scales() for a, b in zip(n, t)]
        true += t
        nominal += n
    x = torch.as_tensor(np.concatenate(views), dtype=torch.float32)
    return (
        x,
        torch.as_tensor(planes),
        torch.as_tensor(np.array(targets), dtype=torch.float32),
        (
            true,
            nominal,
        ),
    )


def pose_errors(net: PlanePoseNet, views, planes, true, nominal) -> dict:
    """Median centre distance (mm) and rotation angle (degrees), the net's and the
    nominal pose's, over the given views."""
    with torch.no_grad():
        offsets = net(views, planes).numpy() * net.scales()
    ours = np.array([pose_error(offset_pose(n, o), t) for n, o, t in zip(nominal, offsets, true)])
    base = np.array([pose_error(n, t) for n, t in zip(nominal, true)])
    return {
        "median_mm": float(np.median(ours[:, 0])),
        "median_deg": float(np.median(ours[:, 1])),
        "nominal_median_mm": float(np.median(base[:, 0])),
        "nominal_median_deg": float(np.median(base[:, 1])),
    }


def train_pose_job(cfg: PoseTrainConfig, out_dir) -> Job[dict]:
    from ..io.checkpoint import save_checkpoint

    start = time.time()
    torch.manual_seed(cfg.seed)
    data = DatasetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.data.items()})
    net = PlanePoseNet(
        PlanePoseConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.net.items()})
    )
    if (data.view_shape[0], data.pixel_mm) != (net.config.view_size, net.config.view_pixel_mm):
        raise ValueError("the pose net and the dataset disagree on the view size")
    total = cfg.steps + 2
    yield Progress(0, total, "reading the training views")
    x, k, y, _ = _split(PhantomDataset("train", cfg.train_size, data, cfg.cache_dir), data, net)
    xv, kv, _, (true_v, nominal_v) = _split(
        PhantomDataset("val", cfg.val_size, data, cfg.cache_dir), data, net
    )
    yield Progress(1, total, "training")
    opt = torch.optim.AdamW(net.parameters(), cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps)
    gen = torch.Generator().manual_seed(cfg.seed)
    net.train()
    for step in range(cfg.steps):
        idx = torch.randint(0, len(x), (cfg.batch,), generator=gen)
        gamma = torch.empty(cfg.batch, 1, 1).uniform_(*cfg.gamma, generator=gen)
        loss = torch.nn.functional.smooth_l1_loss(net(x[idx].clamp(0, 1) ** gamma, k[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0:
            yield Progress(step + 1, total, "training", {"loss": float(loss)})
    net.eval()
    metrics = {"val": pose_errors(net, xv, kv, true_v, nominal_v)}
    recipe = {**asdict(cfg), "seconds": round(time.time() - start, 1)}
    path = save_checkpoint(f"{out_dir}/model.safetensors", net, recipe=recipe, metrics=metrics)
    yield Progress(total, total, "done")
    return {"path": str(path), "seconds": recipe["seconds"], **metrics, "model": net}
