"""The ``genmed`` console script.

    genmed sample-data [--out DIR]           regenerate the files in sample_data/
    genmed phantom --ga 28 --seed 0 --out D  a phantom (NIfTI) and its planes (PNG, JSON)
    genmed data --cache CACHE                make the training phantoms into a cache
    genmed train MODEL [--config F] [--device D] [--out DIR] [--resume]   train a model
    genmed evaluate [--n N] [--json]         Table 1 of the reconstruction paper, on held-out phantoms
    genmed ceiling [--n N] [--json]          what each view set determines: the bound on Table 1's rows
    genmed evaluate-views [--n N] [--json]   generated missing views on held-out scenes
    genmed evaluate-density [--n N] [--json] the patch flow: test NLL and corruption-detection AUC
    genmed bench [--device D] [--json]       speed of the core (docs/performance.md)
    genmed convert IN.pt OUT.safetensors --kind K   a weights-only pickle to a safetensors checkpoint
    genmed bundle [RUNS] [--evaluation FILE] (developers) trained models or measurements into the weights

One module per group of commands, each adding its own subcommands; heavy imports
happen inside the commands, so ``genmed --help`` is quick.
"""

from __future__ import annotations

import argparse
import sys

from . import bench, evaluate, files, train


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="genmed", description="napari-genmed: generative models for fetal ultrasound"
    )
    sub = p.add_subparsers(dest="command", required=True)
    for group in (files, train, evaluate, bench):
        group.add_commands(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"genmed: error: {exc}", file=sys.stderr)
        return 2
