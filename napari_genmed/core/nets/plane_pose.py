"""The plane pose net: where a standard-plane view lies in the head.

An acquired frame carries no pose. Its slot says which standard plane it is meant to
be, and the reconstruction says where the head is, which gives the *nominal* pose:
that standard plane through the reconstructed head's standard centre
(:func:`~..sim.geometry.standard_pose`). A sonographer's plane is off it by a few
millimetres and degrees. This net reads that offset from the image, as PlaneInVol
learns a plane's pose from its pixels (Yeung et al., "Learning to map 2D ultrasound
images into 3D space with minimal human annotation", Medical Image Analysis 2021):

- **input**: the prepared view (the reconstruction models' size and pixel,
  :mod:`~..tasks.viewprep`) averaged over ``pool`` x ``pool`` pixels, with two
  coordinate channels (CoordConv: Liu et al., NeurIPS 2018), since the answer is
  where things are in the image;
- **features**: a stack of strided convolutions whose last map is flattened, not
  averaged (an average would drop where the skull ring lies);
- **output**, one head per plane: the shift of the plane's centre from the standard
  centre along the nominal plane's row, column and normal axes (mm) and the rotation
  from the nominal orientation as a rotation vector in that frame (radians), each
  divided by its scale (``shift_scale_mm``, ``angle_scale_deg``) so that both are
  about unit-sized in training.

:func:`offset_pose` applies an offset to a nominal pose; :func:`pose_offset` is its
inverse, the training target. What the net reads well and what it does not is
measured in ``docs/research-log.md``: in-plane shifts and the rotation about the
normal well, tilts hardly (a plane through a near-ellipsoidal vault changes little
when tilted by a few degrees).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ..sim.geometry import VIEW_NAMES, Pose, rotation_matrix


@dataclass(frozen=True)
class PlanePoseConfig:
    view_size: int = 128  #: the prepared views' side (the reconstruction models')
    view_pixel_mm: float = 1.0
    pool: int = 2  #: 64 px of 2 mm: the reconstruction grid's own resolution, 4x cheaper
    channels: tuple[int, ...] = (16, 32, 64, 96, 128)  #: 64 px -> a 2 x 2 map
    hidden: int = 128  #: the heads' hidden width
    shift_scale_mm: float = 5.0  #: the training jitter's largest shift: unit-sized targets
    angle_scale_deg: float = 10.0  #: the training jitter's largest rotation


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1),
        nn.GroupNorm(min(8, c_out), c_out),
        nn.SiLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.GroupNorm(min(8, c_out), c_out),
        nn.SiLU(),
    )


class PlanePoseNet(nn.Module):
    kind = "plane-pose"

    def __init__(self, config: PlanePoseConfig = PlanePoseConfig()):
        super().__init__()
        self.config = c = config
        if c.view_size % (c.pool * 2 ** len(c.channels)):
            raise ValueError("view_size must be divisible by pool * 2**len(channels)")
        widths = (3,) + tuple(c.channels)
        self.features = nn.Sequential(*(_block(a, b) for a, b in zip(widths[:-1], widths[1:])))
        side = c.view_size // c.pool // 2 ** len(c.channels)
        flat = c.channels[-1] * side * side
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(flat, c.hidden), nn.SiLU(), nn.Linear(c.hidden, 6))
            for _ in VIEW_NAMES
        )

    def config_dict(self) -> dict:
        return asdict(self.config)

    def forward(self, views: torch.Tensor, planes: torch.Tensor) -> torch.Tensor:
        """``(N, H, W)`` prepared views in [0, 1] and their planes ``(N,)`` (0 axial,
        1 sagittal, 2 coronal) -> ``(N, 6)`` scaled offsets (shift, rotation vector)."""
        c = self.config
        x = nn.functional.avg_pool2d(views[:, None], c.pool) if c.pool > 1 else views[:, None]
        n, _, h, w = x.shape
        rows = torch.linspace(-1.0, 1.0, h, device=x.device).view(1, 1, h, 1).expand(n, 1, h, w)
        cols = torch.linspace(-1.0, 1.0, w, device=x.device).view(1, 1, 1, w).expand(n, 1, h, w)
        f = self.features(torch.cat([x * 2.0 - 1.0, rows, cols], 1)).flatten(1)
        out = torch.stack([head(f) for head in self.heads], 1)  # (N, planes, 6)
        return out[torch.arange(n, device=x.device), planes]

    def scales(self) -> np.ndarray:
        """What one unit of each output is: mm for the shifts, radians for the angles."""
        c = self.config
        return np.array([c.shift_scale_mm] * 3 + [np.deg2rad(c.angle_scale_deg)] * 3)


def _frame(pose: Pose) -> np.ndarray:
    """The pose's axes as columns: row, column, normal."""
    return np.stack([pose.row_axis, pose.col_axis, pose.normal], 1)


def _rotvec_matrix(v: np.ndarray) -> np.ndarray:
    angle = float(np.linalg.norm(v))
    return np.eye(3) if angle < 1e-12 else rotation_matrix(v, angle)


def _matrix_rotvec(m: np.ndarray) -> np.ndarray:
    """The rotation vector of rotation matrix ``m`` (angles below 180 degrees)."""
    angle = np.arccos(np.clip((np.trace(m) - 1.0) / 2.0, -1.0, 1.0))
    if angle < 1e-9:
        return np.zeros(3)
    axis = np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]])
    return axis / (2.0 * np.sin(angle)) * angle


def offset_pose(nominal: Pose, offset) -> Pose:
    """``nominal`` moved by ``offset`` (shift mm along its row, column, normal; rotation
    vector in that frame, radians): the inverse of :func:`pose_offset`."""
    offset = np.asarray(offset, float)
    a = _frame(nominal)
    turned = a @ _rotvec_matrix(offset[3:])
    return Pose(
        tuple(np.asarray(nominal.origin) + a @ offset[:3]),
        tuple(turned[:, 0]),
        tuple(turned[:, 1]),
        nominal.spacing_mm,
        nominal.shape,
        nominal.name,
    )


def pose_offset(nominal: Pose, pose: Pose) -> np.ndarray:
    """How ``pose`` lies relative to ``nominal``, in ``nominal``'s frame: the training
    target of :class:`PlanePoseNet` (six numbers, see :func:`offset_pose`)."""
    a, b = _frame(nominal), _frame(pose)
    shift = a.T @ (np.asarray(pose.origin) - np.asarray(nominal.origin))
    return np.r_[shift, _matrix_rotvec(a.T @ b)]


def pose_error(estimate: Pose, truth: Pose) -> tuple[float, float]:
    """(distance between the planes' centres in mm, angle of the rotation between
    their frames in degrees)."""
    dist = float(np.linalg.norm(np.subtract(estimate.origin, truth.origin)))
    angle = np.linalg.norm(_matrix_rotvec(_frame(estimate).T @ _frame(truth)))
    return dist, float(np.degrees(angle))
