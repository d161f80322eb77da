"""``genmed evaluate-density | evaluate-plausibility | evaluate-poses |
evaluate-appearance``: what comes in, judged on held-out data: the density maps, the
plane gate, the placed views' poses and the models on an evaluation-only appearance."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.io.bundled import NAMES as MODEL_NAMES
from ..core.sim.families import FAMILIES
from .evaluate import APPEARANCES, WEIGHTS_HELP, _weights, _with_bar


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
        evaluate_plausibility_job(
            gate,
            n_heads=args.n,
            appearances=args.appearances,
            appearance_heads=args.appearance_heads,
        ),
        "evaluate-plausibility",
        quiet=args.json,
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
    job = evaluate_appearance_job(
        models,
        gate,
        n=args.n,
        families=tuple(args.families),
        appearances=args.appearances,
        split=args.split,
    )
    rows = _with_bar(job, "evaluate-appearance", quiet=args.json)
    print(json.dumps(rows, indent=2) if args.json else format_appearance(rows))
    return 0


def add_commands(sub) -> None:
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
    s.add_argument(
        "--appearances",
        nargs="*",
        default=None,
        choices=APPEARANCES,
        help="evaluation-only appearances of phantom test heads (default: all; none: skip)",
    )
    s.add_argument(
        "--appearance-heads",
        type=int,
        default=None,
        help="test heads rendered in each appearance (default: a fifth of --n)",
    )
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
    s.add_argument(
        "--appearances",
        nargs="+",
        default=None,
        choices=APPEARANCES,
        help="evaluation-only appearances to render (default: all)",
    )
    s.add_argument("--json", action="store_true")
    s.add_argument("--weights", help=WEIGHTS_HELP + "; a plane gate there too, if any")
    s.add_argument(
        "--split",
        default="test",
        choices=["test", "val"],
        help="test: held-out heads (the reported tables); val: validation heads, to judge a run",
    )
    s.set_defaults(func=_cmd_evaluate_appearance)
