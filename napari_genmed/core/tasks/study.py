"""One study from files to files: views read from disk, a reconstruction, its outputs.

A study is a set of view files, one per plane at most. In a study folder (``genmed
reconstruct --batch``) a file is a plane's view when its name starts with the plane's
name (``axial.dcm``, ``sagittal_2.png``, ``coronal-slice.nii.gz``, any case); two files
for one plane, or a folder with none, is an error naming them: nothing is chosen for
the user. A cine's frame is the one asked for, or with ``frame="best"`` the one the
plane gate finds most plausible as that plane (reported in the outputs).

Outputs, in the study's output folder (never written over unless ``overwrite``):

- ``probability.nii.gz``: the skull probability on the model's grid (float32, mm)
- ``skull.nii.gz``: the skull at the threshold (labels: 1 skull, 0 background)
- ``surface.stl``: the skull surface at the threshold, in mm (when it has one)
- ``result.json``: the model, the views (file, frame, pixel mm, warnings, the plane
  gate's verdict), biometry and GA (or why they are withheld), with samples > 1 how
  far the surface moves between them (median and 95th percentile, mm), the output paths
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..sim.geometry import VIEW_NAMES
from .reconstruct import BIOMETRY_KEYS

OUTPUTS = ("probability.nii.gz", "skull.nii.gz", "surface.stl", "result.json")
BEST = "best"  #: the frame argument that asks for the most plausible frame


@dataclass
class StudyView:
    """How one view of a study was taken from its file."""

    file: str
    frame: int
    frames: int
    pixel_mm: float
    warnings: list[str] = field(default_factory=list)
    frame_scores: list[float] | None = None  #: per frame, when the best frame was asked for


def study_files(folder: str | Path) -> dict[str, Path]:
    """``{plane: file}`` of a study folder, by file name (see the module docstring)."""
    folder = Path(folder)
    found: dict[str, list[Path]] = {name: [] for name in VIEW_NAMES}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        for name in VIEW_NAMES:
            if path.name.lower().startswith(name):
                found[name].append(path)
    twice = {n: ps for n, ps in found.items() if len(ps) > 1}
    if twice:
        which = "; ".join(f"{n}: {', '.join(p.name for p in ps)}" for n, ps in twice.items())
        raise ValueError(f"{folder.name}: more than one file for a plane ({which}); keep one")
    files = {n: ps[0] for n, ps in found.items() if ps}
    if not files:
        raise ValueError(
            f"{folder.name}: no view file (name files axial..., sagittal..., coronal...)"
        )
    return files


def load_views(files: dict, frame: int | str, gate) -> tuple[dict, dict[str, StudyView]]:
    """The views of ``files`` as the models take them (:func:`~..io.acquired.view_of`)
    and how each was taken."""
    from ..io.acquired import read_acquisition, view_of
    from .plausibility import best_frame

    views, taken = {}, {}
    for name, path in files.items():
        if name not in VIEW_NAMES:
            raise ValueError(f"unknown plane {name!r} (one of {', '.join(VIEW_NAMES)})")
        acq = read_acquisition(path)
        scores = None
        if frame == BEST:
            k, s = best_frame(acq, gate, name) if acq.n_frames > 1 else (0, None)
            scores = None if s is None else [round(float(v), 4) for v in s]
        else:
            k = int(frame) if acq.n_frames > 1 else 0
        views[name] = view_of(acq, k)
        taken[name] = StudyView(str(path), k, acq.n_frames, acq.spacing_mm, acq.warnings, scores)
    return views, taken


def _targets(out: Path, overwrite: bool) -> dict[str, Path]:
    paths = {name: out / name for name in OUTPUTS}
    there = [p.name for p in paths.values() if p.exists()]
    if there and not overwrite:
        raise ValueError(
            f"{out} already holds {', '.join(there)}: not written over (choose another "
            "--out, or --overwrite)"
        )
    return paths


def run_study(
    model,
    gate,
    files: dict,
    out: str | Path,
    frame: int | str = BEST,
    n_samples: int = 1,
    seed: int = 0,
    threshold: float = 0.5,
    allow_implausible: bool = False,
    overwrite: bool = False,
) -> dict:
    """Reconstruct one study and write its outputs; returns what ``result.json`` holds.
    Every problem (a bad file, an existing output) is a ``ValueError`` and nothing is
    written for the study."""
    from ..io.meshes import write_mesh
    from ..io.nifti import write_nifti
    from ..metrics.surface_spread import summary_mm
    from ..progress import run
    from .reconstruct import reconstruction_job

    out = Path(out)
    paths = _targets(out, overwrite)
    views, taken = load_views(files, frame, gate)
    result = run(
        reconstruction_job(
            model,
            views,
            n_samples,
            seed,
            threshold,
            with_surface=True,
            gate=gate,
            allow_implausible=allow_implausible,
        )
    )
    out.mkdir(parents=True, exist_ok=True)
    spacing = (result.spacing_mm,) * 3
    write_nifti(paths["probability.nii.gz"], result.probability.astype(np.float32), spacing)
    write_nifti(paths["skull.nii.gz"], result.mask().astype(np.uint8), spacing)
    written = ["probability.nii.gz", "skull.nii.gz"]
    if result.surface is not None:
        write_mesh(paths["surface.stl"], *result.surface)
        written.append("surface.stl")
    m = result.measurements
    summary = {
        "model": result.model_kind,
        "threshold": result.threshold,
        "samples": int(n_samples),
        "seed": int(seed),
        "views": {
            n: {
                **vars(taken[n]),
                **(result.plausibility[n].as_dict() if n in result.plausibility else {}),
            }
            for n in taken
        },
        "biometry": {k: float(m[k]) for k in BIOMETRY_KEYS if k in m},
        "withheld": m.get("withheld"),
        "override": result.override,
        "surface_spread_mm": summary_mm(result),
        "outputs": [str(out / name) for name in written],
    }
    paths["result.json"].write_text(json.dumps(summary, indent=2))
    return summary
