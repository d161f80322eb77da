"""The evaluation commands: Table 1 and its targets, the ceiling of what the views
determine, the missing views and the density maps, each on held-out data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..core.eval.paper import VIEW_SETS
from ..core.io.bundled import NAMES as MODEL_NAMES
from ..core.io.bundled import TRAINABLE_VIEW_GENERATORS, VIEW_GENERATORS
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
    """A bundled name, or ``folder/<name>.safetensors`` / ``folder/<name>/model.safetensors``;
    the bundled model, said on stderr, when the folder has neither."""
    if not folder:
        return name
    for path in (Path(folder) / f"{name}.safetensors", Path(folder) / name / "model.safetensors"):
        if path.exists():
            return str(path)
    print(f"no {name} weights in {folder}: evaluating the bundled {name}", file=sys.stderr)
    return name


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
            generators,
            recon,
            n=args.n,
            cache_dir=args.cache,
            family=args.family,
            gate=gate,
            texture=args.texture,
            split=args.split,
            samples=args.samples,
            appearance=args.appearance,
        ),
        "evaluate-views",
        quiet=args.json,
    )
    print(json.dumps(rows, indent=2) if args.json else format_view_table(rows))
    return 0


APPEARANCES = (
    "convolution",
    "beamformed",
    "processed",
)  #: core.eval.appearance.held_out_appearances(), named here so --help stays quick

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
    s.add_argument(
        "--methods",
        nargs="+",
        default=list(VIEW_GENERATORS),
        choices=TRAINABLE_VIEW_GENERATORS,
        help="view generators (default: the bundled ones; others from --weights)",
    )
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
    s.add_argument(
        "--texture",
        action="store_true",
        help="also each generator's planes (and the blob) with one B-mode sample drawn at 1 mm",
    )
    s.add_argument(
        "--split",
        choices=("test", "val"),
        default="test",
        help="test: held-out scenes (the reported tables); val: validation scenes, to choose "
        "between runs",
    )
    s.add_argument(
        "--samples",
        type=int,
        default=1,
        help="score the mean of this many latent draws (the panel's Samples) instead of the "
        "decoded prior mean",
    )
    s.add_argument(
        "--appearance",
        choices=APPEARANCES,
        help="observed slices rendered in this evaluation-only appearance (the truth stays "
        "the own speckle-free rendering)",
    )
    s.set_defaults(func=_cmd_evaluate_views)
