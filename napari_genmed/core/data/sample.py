"""The sample head: one phantom and its three simulated planes, as files.

``sample_data/`` in the repository holds what :func:`write_sample` writes (the
command ``genmed sample-data`` regenerates it):

* ``fetal_head_labels.nii.gz``: the label volume (z, y, x), 2 mm voxels;
* ``axial.png``, ``sagittal.png``, ``coronal.png``: the simulated planes (8-bit);
* ``planes.json``: the GA, seed, true biometry and each plane's pose and file.

The napari sample "Synthetic fetal head" is made from the same (GA, seed), so the
files and the sample agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..progress import run
from ..sim.geometry import Pose
from ..sim.scan import Scan, scan_job
from ..sim.ultrasound import View

SAMPLE_GA_WEEKS = 28.0  #: mid-range: the head fills most of the field of view
SAMPLE_SEED = 2032  # a head of average size for its GA
LABELS_FILE = "fetal_head_labels.nii.gz"
PLANES_FILE = "planes.json"


def sample_scan() -> Scan:
    return run(scan_job(SAMPLE_GA_WEEKS, SAMPLE_SEED))


def write_scan(scan: Scan, out_dir, labels_file: str = LABELS_FILE, **meta) -> list[Path]:
    """Write a scan as files: the label volume (NIfTI), each view (8-bit PNG) and a
    ``planes.json`` with the true biometry and every view's pose and file."""
    import imageio.v3 as iio

    from ..io.nifti import write_nifti

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ph = scan.phantom
    paths = [write_nifti(out / labels_file, ph.labels, (ph.spacing_mm,) * 3)]
    planes = {}
    for name, view in scan.views.items():
        path = out / f"{name}.png"
        iio.imwrite(path, np.round(view.image * 255).astype(np.uint8))
        paths.append(path)
        planes[name] = {"file": path.name, "seed": view.seed, "pose": view.pose.to_dict()}
    meta = {
        **meta,
        "ga_weeks": ph.biometry.ga_weeks,
        "seed": ph.seed,
        "labels_file": labels_file,
        "spacing_mm": ph.spacing_mm,
        "biometry": ph.biometry.to_dict(),
        "views": planes,
    }
    paths.append(out / PLANES_FILE)
    paths[-1].write_text(json.dumps(meta, indent=2))
    return paths


def write_sample(out_dir) -> list[Path]:
    """Write the sample head's files into ``out_dir``; returns the paths."""
    return write_scan(
        sample_scan(),
        out_dir,
        description="Synthetic fetal head (napari-genmed phantom) and its simulated standard "
        "planes",
    )


def read_views(planes_json) -> dict[str, View]:
    """Read the planes listed in a ``planes.json`` (images and poses)."""
    import imageio.v3 as iio

    path = Path(planes_json)
    try:
        meta = json.loads(path.read_text())
        entries = meta["views"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a planes description ({exc})") from exc
    views = {}
    for name, entry in entries.items():
        img = np.asarray(iio.imread(path.parent / entry["file"]), np.float32) / 255.0
        views[name] = View(
            name=name, image=img, pose=Pose.from_dict(entry["pose"]), seed=int(entry.get("seed", 0))
        )
    return views
