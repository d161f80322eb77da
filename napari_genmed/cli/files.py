"""Commands that make or move files: the sample data, phantoms, the training data, a
weights-only pickle converted to safetensors, and (developers) bundling weights."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..core.io.bundled import NAMES as MODEL_NAMES
from ..core.io.bundled import VIEW_GENERATORS
from ..core.sim.families import TRAINING


def _cmd_sample_data(args) -> int:
    from ..core.data.sample import write_sample

    for path in write_sample(args.out):
        print(path)
    return 0


def _cmd_phantom(args) -> int:
    from ..core.data.sample import write_scan
    from ..core.progress import run
    from ..core.sim.scan import scan_job

    scan = run(scan_job(args.ga, args.seed, (args.grid,) * 3, args.spacing))
    write_scan(scan, args.out, labels_file="labels.nii.gz", description="napari-genmed phantom")
    b = scan.phantom.biometry
    print(
        f"GA {b.ga_weeks:.1f} weeks: BPD {b.bpd_mm:.1f} mm, OFD {b.ofd_mm:.1f} mm, "
        f"HC {b.hc_mm:.1f} mm -> {args.out}"
    )
    return 0


def _cmd_data(args) -> int:
    import time

    from ..core.data.dataset import DatasetConfig, PhantomDataset

    t0 = time.perf_counter()
    if args.varied_share != 1.0 and not args.vary_acquisition:
        raise ValueError("--varied-share needs --vary-acquisition")
    config = DatasetConfig(
        families=tuple(args.families),
        vary_acquisition=bool(args.vary_acquisition),
        varied_share=args.varied_share,
    )
    if args.scenes:  # the view generators' scenes (their heads come with them)
        from ..core.data.scenes import SceneDataset

        def dataset(split, n):
            return SceneDataset(split, n, args.cache, config)
    else:

        def dataset(split, n):
            return PhantomDataset(split, n, config, cache_dir=args.cache)

    made = {
        split: dataset(split, n).fill_cache(workers=args.workers)
        for split, n in (("train", args.train), ("val", args.val))
    }
    print(json.dumps({"made": made, "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


def _cmd_convert(args) -> int:
    import torch

    from ..core.io.checkpoint import save_checkpoint
    from ..core.nets.registry import build_model

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


def _cmd_average(args) -> int:
    from ..core.io.averaging import average_checkpoints

    print(average_checkpoints(args.start, args.tuned, args.share, args.out))
    return 0


def _cmd_bundle(args) -> int:
    from ..dev.bundle import bundle

    def read(path):
        return json.loads(Path(path).read_text()) if path else None

    written = bundle(
        args.runs,
        read(args.evaluation),
        read(args.view_evaluation),
        read(args.density_evaluation),
        read(args.ceiling),
        read(args.plausibility_evaluation),
        read(args.poses_evaluation),
    )
    for name, path in written.items():
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def add_commands(sub) -> None:
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
    s = sub.add_parser(
        "data", help="generate the phantom training data into a cache folder, on several processes"
    )
    s.add_argument("--cache", required=True, help="dataset cache folder (as for train --cache)")
    s.add_argument("--train", type=int, default=4000, help="training phantoms")
    s.add_argument("--val", type=int, default=64, help="validation phantoms")
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    s.add_argument(
        "--scenes",
        action="store_true",
        help="the view generators' scenes instead (a view recipe's families must match)",
    )
    s.add_argument(
        "--families",
        nargs="+",
        default=["phantom"],
        choices=list(TRAINING),
        help="shape families of the heads (a recipe's data.families must name the same)",
    )
    s.add_argument(
        "--vary-acquisition",
        action="store_true",
        help="draw each scan's probe and display settings and burn in overlays (a recipe's "
        "data.vary_acquisition must be true to use this cache)",
    )
    s.add_argument(
        "--varied-share",
        type=float,
        default=1.0,
        help="with --vary-acquisition, the share of subjects scanned with drawn settings, the "
        "rest in the default appearance (a recipe's data.varied_share must match)",
    )
    s.set_defaults(func=_cmd_data)
    s = sub.add_parser("convert", help="convert weights-only torch files to safetensors")
    s.add_argument("source")
    s.add_argument("target")
    s.add_argument("--kind", required=True, choices=MODEL_NAMES + VIEW_GENERATORS)
    s.add_argument("--config", help="JSON file of the model config")
    s.set_defaults(func=_cmd_convert)
    s = sub.add_parser(
        "average-weights",
        help="(developers) a fine-tune averaged with the weights it started from (WiSE-FT)",
    )
    s.add_argument("start", help="the weights the fine-tune started from (a file or bundled name)")
    s.add_argument("tuned", help="the fine-tuned weights (same architecture)")
    s.add_argument("--share", type=float, default=0.5, help="weight of the fine-tune, 0..1")
    s.add_argument("--out", required=True, help="the averaged .safetensors")
    s.set_defaults(func=_cmd_average)
    s = sub.add_parser(
        "bundle", help="(developers) trained models, or measurements, into the package's weights"
    )
    s.add_argument(
        "runs",
        nargs="?",
        help="folder with <model>/model.safetensors; without it the measurements go into the "
        "bundled weights' cards",
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
        help="JSON rows from `genmed ceiling --models ... --reading-error E --json` (the "
        "variants' spread)",
    )
    s.add_argument(
        "--plausibility-evaluation",
        help="JSON from `genmed evaluate-plausibility --json --weights ...`",
    )
    s.add_argument(
        "--poses-evaluation", help="JSON rows from `genmed evaluate-poses --json --weights ...`"
    )
    s.set_defaults(func=_cmd_bundle)
