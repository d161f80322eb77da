"""The ``genmed`` console script.

    genmed sample-data [--out DIR]           regenerate the files in sample_data/
    genmed phantom --ga 28 --seed 0 --out D  a phantom (NIfTI) and its planes (PNG, JSON)
    genmed bench [--json]                    speed of the core (see README, Performance)

Later issues add train, evaluate and friends. Heavy imports happen inside commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cmd_sample_data(args) -> int:
    from .core.sample import write_sample

    for path in write_sample(args.out):
        print(path)
    return 0


def _cmd_phantom(args) -> int:
    from .core.progress import run
    from .core.sample import write_scan
    from .core.scan import scan_job

    scan = run(scan_job(args.ga, args.seed, (args.grid,) * 3, args.spacing))
    write_scan(scan, args.out, labels_file="labels.nii.gz", description="napari-genmed phantom")
    b = scan.phantom.biometry
    print(f"GA {b.ga_weeks:.1f} w: BPD {b.bpd_mm:.1f} mm, OFD {b.ofd_mm:.1f} mm, HC {b.hc_mm:.1f} mm -> {args.out}")
    return 0


def _cmd_bench(args) -> int:
    from .bench import run_bench

    results = run_bench(repeats=args.repeats)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for row in results["rows"]:
            print(f"{row['name']:<44} p50 {row['p50_ms']:9.2f} ms  p95 {row['p95_ms']:9.2f} ms  {row.get('note', '')}")
        print(f"machine: {results['machine']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genmed", description="napari-genmed: generative models for fetal ultrasound")
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
    s.set_defaults(func=_cmd_bench)
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
