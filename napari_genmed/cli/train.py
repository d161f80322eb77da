"""``genmed train``: train a reconstruction model, a view generator or a flow (a core
job with a progress bar; under torchrun, data-parallel)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..core.io.bundled import NAMES as MODEL_NAMES
from ..core.io.bundled import TRAINABLE_VIEW_GENERATORS as VIEW_GENERATORS

FLOW_TRAINING = ("patch-flow", "toy-flow", "latent-flow")


def _cmd_train(args) -> int:
    from tqdm import tqdm

    from ..core.devices import resolve_device
    from ..core.train.reconstruction import train_job
    from ..core.train.settings import TrainConfig
    from ..core.train.views import ViewTrainConfig, train_views_job

    if args.config:
        values = json.loads(Path(args.config).read_text())
    elif args.resume and args.model in MODEL_NAMES:
        from ..core.train.settings import resume_settings

        values = resume_settings(args.out, args.model)  # the settings the run started with
    else:
        values = {}
    values["kind"] = args.model
    if args.cache:
        values["cache_dir"] = args.cache
    if args.model in FLOW_TRAINING:
        from ..core.train.flows import FlowTrainConfig, train_patch_flow_job, train_toy_flow_job

        values.pop("kind")
        values.pop("why", None)  # the recipe's reason: the flows' jobs take keywords
        if args.model == "toy-flow":
            values.pop("cache_dir", None)
            job = train_toy_flow_job(args.out, **values)
        elif args.model == "latent-flow":
            from ..core.train.latent_flow import train_latent_flow_job

            job = train_latent_flow_job(args.out, **values)
        else:
            job = train_patch_flow_job(FlowTrainConfig.from_dict(values), args.out)
        cfg = type("Cfg", (), {"kind": args.model})
    elif args.model == "plane-gate":
        from ..core.train.plane_gate import GateFitConfig, fit_gate_job

        cfg = GateFitConfig.from_dict(values)
        job = fit_gate_job(cfg, args.out)
    elif args.model == "plane-pose":
        from ..core.train.plane_pose import PoseTrainConfig, train_pose_job

        cfg = PoseTrainConfig.from_dict(values)
        job = train_pose_job(cfg, args.out)
    elif args.model in VIEW_GENERATORS:
        if args.resume:
            raise ValueError(
                "--resume is for the reconstruction models; start a view generator again with "
                "init_from"
            )
        cfg = ViewTrainConfig.from_dict(values)
        job = train_views_job(cfg, args.out, resolve_device(args.device))
    else:
        cfg = TrainConfig.from_dict(values)
        job = train_job(cfg, args.out, args.device, resume=args.resume)
    bar = None
    while True:
        try:
            p = next(job)
        except StopIteration as stop:
            result = stop.value
            break
        if bar is None:
            rank0 = os.environ.get("RANK", "0") == "0"
            bar = tqdm(total=p.total, desc=cfg.kind, disable=args.quiet or not rank0)
        bar.update(p.step - bar.n)
        if p.partial and ("val_dice" in p.partial or "ssim" in p.partial):
            bar.write(p.message)
        elif p.partial:
            bar.set_postfix({k: f"{v:.4f}" for k, v in p.partial.items()})
    if bar is not None:
        bar.close()
    result.pop("model", None)
    print(json.dumps(result))
    return 0


def add_commands(sub) -> None:
    s = sub.add_parser("train", help="train a reconstruction model or a view generator")
    s.add_argument(
        "model",
        choices=MODEL_NAMES + VIEW_GENERATORS + FLOW_TRAINING + ("plane-gate", "plane-pose"),
    )
    s.add_argument(
        "--config", help="JSON file of training settings (TrainConfig or ViewTrainConfig fields)"
    )
    s.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    s.add_argument("--out", default="runs/model")
    s.add_argument("--cache", help="dataset cache folder")
    s.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint in --out"
    )
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=_cmd_train)
