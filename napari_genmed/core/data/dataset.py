"""A torch ``Dataset`` of phantom heads and their simulated standard planes.

Item ``i`` of a split is reproducible from ``(split seed base + i)``: the seed fixes
the gestational age (uniform in ``ga_range``), the head, the plane jitter and the
speckle. Splits use disjoint seed ranges, so train, validation and test heads never
coincide. Items are generated on the fly; with ``cache_dir`` each one is written
once as ``.npz`` (keyed by the dataset's settings) and read back afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..sim.families import FAMILIES, HELD_OUT, check_family, make_head
from ..sim.geometry import VIEW_NAMES
from ..sim.labels import BONE
from ..sim.medium import Medium
from ..sim.phantom import Phantom
from ..sim.ultrasound import simulate_views

SPLIT_SEED_BASE = {"train": 0, "val": 10_000_000, "test": 20_000_000}  #: disjoint seed ranges
MAX_SPLIT_SIZE = 10_000_000


@dataclass(frozen=True)
class DatasetConfig:
    grid: tuple[int, int, int] = (64, 64, 64)  #: docs/design.md, Conventions default grid
    spacing_mm: float = 2.0  #: 128 mm field of view
    view_shape: tuple[int, int] = (128, 128)  #: default 2D view size
    pixel_mm: float = 1.0
    ga_range: tuple[float, float] = (16.0, 38.0)  #: INTERGROWTH range used by the product
    jitter: bool = True  #: views are not registered
    max_angle_deg: float = 10.0
    max_shift_mm: float = 5.0
    speckle: bool = True
    #: shape families the heads come from, one drawn per subject (sim/families)
    families: tuple[str, ...] = ("phantom",)
    #: each scan's probe and display settings drawn, and overlays burned in
    #: (sim/acquisition): scanners vary, one appearance is not the world
    vary_acquisition: bool = False
    #: with vary_acquisition, the share of subjects whose scan is varied (a per-subject
    #: draw); the rest keep the default appearance, so a fine-tune on varied scans
    #: does not forget the one the models were trained on (session 16: all varied
    #: cost the own appearance 0.017 DC)
    varied_share: float = 1.0

    def __post_init__(self):
        for name in self.families:
            check_family(name)
        if not self.families:
            raise ValueError("a dataset needs at least one shape family")
        if not 0.0 <= self.varied_share <= 1.0:
            raise ValueError(f"varied_share must be within 0..1, not {self.varied_share}")

    def key(self) -> str:
        d = asdict(self)
        if tuple(self.families) == ("phantom",):
            d.pop("families")  # the phantom-only key of caches made before families existed
        if self.varied_share == 1.0 or not self.vary_acquisition:
            d.pop("varied_share")  # the key of caches made before it existed
        if not self.vary_acquisition:
            d.pop("vary_acquisition")  # the key of caches made before it existed
        else:  # caches made with an older model of the acquisition are not reused
            from ..sim.acquisition import ACQUISITION_VERSION

            d["vary_acquisition"] = ACQUISITION_VERSION
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def subject_seed(split: str, index: int) -> int:
    if split not in SPLIT_SEED_BASE:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLIT_SEED_BASE)}")
    if not 0 <= index < MAX_SPLIT_SIZE:
        raise IndexError(f"index {index} outside 0..{MAX_SPLIT_SIZE - 1}")
    return SPLIT_SEED_BASE[split] + int(index)


def subject_ga(seed: int, config: DatasetConfig = DatasetConfig()) -> float:
    """The gestational age of subject ``seed`` (uniform in ``config.ga_range``)."""
    return float(np.random.default_rng([int(seed), 99]).uniform(*config.ga_range))


def subject_family(seed: int, config: DatasetConfig = DatasetConfig()) -> str:
    """The shape family of subject ``seed`` (uniform over ``config.families``)."""
    if len(config.families) == 1:
        return config.families[0]
    return config.families[
        int(np.random.default_rng([int(seed), 77]).integers(len(config.families)))
    ]


def subject_phantom(seed: int, config: DatasetConfig = DatasetConfig()) -> Phantom:
    """The head of subject ``seed``, from its shape family."""
    family = subject_family(seed, config)
    return make_head(family, subject_ga(seed, config), seed, config.grid, config.spacing_mm)


def scan_acquisition(seed: int, config: DatasetConfig = DatasetConfig()):
    """``(probe, rng)`` of subject ``seed``'s scan: its drawn scanner settings and the
    random stream its overlays (:func:`~..sim.acquisition.burn_in`) continue from, or
    ``(None, None)`` for the default appearance (``config.vary_acquisition`` off, or
    the subject outside ``config.varied_share``)."""
    # which scans are varied: a draw of its own, so the scan's settings do not depend on it
    varied = np.random.default_rng([int(seed) & 0xFFFFFFFF, 29]).random() < config.varied_share
    if not (config.vary_acquisition and varied):
        return None, None
    from ..sim.acquisition import random_probe

    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 23])
    return random_probe(rng), rng  # one scanner setting per scan


def make_subject(
    seed: int, config: DatasetConfig = DatasetConfig(), phantom: Phantom | None = None
) -> dict[str, np.ndarray]:
    """One subject as numpy arrays (see :class:`PhantomDataset` for the keys);
    ``phantom``: its head, when the caller has already made it."""
    ph = phantom if phantom is not None else subject_phantom(seed, config)
    ga = ph.biometry.ga_weeks
    probe, rng = scan_acquisition(seed, config)
    views = simulate_views(
        Medium(ph.labels, ph.spacing_mm),
        seed=seed,
        jitter=config.jitter,
        speckle=config.speckle,
        probe=probe,
        shape=config.view_shape,
        pixel_mm=config.pixel_mm,
        max_angle_deg=config.max_angle_deg,
        max_shift_mm=config.max_shift_mm,
    )
    images = [views[n].image for n in VIEW_NAMES]
    if rng is not None:
        from ..sim.acquisition import burn_in

        images = [burn_in(im, rng) for im in images]
    b = ph.biometry
    return {
        "labels": ph.labels,
        "skull": ph.skull[None].astype(np.float32),
        "views": np.stack(images),
        "poses": np.stack([views[n].pose.as_vector() for n in VIEW_NAMES]),
        "biometry": np.array([b.bpd_mm, b.ofd_mm, b.hc_mm, b.ga_weeks], np.float32),
        "ga": np.float32(ga),
        "seed": np.int64(seed),
        "family": np.int64(FAMILIES.index(ph.family)),  #: index into sim.families.FAMILIES
    }


def read_npz(path: Path | None) -> dict[str, np.ndarray] | None:
    """A cache entry, or None when absent or damaged (a damaged one is deleted and
    simply made again)."""
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, KeyError, EOFError):
        path.unlink(missing_ok=True)
        return None


def write_npz(path: Path | None, arrays: dict[str, np.ndarray]) -> None:
    """Write a cache entry atomically (a crash never leaves half a file)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def _make_cached(job) -> None:
    dataset, index = job
    dataset.arrays(index)


def fill_cache(dataset, indices=None, workers: int = 1) -> int:
    """Generate (and cache) items of ``dataset`` (one with ``cache_dir``, ``split``,
    ``size`` and ``arrays(i)``, each item cached as ``<subject seed>.npz``) that are
    not cached yet, on ``workers`` processes; returns how many were made."""
    if dataset.cache_dir is None:
        raise ValueError("fill_cache needs a cache_dir")
    todo = [
        i
        for i in (range(dataset.size) if indices is None else indices)
        if not (dataset.cache_dir / f"{subject_seed(dataset.split, i)}.npz").exists()
    ]
    if workers <= 1 or len(todo) < 2:
        for i in todo:
            dataset.arrays(i)
        return len(todo)
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_make_cached, [(dataset, i) for i in todo], chunksize=8))
    return len(todo)


class PhantomDataset:
    """``dataset[i]`` -> dict of torch tensors:

    ``skull`` (1, D, H, W) float32 0/1, ``labels`` (D, H, W) uint8, ``views``
    (3, h, w) float32 in [0, 1] ordered axial, sagittal, coronal, ``poses`` (3, 10)
    float32 (origin, row axis, column axis, spacing), ``biometry`` (4,) float32
    (BPD, OFD, HC mm, GA weeks), ``ga`` and ``seed``.
    """

    def __init__(
        self,
        split: str = "train",
        size: int = 1000,
        config: DatasetConfig = DatasetConfig(),
        cache_dir=None,
    ):
        subject_seed(split, 0)  # validates the split name
        held_out = set(config.families) & set(HELD_OUT)
        if split == "train" and held_out:
            raise ValueError(
                f"{', '.join(sorted(held_out))}: held out for evaluation, never in a training split"
            )
        if not 0 < size <= MAX_SPLIT_SIZE:
            raise ValueError(f"size must lie in 1..{MAX_SPLIT_SIZE}, got {size}")
        self.split, self.size, self.config = split, int(size), config
        self.cache_dir = Path(cache_dir) / config.key() / split if cache_dir else None

    def __len__(self) -> int:
        return self.size

    def arrays(self, index: int) -> dict[str, np.ndarray]:
        if not 0 <= index < self.size:
            raise IndexError(index)
        seed = subject_seed(self.split, index)
        path = self.cache_dir / f"{seed}.npz" if self.cache_dir else None
        item = read_npz(path)
        if item is not None and "labels" in item:
            item["skull"] = (item["labels"] == BONE)[None].astype(np.float32)
            return item
        item = make_subject(seed, self.config)
        write_npz(path, {k: v for k, v in item.items() if k != "skull"})  # skull = labels == 1
        return item

    def fill_cache(self, indices=None, workers: int = 1) -> int:
        """Generate (and cache) the given items, on ``workers`` processes; returns
        how many were made."""
        return fill_cache(self, indices, workers)

    def stacked(self, keys=("labels", "views")) -> dict[str, np.ndarray]:
        """The whole split as stacked arrays (read on a few threads: decompression
        releases the GIL), e.g. to hold a training split in (GPU) memory."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
            items = list(pool.map(self.arrays, range(self.size)))
        return {k: np.stack([it[k] for it in items]) for k in keys}

    def __getitem__(self, index: int):
        import torch

        return {k: torch.as_tensor(np.asarray(v)) for k, v in self.arrays(index).items()}
