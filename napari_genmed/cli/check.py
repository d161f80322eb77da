"""``genmed check``: the plane gate's verdict on image files, without the GUI.

Each file (DICOM, PNG, TIFF or a NIfTI slice; a cine DICOM frame by frame, or
``--frame N``) is read by the product's own readers, with its pixel spacing, cropped to
its ultrasound region and with drawn-on marks filled (:mod:`~..core.io.acquired`), and
judged as the ``--slot`` it is meant to be (or against the plane it fits best). The
exit status is 1 when any image is not a fetal head plane, so scripts can stop on it.
"""

from __future__ import annotations

import json
from pathlib import Path


def _frames(path: Path, frame: int | None):
    """``(frame, image, pixel mm)`` of the file's frames (or of frame ``frame``) as the
    models take them: cropped to the ultrasound region, drawn-on marks filled."""
    from ..core.io.acquired import read_acquisition, view_of

    acq = read_acquisition(path)
    indices = [frame] if frame is not None else range(acq.n_frames)
    return [(k, *view_of(acq, k)) for k in indices]


def _cmd_check(args) -> int:
    from .. import api

    gate = api.load_model(args.weights or "plane-gate", "cpu")
    out, refused = [], False
    for name in args.files:
        path = Path(name)
        for k, image, mm in _frames(path, args.frame):
            p = api.plausibility((image, mm), args.slot, gate=gate)
            refused |= p.implausible
            out.append({"file": str(path), "frame": k, "pixel_mm": mm, **p.as_dict()})
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for r in out:
            print(f"{r['file']} frame {r['frame']}: {r['verdict']} ({r['reason']})")
    return 1 if refused else 0


def add_commands(sub) -> None:
    s = sub.add_parser(
        "check", help="is an image file a fetal-head standard plane? (the plane gate)"
    )
    s.add_argument("files", nargs="+", help="DICOM, PNG or TIFF files")
    s.add_argument("--slot", choices=("axial", "sagittal", "coronal"), help="the plane meant")
    s.add_argument("--frame", type=int, help="only this frame of a cine")
    s.add_argument("--weights", help="a plane-gate .safetensors instead of the bundled one")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_check)
