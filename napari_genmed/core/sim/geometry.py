"""Plane geometry: poses of 2D views in a 3D volume.

Conventions (docs/design.md, Conventions):

* Volume coordinates are millimetres on the array axes ``(z, y, x)``; voxel
  ``(k, j, i)`` has its centre at ``(k, j, i) * spacing_mm``. This is also napari's
  world space when a volume layer is added with ``scale=(s, s, s)``.
* A :class:`Pose` places an ``H x W`` image in that space. ``origin`` is the
  position of the image *centre*; ``row_axis`` is the unit direction of increasing
  row index (the ultrasound beam: depth grows down the image) and ``col_axis`` the
  unit direction of increasing column index. ``normal = row_axis x col_axis``.
  Pixel ``(r, c)`` lies at ``origin + (r - (H-1)/2) s row_axis + (c - (W-1)/2) s col_axis``.
* Standard planes (head coordinates: forehead at +y, biparietal along x, vertex at +z):
  ``axial`` (transventricular: beam along x, columns along y), ``sagittal``
  (mid-sagittal: beam from the vertex along -z, columns along y) and ``coronal``
  (beam from the vertex along -z, columns along x).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

VIEW_NAMES: tuple[str, ...] = ("axial", "sagittal", "coronal")  #: ordered by clinical relevance

# (row_axis, col_axis) of each standard plane, in (z, y, x) components
_STANDARD_AXES = {
    "axial": ((0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),
    "sagittal": ((-1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "coronal": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
}


def check_view_name(name: str) -> str:
    if name not in VIEW_NAMES:
        raise ValueError(f"unknown view {name!r}; known views are {', '.join(VIEW_NAMES)}")
    return name


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    n = np.linalg.norm(v)
    if not np.isfinite(n) or n < 1e-9:
        raise ValueError(f"axis {v} has no direction")
    return v if abs(n - 1.0) < 1e-12 else v / n


@dataclass(frozen=True)
class Pose:
    """Where a 2D image lies in the volume (see the module docstring)."""

    origin: tuple[float, float, float]
    row_axis: tuple[float, float, float]
    col_axis: tuple[float, float, float]
    spacing_mm: float = 1.0
    shape: tuple[int, int] = (128, 128)
    name: str = field(default="", compare=False)

    def __post_init__(self):
        r, c = _unit(self.row_axis), _unit(self.col_axis)
        if abs(np.dot(c, r)) > 1e-12:  # orthonormalise (idempotent: a saved pose reloads equal)
            c = _unit(c - np.dot(c, r) * r)
        object.__setattr__(self, "row_axis", tuple(float(x) for x in r))
        object.__setattr__(self, "col_axis", tuple(float(x) for x in c))
        object.__setattr__(self, "origin", tuple(float(x) for x in self.origin))
        object.__setattr__(self, "shape", tuple(int(x) for x in self.shape))
        if not np.all(np.isfinite(self.origin)):
            raise ValueError("pose origin must be finite")
        if not (self.spacing_mm > 0 and np.isfinite(self.spacing_mm)):
            raise ValueError(f"pixel spacing must be > 0, got {self.spacing_mm}")
        if len(self.shape) != 2 or min(self.shape) < 1:
            raise ValueError(f"image shape must be two positive integers, got {self.shape}")

    @property
    def normal(self) -> np.ndarray:
        return np.cross(np.asarray(self.row_axis), np.asarray(self.col_axis))

    def points(self, rows=None, cols=None) -> np.ndarray:
        """Volume coordinates (mm) of pixel centres, shape ``(..., 3)``.

        Without arguments: every pixel, ``(H, W, 3)``. ``rows``/``cols`` may be any
        broadcastable arrays of (fractional) pixel indices."""
        h, w = self.shape
        if rows is None:
            rows, cols = np.meshgrid(
                np.arange(h, dtype=float), np.arange(w, dtype=float), indexing="ij"
            )
        dr = (np.asarray(rows, float) - (h - 1) / 2) * self.spacing_mm
        dc = (np.asarray(cols, float) - (w - 1) / 2) * self.spacing_mm
        return (
            np.asarray(self.origin)
            + dr[..., None] * np.asarray(self.row_axis)
            + dc[..., None] * np.asarray(self.col_axis)
        )

    def to_pixels(self, points_mm) -> np.ndarray:
        """Inverse of :meth:`points` for points in the plane: ``(..., 3) -> (..., 3)``
        with (row, col, signed distance from the plane in mm)."""
        p = np.asarray(points_mm, float) - np.asarray(self.origin)
        h, w = self.shape
        r = p @ np.asarray(self.row_axis) / self.spacing_mm + (h - 1) / 2
        c = p @ np.asarray(self.col_axis) / self.spacing_mm + (w - 1) / 2
        return np.stack([r, c, p @ self.normal], axis=-1)

    def affine(self) -> np.ndarray:
        """4x4 affine taking ``(0, r, c)`` of a ``(1, H, W)`` image to volume mm.

        Used to show the slice in 3D as a napari Image layer at its pose."""
        h, w = self.shape
        s = self.spacing_mm
        m = np.eye(4)
        m[:3, 0] = self.normal * s
        m[:3, 1] = np.asarray(self.row_axis) * s
        m[:3, 2] = np.asarray(self.col_axis) * s
        m[:3, 3] = self.points(0.0, 0.0)
        return m

    def as_vector(self) -> np.ndarray:
        """``[origin(3), row_axis(3), col_axis(3), spacing]`` as float32, for tensors."""
        return np.array([*self.origin, *self.row_axis, *self.col_axis, self.spacing_mm], np.float32)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "origin_mm": list(self.origin),
            "row_axis": list(self.row_axis),
            "col_axis": list(self.col_axis),
            "normal": [float(x) for x in self.normal],
            "spacing_mm": self.spacing_mm,
            "shape": list(self.shape),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Pose:
        try:
            return cls(
                origin=tuple(d["origin_mm"]),
                row_axis=tuple(d["row_axis"]),
                col_axis=tuple(d["col_axis"]),
                spacing_mm=float(d.get("spacing_mm", 1.0)),
                shape=tuple(d.get("shape", (128, 128))),
                name=str(d.get("name", "")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a pose description: {exc}") from exc


def rotation_matrix(axis, angle_rad: float) -> np.ndarray:
    """Rodrigues rotation about ``axis`` by ``angle_rad`` (right hand)."""
    k = _unit(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle_rad) * kx + (1 - np.cos(angle_rad)) * kx @ kx


def rotate(pose: Pose, matrix: np.ndarray, shift_mm=(0.0, 0.0, 0.0)) -> Pose:
    """The pose turned about its own origin by ``matrix``, then shifted."""
    return Pose(
        origin=tuple(np.asarray(pose.origin) + np.asarray(shift_mm, float)),
        row_axis=tuple(matrix @ np.asarray(pose.row_axis)),
        col_axis=tuple(matrix @ np.asarray(pose.col_axis)),
        spacing_mm=pose.spacing_mm,
        shape=pose.shape,
        name=pose.name,
    )


def standard_pose(
    view: str, centre_mm, shape=(128, 128), spacing_mm: float = 1.0, flip: bool = False
) -> Pose:
    """The standard plane ``view`` through ``centre_mm``; ``flip`` turns the probe to
    the other side of the head (beam and columns reversed)."""
    row, col = (np.asarray(a) for a in _STANDARD_AXES[check_view_name(view)])
    if flip:
        row, col = -row, -col
    return Pose(tuple(centre_mm), tuple(row), tuple(col), spacing_mm, tuple(shape), name=view)


def jitter_pose(
    pose: Pose, rng: np.random.Generator, max_angle_deg: float = 10.0, max_shift_mm: float = 5.0
) -> Pose:
    """A random rigid perturbation: rotation about a random axis by up to
    ``max_angle_deg`` and a shift uniform in a ball of ``max_shift_mm``."""
    axis = rng.normal(size=3)
    angle = np.deg2rad(rng.uniform(0.0, max_angle_deg))
    direction = rng.normal(size=3)
    shift = direction / np.linalg.norm(direction) * max_shift_mm * rng.uniform() ** (1 / 3)
    return rotate(pose, rotation_matrix(axis, angle), shift)


def angle_between_deg(a, b) -> float:
    a, b = _unit(a), _unit(b)
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0))))


def scan_poses(
    centre_mm,
    seed: int,
    views=VIEW_NAMES,
    jitter: bool = True,
    shape=(128, 128),
    pixel_mm: float = 1.0,
    max_angle_deg: float = 10.0,
    max_shift_mm: float = 5.0,
) -> dict[str, Pose]:
    """Poses of the standard ``views`` through ``centre_mm`` for a scan with
    ``seed``; with ``jitter`` each is perturbed by its own seeded draw."""
    if isinstance(views, str):
        views = (views,)
    views = tuple(check_view_name(v) for v in views)
    if len(set(views)) != len(views):
        raise ValueError(f"views repeat a name: {views}")
    out = {}
    for name in views:
        pose = standard_pose(name, centre_mm, shape, pixel_mm)
        if jitter:
            rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 7, VIEW_NAMES.index(name)])
            pose = jitter_pose(pose, rng, max_angle_deg, max_shift_mm)
        out[name] = pose
    return out


def adjusted_pose(
    base: Pose, offset_mm: float = 0.0, tilt_row_deg: float = 0.0, tilt_col_deg: float = 0.0
) -> Pose:
    """``base`` tilted about its row axis and its column axis (degrees, about its
    origin), then moved ``offset_mm`` along its (new) normal: the plane picker's
    three controls."""
    m = rotation_matrix(base.row_axis, np.deg2rad(tilt_row_deg)) @ rotation_matrix(
        base.col_axis, np.deg2rad(tilt_col_deg)
    )
    turned = rotate(base, m)
    return rotate(turned, np.eye(3), turned.normal * float(offset_mm))


def sample_plane(volume: np.ndarray, spacing_mm: float, pose: Pose, order: int = 1) -> np.ndarray:
    """The intensities of ``volume`` on the plane ``pose`` (trilinear; 0 outside)."""
    from scipy import ndimage

    idx = np.moveaxis(pose.points() / float(spacing_mm), -1, 0)
    return ndimage.map_coordinates(
        np.asarray(volume, np.float32), idx, order=order, mode="constant", cval=0.0
    )


def standard_centre(head: np.ndarray, spacing_mm: float) -> np.ndarray:
    """Centre of the standard planes (mm) of a boolean head mask: its bounding-box
    centre in y and x, and the height of its widest axial cross-section in z."""
    head = np.asarray(head, bool)
    if not head.any():
        return (np.array(head.shape) - 1) / 2 * spacing_mm
    area = head.sum(axis=(1, 2))
    z = np.flatnonzero(area >= area.max() * 0.995).mean()
    ys, xs = np.flatnonzero(head.any(axis=(0, 2))), np.flatnonzero(head.any(axis=(0, 1)))
    return np.array([z, (ys[0] + ys[-1]) / 2, (xs[0] + xs[-1]) / 2]) * spacing_mm
