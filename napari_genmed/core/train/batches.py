"""What a training step of a reconstruction model reads: the datasets, batches (held
on the device or read from the cache), the random view subsets, the starting weights,
and the validation Dice after each epoch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .settings import TrainConfig

if TYPE_CHECKING:
    import torch


def view_masks(n: int, cfg: TrainConfig, generator) -> torch.Tensor:
    """Random view subsets: all views with ``all_views_p``, else each kept with
    ``keep_view_p`` (the empty set included: the prior alone). With
    ``nested_views_p`` > 0 that share of samples instead gets axial, axial +
    sagittal or all three views (the order of clinical relevance: the subsets a
    scan usually has), equally often."""
    import torch

    every = torch.rand(n, 1, generator=generator) < cfg.all_views_p
    keep = torch.rand(n, 3, generator=generator) < cfg.keep_view_p
    masks = (every | keep).float()
    if cfg.nested_views_p > 0:  # extra draws only then: older recipes replay exactly
        nested = torch.rand(n, 1, generator=generator) < cfg.nested_views_p
        depth = torch.randint(1, 4, (n, 1), generator=generator)
        masks = torch.where(nested, (torch.arange(3) < depth).float(), masks)
    return masks


def datasets(cfg: TrainConfig):
    from ..data.dataset import DatasetConfig, PhantomDataset

    data = DatasetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.data.items()})
    return (
        PhantomDataset("train", cfg.train_size, data, cache_dir=cfg.cache_dir),
        PhantomDataset("val", cfg.val_size, data, cache_dir=cfg.cache_dir),
        data,
    )


def init_weights(model, cfg: TrainConfig) -> None:
    """Copy the weights of ``cfg.init_from`` into ``model`` (same kind, same tensor
    shapes; loss weights such as ``kl_weight`` may differ), or, for a CVAE, TL-net's
    image path (:mod:`.warmstart`). From a model with other
    ``output_layers`` everything but the decoder's output head is copied (the head
    starts fresh): a shell decoder fine-tuned into a layered one; from a pooled model
    into one that reads sections, all of it (the section reader and the decoder's
    branches start fresh, :mod:`..nets.adapter`). HiREC-CVAE may start from
    REC-CVAE (:func:`.warmstart.warm_start_from_rec`)."""
    from ..io.bundled import NAMES, bundled_path
    from ..io.checkpoint import load_checkpoint

    path = bundled_path(cfg.init_from) if cfg.init_from in NAMES else Path(cfg.init_from)
    loaded, card = load_checkpoint(path, "cpu")
    if card["kind"] == "tl-net" and cfg.kind != "tl-net":
        from ..nets.warmstart import warm_start_from_tlnet

        warm_start_from_tlnet(model, loaded)
        return
    if (card["kind"], cfg.kind) == ("rec-cvae", "hirec-cvae"):
        from ..nets.warmstart import warm_start_from_rec

        warm_start_from_rec(model, loaded)
        return
    if card["kind"] != cfg.kind:
        raise ValueError(
            f"init_from {cfg.init_from!r} holds a {card['kind']} model, not {cfg.kind}"
        )
    mine, theirs = model.state_dict(), loaded.state_dict()
    if model.config.read_sections and not loaded.config.read_sections:
        from ..nets.adapter import ADDED  # a pooled model gets its section reader: fresh

        mine = {k: v for k, v in mine.items() if not k.startswith(ADDED)}
    if loaded.config.output_layers != model.config.output_layers:
        head = ("decoder.to_subvoxels.", "decoder.coarse.")
        mine = {k: v for k, v in mine.items() if not k.startswith(head)}
        theirs = {k: v for k, v in theirs.items() if not k.startswith(head)}
    wrong = sorted(k for k in mine if k not in theirs or theirs[k].shape != mine[k].shape)
    if wrong or set(theirs) - set(mine):
        raise ValueError(
            f"init_from {cfg.init_from!r} does not fit this architecture (e.g. "
            f"{(wrong or sorted(set(theirs) - set(mine)))[0]})"
        )
    model.load_state_dict(theirs, strict=False)


def hold_split(dataset, device: str) -> dict:
    """The whole split as tensors on ``device``: label volumes (uint8), views and
    their poses (what a model that reads sections learns them from)."""
    import torch

    arrays = dataset.stacked(("labels", "views", "poses"))
    return {k: torch.as_tensor(v).to(device) for k, v in arrays.items()}


def batch_of(dataset, held: dict | None, idx, device: str) -> dict:
    """Skulls, label volumes, views and their poses of items ``idx``, from memory when
    held."""
    import torch

    from ..sim.labels import BONE

    if held is not None:
        i = torch.as_tensor(idx).to(held["labels"].device)
        labels, views, poses = held["labels"][i], held["views"][i], held["poses"][i]
    else:
        items = [dataset[int(j)] for j in idx]
        labels = torch.stack([it["labels"] for it in items]).to(device)
        views = torch.stack([it["views"] for it in items]).to(device)
        poses = torch.stack([it["poses"] for it in items]).to(device)
    return {
        "skull": (labels == BONE).unsqueeze(1).float(),
        "views": views.float(),
        "labels": labels,
        "poses": poses.float(),
    }


def validation_dice(
    model, dataset, device: str, batch_size: int = 8, mask=(1.0, 1.0, 1.0)
) -> float:
    """Mean Dice of the point estimate (threshold 0.5) over ``dataset``."""
    import torch

    from ..metrics.overlap import overlap

    model.eval()
    scores = []
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
            views = torch.stack([it["views"] for it in items]).to(device)
            m = torch.tensor([mask] * len(items), device=device)
            prob, _ = model.reconstruct(views, m)
            for p, it in zip(prob.cpu().numpy(), items):
                scores.append(overlap(p[0] > 0.5, it["skull"][0].numpy() > 0.5)["dice"])
    model.train()
    return float(np.mean(scores))
