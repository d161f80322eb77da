"""The ``genmed`` console script.

    genmed sample-data | phantom | data        the sample, a phantom, the training data
    genmed train MODEL [--config F] [--resume] train a model (a recipe of weights/recipes/)
    genmed evaluate | ceiling                  Table 1 and its targets; what the views determine
    genmed evaluate-views | evaluate-density   the missing views; the density maps
    genmed evaluate-plausibility               the plane gate: planes accepted, the rest flagged
    genmed evaluate-poses                      the placed views' pose errors, per family
    genmed evaluate-appearance                 the models on an evaluation-only appearance
    genmed check FILE... [--slot S] [--frame N] is an image file a fetal-head plane?
    genmed reconstruct --axial F ... --out DIR the skull from view files (--batch FOLDER)
    genmed prefer-reader [--undo]              this plugin as napari's reader for its files
    genmed bench [--device D] [--json]         speed of the core and the GUI
    genmed convert IN.pt OUT.safetensors       a weights-only pickle to a checkpoint
    genmed average-weights START TUNED --out F (developers) a fine-tune averaged with its start
    genmed bundle [RUNS] [--evaluation F ...]  (developers) weights and measurements in

One module per group of commands, each adding its own subcommands; heavy imports
happen inside the commands, so ``genmed --help`` is quick.
"""

from __future__ import annotations

import argparse
import sys

from . import bench, check, evaluate, evaluate_inputs, files, prefer, reconstruct, train


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="genmed", description="napari-genmed: generative models for fetal ultrasound"
    )
    sub = p.add_subparsers(dest="command", required=True)
    for group in (files, train, evaluate, evaluate_inputs, check, reconstruct, prefer, bench):
        group.add_commands(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"genmed: error: {exc}", file=sys.stderr)
        return 2
