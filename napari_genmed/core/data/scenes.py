"""Scenes for the view generators: a head's slices at known poses.

Each scene is one phantom head of a :class:`~.dataset.PhantomDataset` split with
``N_SLICES`` slices: its three (jittered) standard planes and ``N_OBLIQUE`` oblique
planes (a standard plane tilted by up to 35 degrees and shifted by up to 12 mm). For
every slice the scene holds the B-mode image (speckled, what a scanner shows) and
the simulator's speckle-free rendering of the same plane (what a generator can be
asked to produce: no generator can guess one speckle draw). With the dataset's
``vary_acquisition`` a varied subject's B-mode images are all of its scan's drawn
settings and overlays (the standard planes are its scan's views; the oblique planes
are drawn with the same probe), while the speckle-free truth stays the default probe's:
a generator learns the plane's anatomy from any scanner's images, shown in one
canonical rendering. Images are stored at the
generators' grid, ``SIZE`` x ``SIZE`` pixels of ``PIXEL_MM`` (the 1 mm views averaged
2 x 2, the same 128 mm field), with their poses. Scenes are cached as ``.npz``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..sim.geometry import VIEW_NAMES, Pose, jitter_pose
from .dataset import (
    DatasetConfig,
    PhantomDataset,
    fill_cache,
    read_npz,
    subject_seed,
    write_npz,
)

SIZE = 64  #: generator image side (pixels)
PIXEL_MM = 2.0  #: generator pixel size: 64 x 2 mm = the 128 mm field of the views
N_OBLIQUE = 2
N_SLICES = len(VIEW_NAMES) + N_OBLIQUE
SCENE_VERSION = 1


def pose_from_vector(v, shape=(128, 128)) -> Pose:
    """Inverse of :meth:`Pose.as_vector` (origin, row axis, column axis, spacing)."""
    v = np.asarray(v, float)
    return Pose(tuple(v[:3]), tuple(v[3:6]), tuple(v[6:9]), float(v[9]), tuple(shape))


def coarse_pose(pose: Pose, size: int = SIZE, pixel_mm: float = PIXEL_MM) -> Pose:
    """The same plane and centre on the generator's grid."""
    return Pose(pose.origin, pose.row_axis, pose.col_axis, pixel_mm, (size, size), name=pose.name)


def downsample(image: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Area-average an image to ``size`` x ``size`` (an integer factor)."""
    h, w = image.shape
    if h % size or w % size:
        raise ValueError(f"a {h}x{w} image does not reduce to {size}x{size} by an integer factor")
    return image.reshape(size, h // size, size, w // size).mean(axis=(1, 3)).astype(np.float32)


def pose_features(pose: Pose, centre_mm=(64.0, 64.0, 64.0), scale_mm: float = 32.0) -> np.ndarray:
    """A pose as the networks see it: origin relative to the field's centre (in
    ``scale_mm``), row axis, column axis and normal (12 values)."""
    o = (np.asarray(pose.origin) - np.asarray(centre_mm)) / scale_mm
    return np.concatenate([o, pose.row_axis, pose.col_axis, pose.normal]).astype(np.float32)


def slice_seed(seed: int, k: int) -> int:
    """The rendering seed of slice ``k`` of the scene of subject ``seed`` (a standard
    plane's is its view's seed in the head's scan)."""
    from ..sim.ultrasound import view_seed

    k = int(k)
    return (
        view_seed(seed, VIEW_NAMES[k]) if k < len(VIEW_NAMES) else view_seed(seed * 7 + k, "axial")
    )


def oblique_poses(standard: list[Pose], seed: int, n: int = N_OBLIQUE) -> list[Pose]:
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 31])
    return [
        jitter_pose(standard[int(rng.integers(len(standard)))], rng, 35.0, 12.0) for _ in range(n)
    ]


def label_planes(scenes: SceneDataset) -> np.ndarray:
    """The labels of every slice of every scene on the generators' grid, ``(N,
    N_SLICES, SIZE, SIZE)`` uint8: each head's label volume sampled (nearest voxel) on
    its slices' planes: what the anatomy generator learns to predict."""
    from ..sim.labels import labels_on_plane

    out = np.zeros((len(scenes), N_SLICES, SIZE, SIZE), np.uint8)
    for i in range(len(scenes)):
        vectors, labels = scenes[i]["poses"], scenes.heads.arrays(i)["labels"]
        spacing = scenes.config.spacing_mm
        out[i] = [
            labels_on_plane(labels, spacing, pose_from_vector(v, (SIZE, SIZE))) for v in vectors
        ]
    return out


class SceneDataset:
    """``scenes[i]`` -> dict of numpy arrays: ``speckled`` and ``clean`` (N_SLICES,
    SIZE, SIZE) float32, ``poses`` (N_SLICES, 10) (origin, row, col, spacing at the
    generator's grid), ``features`` (N_SLICES, 12), ``ga`` and ``seed``."""

    def __init__(
        self,
        split: str = "train",
        size: int = 1000,
        cache_dir=None,
        config: DatasetConfig = DatasetConfig(),
    ):
        self.heads = PhantomDataset(split, size, config, cache_dir=cache_dir)
        self.split, self.size, self.config = split, int(size), config
        self.cache_dir = (
            Path(cache_dir) / config.key() / f"scenes-v{SCENE_VERSION}-{split}"
            if cache_dir
            else None
        )

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if not 0 <= index < self.size:
            raise IndexError(index)
        seed = subject_seed(self.split, index)
        path = self.cache_dir / f"{seed}.npz" if self.cache_dir else None
        item = read_npz(path)
        if item is None:
            item = self.make(index)
            write_npz(path, item)
        return item

    def arrays(self, index: int) -> dict[str, np.ndarray]:
        return self[index]

    def fill_cache(self, indices=None, workers: int = 1) -> int:
        """Generate (and cache) the given scenes (and their heads), on ``workers``
        processes; returns how many were made."""
        return fill_cache(self, indices, workers)

    def make(self, index: int) -> dict[str, np.ndarray]:
        from ..sim.acquisition import burn_in
        from ..sim.medium import Medium
        from ..sim.ultrasound import simulate_view
        from .dataset import scan_acquisition

        head = self.heads.arrays(index)
        seed = int(head["seed"])
        probe, _ = scan_acquisition(seed, self.config)
        # the oblique planes' overlays: a stream of their own
        rng = None if probe is None else np.random.default_rng([seed & 0xFFFFFFFF, 37])
        medium = Medium(head["labels"], self.config.spacing_mm)
        shape = tuple(self.config.view_shape)
        standard = [pose_from_vector(v, shape) for v in head["poses"]]
        poses = standard + oblique_poses(standard, seed)
        speckled = [downsample(v) for v in head["views"]]
        clean = []
        for k, pose in enumerate(poses):
            s = slice_seed(seed, k)  # the speckled image's seed: the same maternal wall
            clean.append(downsample(simulate_view(medium, pose, seed=s, speckle=False).image))
            if k >= len(standard):
                image = simulate_view(medium, pose, seed=s, speckle=True, probe=probe).image
                speckled.append(downsample(image if rng is None else burn_in(image, rng)))
        grid = [coarse_pose(p) for p in poses]
        return {
            "speckled": np.stack(speckled),
            "clean": np.stack(clean),
            "poses": np.stack([p.as_vector() for p in grid]),
            "features": np.stack([pose_features(p) for p in grid]),
            "ga": np.float32(head["ga"]),
            "seed": np.int64(seed),
        }
