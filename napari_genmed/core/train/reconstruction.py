"""Training of the reconstruction models, as a job that yields progress.

``train_job`` trains one model on the phantom dataset with view dropout (random
subsets of views, so every subset works at test time), Adam with a cosine
schedule, validation Dice of the point estimate from three views after every epoch,
and checkpoints after every epoch: ``last.safetensors`` plus ``train_state.safetensors``
(optimizer state, counters and RNG state, all safetensors) to resume from, and
``model.safetensors`` (the best validation Dice). Seeds make runs repeatable on the
CPU. Mixed precision (bf16 autocast) is used on CUDA. Under ``torchrun`` the job is
data-parallel (DDP: gloo on the CPU, nccl on GPUs); rank 0 validates and saves.
TL-net runs its three stages in turn (``stage_epochs``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..progress import Job, Progress
from .resume_state import load_rank_rng, load_state, rank_rng_path, save_rank_rng, save_state

if TYPE_CHECKING:
    import torch


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
    nested_views_p: float = 0.0  #: share of samples given a prefix of the clinical order instead (axial; axial + sagittal; all three, equally often): HiREC's hierarchy
    seed: int = 0
    cache_dir: str | None = None  #: on-disk dataset cache (strongly advised on CPUs)
    amp: bool = True  #: bf16 autocast on CUDA
    max_steps: int | None = None  #: stop early (smoke tests)
    init_from: str | None = (
        None  #: start from these weights (a bundled name or a .safetensors path): fine-tuning
    )
    preload: bool = False  #: hold the training split in memory (on the device) rather than read each batch: for GPUs

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
            f"{out_dir} holds a {recipe.get('kind') if isinstance(recipe, dict) else 'unknown'} run, not {kind}"
        )
    return {
        k: v
        for k, v in recipe.items()
        if k in TrainConfig.__dataclass_fields__ and k != "max_steps"
    }


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


def _datasets(cfg: TrainConfig):
    from ..data.dataset import DatasetConfig, PhantomDataset

    data = DatasetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.data.items()})
    return (
        PhantomDataset("train", cfg.train_size, data, cache_dir=cfg.cache_dir),
        PhantomDataset("val", cfg.val_size, data, cache_dir=cfg.cache_dir),
        data,
    )


def _init_weights(model, cfg: TrainConfig) -> None:
    """Copy the weights of ``cfg.init_from`` into ``model`` (same kind, same tensor
    shapes; loss weights such as ``kl_weight`` may differ), or, for a CVAE, TL-net's
    image path (:mod:`.warmstart`). From a model with other
    ``output_layers`` everything but the decoder's output head is copied (the head
    starts fresh): a shell decoder fine-tuned into a layered one."""
    from ..io.bundled import NAMES, bundled_path
    from ..io.checkpoint import load_checkpoint

    path = bundled_path(cfg.init_from) if cfg.init_from in NAMES else Path(cfg.init_from)
    loaded, card = load_checkpoint(path, "cpu")
    if card["kind"] == "tl-net" and cfg.kind != "tl-net":
        from ..nets.warmstart import warm_start_from_tlnet

        warm_start_from_tlnet(model, loaded)
        return
    if card["kind"] != cfg.kind:
        raise ValueError(
            f"init_from {cfg.init_from!r} holds a {card['kind']} model, not {cfg.kind}"
        )
    mine, theirs = model.state_dict(), loaded.state_dict()
    if loaded.config.output_layers != model.config.output_layers:
        head = ("decoder.to_subvoxels.", "decoder.coarse.")
        mine = {k: v for k, v in mine.items() if not k.startswith(head)}
        theirs = {k: v for k, v in theirs.items() if not k.startswith(head)}
    wrong = sorted(k for k in mine if k not in theirs or theirs[k].shape != mine[k].shape)
    if wrong or set(theirs) - set(mine):
        raise ValueError(
            f"init_from {cfg.init_from!r} does not fit this architecture (e.g. {(wrong or sorted(set(theirs) - set(mine)))[0]})"
        )
    model.load_state_dict(theirs, strict=False)


def _hold_split(dataset, device: str) -> dict:
    """The whole split as tensors on ``device``: label volumes (uint8) and views."""
    import torch

    arrays = dataset.stacked(("labels", "views"))
    return {k: torch.as_tensor(v).to(device) for k, v in arrays.items()}


def _batch(dataset, held: dict | None, idx, device: str) -> dict:
    """Skulls, label volumes and views of items ``idx``, from memory when held."""
    import torch

    from ..sim.labels import BONE

    if held is not None:
        i = torch.as_tensor(idx).to(held["labels"].device)
        labels, views = held["labels"][i], held["views"][i]
    else:
        items = [dataset[int(j)] for j in idx]
        labels = torch.stack([it["labels"] for it in items]).to(device)
        views = torch.stack([it["views"] for it in items]).to(device)
    return {
        "skull": (labels == BONE).unsqueeze(1).float(),
        "views": views.float(),
        "labels": labels,
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


def train_job(cfg: TrainConfig, out_dir, device: str = "auto", resume: bool = False) -> Job[dict]:
    """Train ``cfg.kind``; yields :class:`Progress` (``partial`` holds the latest
    losses); returns the final metrics and the trained ``model`` (this process's
    replica). Checkpoints go to ``out_dir``."""
    import torch
    import torch.distributed as dist

    from ..devices import resolve_device
    from ..io.checkpoint import load_checkpoint, save_checkpoint
    from ..nets.registry import build_model

    out = Path(out_dir)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = resolve_device(device)
    own_group = False
    if world > 1:
        if device.startswith("cuda"):
            local = int(os.environ.get("LOCAL_RANK", "0"))
            device = f"cuda:{local}"
            torch.cuda.set_device(local)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
            own_group = True
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank
    train_set, val_set, data_cfg = _datasets(cfg)
    model = build_model(cfg.kind, cfg.model).to(device)
    if cfg.init_from and not resume:
        _init_weights(model, cfg)
    mc = model.config
    if (mc.grid, mc.view_size, mc.view_pixel_mm, mc.spacing_mm) != (
        data_cfg.grid[0],
        data_cfg.view_shape[0],
        data_cfg.pixel_mm,
        data_cfg.spacing_mm,
    ):
        raise ValueError(
            "the model's grid, spacing, view size and view pixel size must match the dataset's"
        )
    torch.manual_seed(cfg.seed + 7919 * rank)  # each rank its own noise
    rng = torch.Generator().manual_seed(cfg.seed + 7919 * rank)
    counters = {
        "stage": 0,
        "epoch": 0,
        "batch": 0,
        "step": 0,
        "best_dice": -1.0,
        "history": [],
        "seconds": 0.0,
    }
    out.mkdir(parents=True, exist_ok=True)
    stages = cfg.stages()
    steps_per_epoch = max(1, len(train_set) // (cfg.batch_size * world))
    total = sum(e for _, e in stages) * steps_per_epoch
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    use_amp = cfg.amp and device.startswith("cuda")
    recipe = asdict(cfg) | {"device": device, "world_size": world, "torch": torch.__version__}

    def make_optimizer(stage: str):
        params = (
            model.stage_parameters(stage)
            if stage in ("autoencoder", "image", "joint")
            else list(model.parameters())
        )
        return torch.optim.Adam(params, lr=cfg.lr)

    resume_state = out / "train_state.safetensors"
    if resume:
        if not resume_state.exists():
            raise ValueError(f"nothing to resume in {out}: no train_state.safetensors")
        loaded, card = load_checkpoint(out / "last.safetensors", device)
        counters = load_state(resume_state)
        if card["metrics"].get("step") != counters["step"]:
            raise ValueError(
                f"{out}: last.safetensors and train_state.safetensors disagree (a run stopped while saving); cannot resume exactly"
            )
        ignore = {"max_steps", "cache_dir", "preload", "device", "torch", "seconds"}
        was = {k: v for k, v in card["recipe"].items() if k not in ignore}
        now = {k: v for k, v in json.loads(json.dumps(recipe)).items() if k not in ignore}
        if was != now:
            changed = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
            raise ValueError(
                f"{out}: the run was started with other settings ({', '.join(changed)}); use a new --out"
            )
        model.load_state_dict(loaded.state_dict())
    start_stage = counters["stage"]
    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = (
            True  # fixed shapes: let cuDNN pick its fastest 3D convolutions
        )
    held = _hold_split(train_set, device) if cfg.preload else None
    ddp = (
        torch.nn.parallel.DistributedDataParallel(
            model,
            find_unused_parameters=cfg.kind == "tl-net",
            device_ids=[torch.cuda.current_device()]
            if device.startswith("cuda") and world > 1
            else None,
        )
        if world > 1
        else model
    )
    t_start = time.perf_counter() - counters["seconds"]

    def stopped() -> bool:
        return bool(cfg.max_steps) and counters["step"] >= cfg.max_steps

    for stage_idx in range(start_stage, len(stages)):
        stage, n_epochs = stages[stage_idx]
        optimizer = make_optimizer(stage)
        stage_steps = n_epochs * steps_per_epoch
        resuming = resume and stage_idx == start_stage and (counters["epoch"] or counters["batch"])
        first_epoch, first_batch = (counters["epoch"], counters["batch"]) if resuming else (0, 0)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, max(stage_steps, 1), eta_min=cfg.min_lr
        )
        if resuming:
            load_state(resume_state, optimizer, rng if rank == 0 else None)
            if rank > 0:  # each further process continues its own random streams
                load_rank_rng(rank_rng_path(out, rank), rng)
            schedule.load_state_dict(counters["schedule"])
        for epoch in range(first_epoch, n_epochs):
            order = torch.randperm(
                len(train_set),
                generator=torch.Generator().manual_seed(cfg.seed * 1000 + stage_idx * 100 + epoch),
            )
            order = order[rank::world]
            losses, done = [], first_batch if epoch == first_epoch else 0
            for b in range(done, steps_per_epoch):
                if stopped():
                    break
                idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                batch = _batch(train_set, held, idx, device)
                batch["mask"] = view_masks(len(idx), cfg, rng).to(device)
                if (
                    model.config.output_layers == 1
                ):  # only a layered decoder learns from the label volumes
                    del batch["labels"]
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                    result = ddp(batch, stage)
                optimizer.zero_grad(set_to_none=True)
                result["loss"].float().backward()
                optimizer.step()
                schedule.step()
                counters["step"] += 1
                done = b + 1
                scalars = {k: float(v.detach()) for k, v in result.items() if k != "logits"}
                losses.append(scalars["loss"])
                yield Progress(
                    counters["step"],
                    total,
                    f"{cfg.kind} {stage} epoch {epoch + 1}/{n_epochs}",
                    scalars,
                )
            complete = done >= steps_per_epoch
            counters.update(
                stage=stage_idx,
                epoch=epoch + 1 if complete else epoch,
                batch=0 if complete else done,
            )
            counters["seconds"] = time.perf_counter() - t_start
            counters["schedule"] = schedule.state_dict()
            if rank == 0:
                dice = validation_dice(model, val_set, device)
                counters["history"].append(
                    {
                        "stage": stage,
                        "epoch": epoch + 1,
                        "complete": complete,
                        "loss": float(np.mean(losses)) if losses else None,
                        "val_dice": dice,
                    }
                )
                metrics = {
                    "val_dice": dice,
                    "epoch": epoch + 1,
                    "stage": stage,
                    "step": counters["step"],
                }
                save_checkpoint(out / "last.safetensors", model, recipe, metrics)
                if stage_idx == len(stages) - 1 and complete and dice > counters["best_dice"]:
                    counters["best_dice"] = dice
                    save_checkpoint(
                        out / "model.safetensors",
                        model,
                        recipe | {"seconds": counters["seconds"]},
                        metrics,
                    )
                save_state(resume_state, optimizer, counters, rng)
                yield Progress(
                    counters["step"],
                    total,
                    f"{cfg.kind} {stage} epoch {epoch + 1}: validation Dice {dice:.3f}",
                    {"val_dice": dice},
                )
            else:
                save_rank_rng(rank_rng_path(out, rank), rng)
            if world > 1:
                dist.barrier()
            if stopped():
                break
        if stopped():
            break
        counters.update(stage=stage_idx + 1, epoch=0, batch=0)
    if rank == 0:
        (out / "history.json").write_text(json.dumps(counters["history"], indent=2))
    if own_group:
        dist.destroy_process_group()
    return {
        "best_val_dice": counters["best_dice"],
        "steps": counters["step"],
        "seconds": time.perf_counter() - t_start,
        "model": model,
    }
