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
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..progress import Job, Progress
from .augment import intensity_augment, speckle_augment
from .batches import batch_of, datasets, hold_split, init_weights, validation_dice, view_masks
from .resume_state import load_rank_rng, load_state, rank_rng_path, save_rank_rng, save_state
from .settings import TrainConfig

if TYPE_CHECKING:
    pass


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
    train_set, val_set, data_cfg = datasets(cfg)
    model = build_model(cfg.kind, cfg.model).to(device)
    if cfg.init_from and not resume:
        init_weights(model, cfg)
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

    frozen = [p for n, p in model.named_parameters() if n.startswith(tuple(cfg.freeze))]
    if cfg.freeze and not frozen:
        raise ValueError(f"freeze names no parameter of {cfg.kind}: {', '.join(cfg.freeze)}")
    for p in frozen:
        p.requires_grad_(False)

    def make_optimizer(stage: str):
        params = (
            model.stage_parameters(stage)
            if stage in ("autoencoder", "image", "joint")
            else list(model.parameters())
        )
        return torch.optim.Adam([p for p in params if p.requires_grad], lr=cfg.lr)

    resume_state = out / "train_state.safetensors"
    if resume:
        if not resume_state.exists():
            raise ValueError(f"nothing to resume in {out}: no train_state.safetensors")
        loaded, card = load_checkpoint(out / "last.safetensors", device)
        counters = load_state(resume_state)
        if card["metrics"].get("step") != counters["step"]:
            raise ValueError(
                f"{out}: last.safetensors and train_state.safetensors disagree (a run stopped "
                "while saving); cannot resume exactly"
            )
        ignore = {"max_steps", "cache_dir", "preload", "device", "torch", "seconds"}
        was = {k: v for k, v in card["recipe"].items() if k not in ignore}
        now = {k: v for k, v in json.loads(json.dumps(recipe)).items() if k not in ignore}
        if was != now:
            changed = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
            raise ValueError(
                f"{out}: the run was started with other settings ({', '.join(changed)}); use a "
                "new --out"
            )
        model.load_state_dict(loaded.state_dict())
    start_stage = counters["stage"]
    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = (
            True  # fixed shapes: let cuDNN pick its fastest 3D convolutions
        )
    held = hold_split(train_set, device) if cfg.preload else None
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
                batch = batch_of(train_set, held, idx, device)
                batch["mask"] = view_masks(len(idx), cfg, rng).to(device)
                # no draws at p = 0: older recipes replay exactly
                batch["views"] = intensity_augment(batch["views"], cfg.intensity_aug_p, rng)
                batch["views"] = speckle_augment(batch["views"], cfg.speckle_aug_p, rng)
                if model.config.output_layers == 1 and not model.config.read_sections:
                    del batch["labels"]  # only a layered decoder or a section reader reads them
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
