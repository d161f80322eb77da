"""The evaluation commands: Table 1 and its targets, the ceiling of what the views
determine, the missing views and the density maps, each on held-out data."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.eval.paper import VIEW_SETS
from ..core.io.bundled import NAMES as MODEL_NAMES
from ..core.io.bundled import VIEW_GENERATORS
from ..core.sim.families import FAMILIES


def _with_bar(job, desc: str, quiet: bool = False):
    """Run a core job with a tqdm progress bar (none with ``quiet``)."""
    from tqdm import tqdm

    from ..core.progress import run

    with tqdm(total=None, desc=desc, disable=quiet) as bar:

        def show(p):
            bar.total = p.total
            bar.update(p.step - bar.n)

        return run(job, show)


def _weights(name: str, folder: str | None) -> str:
    """A bundled name, or ``folder/<name>.safetensors`` / ``folder/<name>/model.safetensors``."""
    if not folder:
        return name
    flat = Path(folder) / f"{name}.safetensors"
    return str(flat if flat.exists() else Path(folder) / name / "model.safetensors")


def _cmd_evaluate(args) -> int:
    from .. import api
    from ..core.eval.reconstruction import evaluate_job, format_frame_free, format_table
    from ..core.eval.targets import check_targets, format_targets

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
            families=tuple(args.families),
            frame_free=not args.no_frame_free,
        ),
        "evaluate",
        quiet=args.json,
    )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        tables = [format_table(rows), format_frame_free(rows), format_targets(check_targets(rows))]
        print("\n\n".join(t for t in tables if t))
    return 0


def _cmd_ceiling(args) -> int:
    from ..core.eval.ceiling import ceiling_job, format_ceiling

    models = {}
    if args.models:
        from .. import api

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
    from .. import api
    from ..core.eval.views import evaluate_views_job, format_view_table

    generators = {
        name: api.load_model(_weights(name, args.weights), args.device) for name in args.methods
    }
    recon = api.load_model(args.baseline, args.device) if args.baseline != "none" else None
    gate = None if args.no_gate else api.load_model(args.gate or "plane-gate", "cpu")
    rows = _with_bar(
        evaluate_views_job(
            generators, recon, n=args.n, cache_dir=args.cache, family=args.family, gate=gate
        ),
        "evaluate-views",
        quiet=args.json,
    )
    print(json.dumps(rows, indent=2) if args.json else format_view_table(rows))
    return 0


def _cmd_evaluate_density(args) -> int:
    from .. import api
    from ..core.eval.density import evaluate_density_job, format_density

    flow = api.load_model(args.weights or "patch-flow", "cpu")
    result = _with_bar(
        evaluate_density_job(
            flow,
            n=args.n,
            cache_dir=args.cache,
            split=args.split,
            sweep=tuple(args.complexity_weights or ()),
            family=args.family,
        ),
        "evaluate-density",
        quiet=args.json,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_density(result))
    return 0


def _cmd_evaluate_plausibility(args) -> int:
    from .. import api
    from ..core.eval.plausibility import evaluate_plausibility_job, format_plausibility

    gate = api.load_model(args.weights or "plane-gate", "cpu")
    result = _with_bar(
        evaluate_plausibility_job(gate, n_heads=args.n), "evaluate-plausibility", quiet=args.json
    )
    print(json.dumps(result, indent=2) if args.json else format_plausibility(result))
    return 0


def _cmd_evaluate_poses(args) -> int:
    from .. import api
    from ..core.eval.poses import evaluate_poses_job, format_poses

    net = api.load_model(args.weights or "plane-pose", "cpu")
    model = api.load_model(args.model, "cpu")
    rows = _with_bar(
        evaluate_poses_job(net, model, n=args.n, families=tuple(args.families)),
        "evaluate-poses",
        quiet=args.json,
    )
    print(json.dumps(rows, indent=2) if args.json else format_poses(rows))
    return 0


def _cmd_evaluate_appearance(args) -> int:
    from .. import api
    from ..core.eval.appearance import evaluate_appearance_job, format_appearance

    models = {name: api.load_model(_weights(name, args.weights), "cpu") for name in args.models}
    gate_file = _weights("plane-gate", args.weights)
    gate = api.load_model(gate_file if Path(gate_file).exists() else "plane-gate", "cpu")
    job = evaluate_appearance_job(models, gate, n=args.n, families=tuple(args.families))
    rows = _with_bar(job, "evaluate-appearance", quiet=args.json)
    print(json.dumps(rows, indent=2) if args.json else format_appearance(rows))
    return 0


WEIGHTS_HELP = "folder with <model>.safetensors or <model>/model.safetensors (else the bundled)"


def add_commands(sub) -> None:
    s = sub.add_parser("evaluate", help="Table 1 on held-out phantoms")
    s.add_argument("--n", type=int, default=50, help="test phantoms per scenario")
    s.add_argument("--json", action="store_true")
    s.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    s.add_argument("--weights", help=WEIGHTS_HELP)
    s.add_argument("--device", default="auto")
    s.add_argument("--no-robustness", action="store_true")
    s.add_argument(
        "--split",
        choices=("test", "val"),
        default="test",
        help="test: held-out heads (the reported table); val: validation heads, to choose between "
        "runs without the test heads",
    )
    s.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="cut the skull probability here (0.5: the reported table; lower: more SEN, less PPV)",
    )
    s.add_argument(
        "--families",
        nargs="*",
        default=[f for f in FAMILIES if f != "phantom"],
        choices=list(FAMILIES),
        help="shape families evaluated beside the phantom heads (none: just the phantom family)",
    )
    s.add_argument(
        "--no-frame-free",
        action="store_true",
        help="skip the aligned Dice, surface Dice and extents (quicker)",
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
    s.add_argument("--weights", help=WEIGHTS_HELP)
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
    s.add_argument("--weights", help=WEIGHTS_HELP)
    s.add_argument("--cache", help="dataset cache folder")
    s.add_argument("--device", default="auto")
    s.add_argument(
        "--family",
        default="phantom",
        choices=list(FAMILIES),
        help="shape family of the scenes' heads (the targets: deformed, held out)",
    )
    s.add_argument("--no-gate", action="store_true", help="skip the plane gate's acceptance")
    s.add_argument("--gate", help="a plane-gate .safetensors instead of the bundled one")
    s.set_defaults(func=_cmd_evaluate_views)
    s = sub.add_parser(
        "evaluate-density", help="the patch flow: test NLL vs a Gaussian, corruption detection AUC"
    )
    s.add_argument("--n", type=int, default=20, help="held-out views to corrupt")
    s.add_argument("--json", action="store_true")
    s.add_argument("--weights", help="a patch-flow .safetensors instead of the bundled one")
    s.add_argument(
        "--split",
        default="test",
        choices=["val", "test"],
        help="views to corrupt: test (the report) or val (to choose the complexity weight)",
    )
    s.add_argument(
        "--complexity-weights",
        type=float,
        nargs="+",
        metavar="W",
        help="also score with these weights of the complexity term (a sweep)",
    )
    s.add_argument(
        "--family",
        default="phantom",
        choices=list(FAMILIES),
        help="shape family of the corrupted views' heads (deformed: held out)",
    )
    s.add_argument("--cache", help="dataset cache folder")
    s.set_defaults(func=_cmd_evaluate_density)
    s = sub.add_parser(
        "evaluate-plausibility",
        help="the plane gate: standard planes accepted, everything else flagged",
    )
    s.add_argument("--n", type=int, default=100, help="test heads per shape family")
    s.add_argument("--json", action="store_true")
    s.add_argument("--weights", help="a plane-gate .safetensors instead of the bundled one")
    s.set_defaults(func=_cmd_evaluate_plausibility)
    s = sub.add_parser(
        "evaluate-poses", help="the placed views: pose errors, nominal and refined, per family"
    )
    s.add_argument("--n", type=int, default=30, help="test heads per shape family")
    s.add_argument("--model", default="hirec-cvae", choices=MODEL_NAMES)
    s.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    s.add_argument("--json", action="store_true")
    s.add_argument("--weights", help="a plane-pose .safetensors instead of the bundled one")
    s.set_defaults(func=_cmd_evaluate_poses)
    s = sub.add_parser(
        "evaluate-appearance",
        help="reconstruction and the gate on an appearance written for evaluation only",
    )
    s.add_argument("--n", type=int, default=20, help="test heads per shape family")
    s.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    s.add_argument("--families", nargs="+", default=["phantom", "deformed"], choices=list(FAMILIES))
    s.add_argument("--json", action="store_true")
    s.add_argument("--weights", help=WEIGHTS_HELP + "; a plane gate there too, if any")
    s.set_defaults(func=_cmd_evaluate_appearance)
