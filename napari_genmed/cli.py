"""The ``genmed`` console script.

    genmed sample-data [--out DIR]           regenerate the files in sample_data/
    genmed phantom --ga 28 --seed 0 --out D  a phantom (NIfTI) and its planes (PNG, JSON)
    genmed bench [--device D] [--json]       speed of the core (see README, Performance)
    genmed train MODEL [--config F] [--device D] [--out DIR] [--resume]   train a model
    genmed evaluate [--n N] [--json]         Table 1 of the reconstruction paper, on held-out phantoms
    genmed ceiling [--n N] [--json]          what each view set determines: the bound on Table 1's rows
    genmed evaluate-views [--n N] [--json]   generated missing views: SSIM / NCC / PSNR on held-out scenes
    genmed evaluate-density [--n N] [--json] the patch flow: test NLL and corruption-detection AUC
    genmed convert IN.pt OUT.safetensors --kind K   a weights-only pickle to a safetensors checkpoint
    genmed bundle RUNS [--evaluation FILE]   (developers) trained models into the package's weights

Heavy imports happen inside commands.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .core.eval.paper import VIEW_SETS
from .core.io.bundled import NAMES as MODEL_NAMES
from .core.io.bundled import VIEW_GENERATORS

FLOW_TRAINING = ("patch-flow", "toy-flow", "latent-flow")


def _cmd_sample_data(args) -> int:
    from .core.data.sample import write_sample

    for path in write_sample(args.out):
        print(path)
    return 0


def _cmd_phantom(args) -> int:
    from .core.data.sample import write_scan
    from .core.progress import run
    from .core.sim.scan import scan_job

    scan = run(scan_job(args.ga, args.seed, (args.grid,) * 3, args.spacing))
    write_scan(scan, args.out, labels_file="labels.nii.gz", description="napari-genmed phantom")
    b = scan.phantom.biometry
    print(
        f"GA {b.ga_weeks:.1f} w: BPD {b.bpd_mm:.1f} mm, OFD {b.ofd_mm:.1f} mm, HC {b.hc_mm:.1f} mm -> {args.out}"
    )
    return 0


def _cmd_bench(args) -> int:
    from .core.devices import resolve_device
    from .dev.bench import run_bench

    results = run_bench(repeats=args.repeats, device=resolve_device(args.device))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for row in results["rows"]:
            print(
                f"{row['name']:<44} p50 {row['p50_ms']:9.2f} ms  p95 {row['p95_ms']:9.2f} ms  {row.get('note', '')}"
            )
        print(f"machine: {results['machine']}, device {results['device']}")
    return 0


def _with_bar(job, desc: str, quiet: bool = False):
    """Run a core job with a tqdm progress bar (none with ``quiet``)."""
    from tqdm import tqdm

    from .core.progress import run

    with tqdm(total=None, desc=desc, disable=quiet) as bar:

        def show(p):
            bar.total = p.total
            bar.update(p.step - bar.n)

        return run(job, show)


def _cmd_train(args) -> int:
    from tqdm import tqdm

    from .core.devices import resolve_device
    from .core.train.reconstruction import TrainConfig, train_job
    from .core.train.views import ViewTrainConfig, train_views_job

    if args.config:
        values = json.loads(Path(args.config).read_text())
    elif args.resume and args.model in MODEL_NAMES:
        from .core.train.reconstruction import resume_settings

        values = resume_settings(args.out, args.model)  # the settings the run started with
    else:
        values = {}
    values["kind"] = args.model
    if args.cache:
        values["cache_dir"] = args.cache
    if args.model in FLOW_TRAINING:
        from .core.train.flows import FlowTrainConfig, train_patch_flow_job, train_toy_flow_job

        values.pop("kind")
        if args.model == "toy-flow":
            values.pop("cache_dir", None)
            job = train_toy_flow_job(args.out, **values)
        elif args.model == "latent-flow":
            from .core.train.latent_flow import train_latent_flow_job

            job = train_latent_flow_job(args.out, **values)
        else:
            job = train_patch_flow_job(FlowTrainConfig.from_dict(values), args.out)
        cfg = type("Cfg", (), {"kind": args.model})
    elif args.model in VIEW_GENERATORS:
        if args.resume:
            raise ValueError(
                "--resume is for the reconstruction models; start a view generator again with init_from"
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


def _cmd_data(args) -> int:
    import time

    from .core.data.dataset import PhantomDataset

    t0 = time.perf_counter()
    made = {
        split: PhantomDataset(split, n, cache_dir=args.cache).fill_cache(workers=args.workers)
        for split, n in (("train", args.train), ("val", args.val))
    }
    print(json.dumps({"made": made, "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


def _weights(name: str, folder: str | None) -> str:
    """A bundled name, or ``folder/<name>.safetensors`` / ``folder/<name>/model.safetensors``."""
    if not folder:
        return name
    flat = Path(folder) / f"{name}.safetensors"
    return str(flat if flat.exists() else Path(folder) / name / "model.safetensors")


def _cmd_evaluate(args) -> int:
    from . import api
    from .core.eval.reconstruction import evaluate_job, format_table
    from .core.eval.targets import check_targets, format_targets

    models = {
        name: api.load_model(_weights(name, args.weights), args.device) for name in args.models
    }
    device = str(next(iter(models.values())).parameters().__next__().device)
    rows = _with_bar(
        evaluate_job(
            models,
            n=args.n,
            robustness=not args.no_robustness,
            device=device,
            split=args.split,
            threshold=args.threshold,
        ),
        "evaluate",
        quiet=args.json,
    )
    print(
        json.dumps(rows, indent=2)
        if args.json
        else format_table(rows) + "\n\n" + format_targets(check_targets(rows))
    )
    return 0


def _cmd_ceiling(args) -> int:
    from .core.eval.ceiling import ceiling_job, format_ceiling

    models = {}
    if args.models:
        from . import api

        models = {
            name: api.load_model(_weights(name, args.weights), args.device) for name in args.models
        }
    job = ceiling_job(
        args.view_sets,
        n=args.n,
        draws=args.draws,
        reading_error=args.reading_error,
        thresholds=args.thresholds,
        split=args.split,
        models=models,
    )
    rows = _with_bar(job, "ceiling", quiet=args.json)
    print(json.dumps(rows, indent=2) if args.json else format_ceiling(rows))
    return 0


def _cmd_evaluate_views(args) -> int:
    from . import api
    from .core.eval.views import evaluate_views_job, format_view_table

    generators = {
        name: api.load_model(_weights(name, args.weights), args.device) for name in args.methods
    }
    recon = api.load_model(args.baseline, args.device) if args.baseline != "none" else None
    rows = _with_bar(
        evaluate_views_job(generators, recon, n=args.n, cache_dir=args.cache),
        "evaluate-views",
        quiet=args.json,
    )
    print(json.dumps(rows, indent=2) if args.json else format_view_table(rows))
    return 0


def _cmd_evaluate_density(args) -> int:
    from . import api
    from .core.eval.density import evaluate_density_job

    flow = api.load_model(args.weights or "patch-flow", "cpu")
    result = _with_bar(
        evaluate_density_job(flow, n=args.n, cache_dir=args.cache),
        "evaluate-density",
        quiet=args.json,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"test NLL, bits/dim: flow {result['test_bpd_flow']:.3f}  Gaussian baseline {result['test_bpd_gaussian']:.3f}"
        )
        print(
            "corruption detection, ROC AUC (corrupted vs clean fan pixels): "
            + "  ".join(f"{k} {v:.3f}" for k, v in result["auc"].items())
        )
    return 0


def _cmd_convert(args) -> int:
    import torch

    from .core.io.checkpoint import save_checkpoint
    from .core.nets.registry import build_model

    config = json.loads(Path(args.config).read_text()) if args.config else None
    model = build_model(args.kind, config)
    try:
        state = torch.load(
            args.source, map_location="cpu", weights_only=True
        )  # never unpickles code
    except Exception as exc:
        raise ValueError(f"{args.source}: not a weights-only torch file ({exc})") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"{args.source}: weights do not fit a {args.kind} model: {exc}") from exc
    print(save_checkpoint(args.target, model, recipe={"converted_from": Path(args.source).name}))
    return 0


def _cmd_bundle(args) -> int:
    from .dev.bundle import bundle

    def read(path):
        return json.loads(Path(path).read_text()) if path else None

    written = bundle(
        args.runs,
        read(args.evaluation),
        read(args.view_evaluation),
        read(args.density_evaluation),
        read(args.ceiling),
    )
    for name, path in written.items():
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="genmed", description="napari-genmed: generative models for fetal ultrasound"
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample-data", help="regenerate the sample head files")
    s.add_argument("--out", default="sample_data")
    s.set_defaults(func=_cmd_sample_data)
    s = sub.add_parser("phantom", help="write a phantom head and its simulated planes")
    s.add_argument("--ga", type=float, default=28.0, help="gestational age, weeks (16-38)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--grid", type=int, default=64)
    s.add_argument("--spacing", type=float, default=2.0, help="voxel size, mm")
    s.add_argument("--out", default="phantom")
    s.set_defaults(func=_cmd_phantom)
    s = sub.add_parser("bench", help="measure the speed of the core")
    s.add_argument("--json", action="store_true")
    s.add_argument("--repeats", type=int, default=10)
    s.add_argument(
        "--device",
        default="auto",
        help="auto, cpu, cuda, cuda:N or mps (models, training, density maps)",
    )
    s.set_defaults(func=_cmd_bench)
    s = sub.add_parser("train", help="train a reconstruction model or a view generator")
    s.add_argument("model", choices=MODEL_NAMES + VIEW_GENERATORS + FLOW_TRAINING)
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
    s = sub.add_parser(
        "data", help="generate the phantom training data into a cache folder, on several processes"
    )
    s.add_argument("--cache", required=True, help="dataset cache folder (as for train --cache)")
    s.add_argument("--train", type=int, default=4000, help="training phantoms")
    s.add_argument("--val", type=int, default=64, help="validation phantoms")
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    s.set_defaults(func=_cmd_data)
    s = sub.add_parser("evaluate", help="Table 1 on held-out phantoms")
    s.add_argument("--n", type=int, default=50, help="test phantoms per scenario")
    s.add_argument("--json", action="store_true")
    s.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    s.add_argument(
        "--weights",
        help="folder with <model>.safetensors or <model>/model.safetensors instead of the bundled weights",
    )
    s.add_argument("--device", default="auto")
    s.add_argument("--no-robustness", action="store_true")
    s.add_argument(
        "--split",
        choices=("test", "val"),
        default="test",
        help="test: held-out heads (the reported table); val: validation heads, to choose between runs without the test heads",
    )
    s.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="cut the skull probability here (0.5: the reported table; lower: more SEN, less PPV)",
    )
    s.set_defaults(func=_cmd_evaluate)
    s = sub.add_parser(
        "ceiling",
        help="what each view set determines: a perfect reader's DC/SEN/PPV on held-out heads",
    )
    s.add_argument("--n", type=int, default=50, help="held-out heads")
    s.add_argument(
        "--draws",
        type=int,
        default=16,
        help="heads drawn over what the planes leave open, per head",
    )
    s.add_argument(
        "--view-sets",
        nargs="+",
        default=list(VIEW_SETS),
        choices=list(VIEW_SETS),
        metavar="SET",
        help=f"view sets ({', '.join(VIEW_SETS)}; quote them)",
    )
    s.add_argument(
        "--reading-error",
        type=float,
        default=0.0,
        help="relative error of every seen semi-axis (0: a perfect reader)",
    )
    s.add_argument("--thresholds", type=float, nargs="+", default=[0.4, 0.5, 0.6])
    s.add_argument("--split", choices=("test", "val"), default="test")
    s.add_argument(
        "--models",
        nargs="*",
        default=[],
        choices=[m for m in MODEL_NAMES if m != "tl-net"],
        help="CVAEs whose sampled variants' spread to show beside the reader's",
    )
    s.add_argument(
        "--weights",
        help="folder with <model>.safetensors or <model>/model.safetensors instead of the bundled weights",
    )
    s.add_argument("--device", default="auto")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_ceiling)
    s = sub.add_parser(
        "evaluate-views", help="generated missing views vs the truth, on held-out scenes"
    )
    s.add_argument("--n", type=int, default=20, help="held-out scenes")
    s.add_argument("--json", action="store_true")
    s.add_argument("--methods", nargs="+", default=list(VIEW_GENERATORS), choices=VIEW_GENERATORS)
    s.add_argument(
        "--baseline",
        default="hirec-cvae",
        help="reconstruction model of the baseline route, or none",
    )
    s.add_argument(
        "--weights",
        help="folder with <model>.safetensors or <model>/model.safetensors instead of the bundled weights",
    )
    s.add_argument("--cache", help="dataset cache folder")
    s.add_argument("--device", default="auto")
    s.set_defaults(func=_cmd_evaluate_views)
    s = sub.add_parser(
        "evaluate-density", help="the patch flow: test NLL vs a Gaussian, corruption detection AUC"
    )
    s.add_argument("--n", type=int, default=20, help="held-out views to corrupt")
    s.add_argument("--json", action="store_true")
    s.add_argument("--weights", help="a patch-flow .safetensors instead of the bundled one")
    s.add_argument("--cache", help="dataset cache folder")
    s.set_defaults(func=_cmd_evaluate_density)
    s = sub.add_parser("convert", help="convert weights-only torch files to safetensors")
    s.add_argument("source")
    s.add_argument("target")
    s.add_argument("--kind", required=True, choices=MODEL_NAMES + VIEW_GENERATORS)
    s.add_argument("--config", help="JSON file of the model config")
    s.set_defaults(func=_cmd_convert)
    s = sub.add_parser(
        "bundle", help="(developers) trained models, or measurements, into the package's weights"
    )
    s.add_argument(
        "runs",
        nargs="?",
        help="folder with <model>/model.safetensors; without it the measurements go into the bundled weights' cards",
    )
    s.add_argument("--evaluation", help="JSON rows from `genmed evaluate --json --weights ...`")
    s.add_argument(
        "--view-evaluation", help="JSON rows from `genmed evaluate-views --json --weights ...`"
    )
    s.add_argument(
        "--density-evaluation", help="JSON from `genmed evaluate-density --json --weights ...`"
    )
    s.add_argument(
        "--ceiling",
        help="JSON rows from `genmed ceiling --models ... --reading-error E --json` (the variants' spread)",
    )
    s.set_defaults(func=_cmd_bundle)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"genmed: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
