"""The settings of a training run (:class:`TrainConfig`), read from a recipe.

A recipe is a JSON object of settings; unknown keys are an error, except ``"why"``:
the recipe's one-line reason, kept for the reader (``weights/recipes/``) and ignored
by training. ``resume_settings`` reads back what a stopped run started with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TrainConfig:
    kind: str = "rec-cvae"  #: rec-cvae, hirec-cvae or tl-net
    model: dict = field(default_factory=dict)  #: overrides of the model's config
    data: dict = field(default_factory=dict)  #: overrides of the DatasetConfig
    train_size: int = 4000  #: phantoms in the training split
    val_size: int = 64  #: phantoms for the per-epoch validation Dice
    epochs: int = 12  #: passes over the training split (CVAEs)
    stage_epochs: tuple[int, int, int] = (4, 3, 5)  #: TL-net: autoencoder, image, joint
    batch_size: int = 8
    lr: float = 1e-3
    min_lr: float = 2e-5  #: end of the cosine schedule
    all_views_p: float = 0.4  #: share of samples that see all three views
    keep_view_p: float = 0.6  #: otherwise each view is kept with this probability
    #: share of samples given a prefix of the clinical order instead (axial; axial + sagittal; all
    #: three, equally often): HiREC's hierarchy
    nested_views_p: float = 0.0
    seed: int = 0
    cache_dir: str | None = None  #: on-disk dataset cache (strongly advised on CPUs)
    amp: bool = True  #: bf16 autocast on CUDA
    max_steps: int | None = None  #: stop early (smoke tests)
    #: start from these weights (a bundled name or a .safetensors path): fine-tuning
    init_from: str | None = None
    #: hold the training split in memory (on the device) rather than read each batch: for GPUs
    preload: bool = False
    #: share of training views given a random gamma, smoothing or sharpening and grey map
    #: (:mod:`.augment`): a display chain's curves, which no acquisition setting draws
    intensity_aug_p: float = 0.0
    #: share of training views whose speckle is smoothed away and drawn again with another
    #: grain and strength (:func:`.augment.speckle_augment`): other scanners' textures
    speckle_aug_p: float = 0.0
    #: parameter-name prefixes kept as ``init_from`` has them (not trained): e.g. a pooled
    #: model's own path while the section branches added to it learn (nets/adapter.py)
    freeze: tuple[str, ...] = ()

    def stages(self) -> list[tuple[str, int]]:
        if self.kind == "tl-net":
            return list(zip(("autoencoder", "image", "joint"), self.stage_epochs))
        return [("elbo", self.epochs)]

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return settings_from_dict(cls, d)


def settings_from_dict(cls, d: dict):
    """A settings dataclass from JSON: unknown keys are an error, lists become tuples."""
    if not isinstance(d, dict):
        raise ValueError("training settings must be a JSON object")
    d = {k: v for k, v in d.items() if k != "why"}  # the recipe's reason, for its reader
    unknown = set(d) - set(cls.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown training settings: {', '.join(sorted(unknown))}")
    try:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
    except TypeError as exc:
        raise ValueError(f"bad training settings: {exc}") from exc


def resume_settings(out_dir, kind: str) -> dict:
    """The training settings a run in ``out_dir`` was started with (from its
    ``last.safetensors``), for ``--resume`` without ``--config``. ``max_steps`` is
    dropped: the resumed run goes on to the end of its recipe."""
    from ..io.checkpoint import read_header

    last = Path(out_dir) / "last.safetensors"
    if not last.exists():
        raise ValueError(f"nothing to resume in {out_dir}: no last.safetensors")
    meta, _ = read_header(last)
    try:
        recipe = json.loads(meta["recipe"])
    except (KeyError, ValueError):
        raise ValueError(f"{last}: no training recipe recorded; resume with --config") from None
    if not isinstance(recipe, dict) or recipe.get("kind") != kind:
        raise ValueError(
            f"{out_dir} holds a {recipe.get('kind') if isinstance(recipe, dict) else 'unknown'} "
            f"run, not {kind}"
        )
    return {
        k: v
        for k, v in recipe.items()
        if k in TrainConfig.__dataclass_fields__ and k != "max_steps"
    }
