"""``genmed bench``: the speed of the core, and of the GUI (rows of ``dev/bench``)."""

from __future__ import annotations

import json


def _cmd_bench(args) -> int:
    from ..core.devices import resolve_device
    from ..dev.bench import run_bench

    results = run_bench(repeats=args.repeats, device=resolve_device(args.device))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for row in results["rows"]:
            print(
                f"{row['name']:<44} p50 {row['p50_ms']:9.2f} ms  p95 {row['p95_ms']:9.2f} ms  "
                f"{row.get('note', '')}"
            )
        print(f"machine: {results['machine']}, device {results['device']}")
    return 0


def add_commands(sub) -> None:
    s = sub.add_parser("bench", help="measure the speed of the core")
    s.add_argument("--json", action="store_true")
    s.add_argument("--repeats", type=int, default=10)
    s.add_argument(
        "--device",
        default="auto",
        help="auto, cpu, cuda, cuda:N or mps (models, training, density maps)",
    )
    s.set_defaults(func=_cmd_bench)
