"""The bundled weights: names, files and their SHA-256 (verified at load)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
MANIFEST = WEIGHTS_DIR / "MANIFEST.json"
NAMES = (
    "rec-cvae",
    "hirec-cvae",
    "tl-net",
)  #: the skull reconstruction models; each has bundled weights
VIEW_GENERATORS = (
    "mental-map",
    "mental-map-gan",
    "mental-map-anatomy",
)  #: the missing-view generators; each has bundled weights
#: every view generator ``genmed train`` makes (nets/registry.py's kinds, named here
#: without importing torch): all of them are bundled
TRAINABLE_VIEW_GENERATORS = VIEW_GENERATORS
FLOWS = (
    "patch-flow",
    "toy-flow",
    "latent-flow",
)  #: normalizing flows: the density maps' patch flow, the teaching toy, HiREC-CVAE's latent density
#: is a view a fetal-head standard plane (nets/plane_gate.py): the default gate (TL-net's
#: view encoders) and gates on the CVAEs' own encoders (tasks/plausibility.gate_for)
GATES = ("plane-gate", "plane-gate-rec-cvae", "plane-gate-hirec-cvae")
POSES = ("plane-pose",)  #: where an acquired view lies in the head (nets/plane_pose.py)
ALL = NAMES + VIEW_GENERATORS + FLOWS + GATES + POSES


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest() -> dict:
    try:
        return json.loads(MANIFEST.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"the bundled weights' manifest is missing or damaged ({exc})") from exc


def bundled_path(name: str) -> Path:
    """The verified file of bundled model ``name``."""
    if name not in ALL:
        raise ValueError(f"unknown bundled model {name!r}; bundled models are {', '.join(ALL)}")
    entry = manifest().get(name)
    if entry is None:
        raise ValueError(f"the bundled model {name!r} is not in the weights manifest")
    path = WEIGHTS_DIR / entry["file"]
    if not path.exists():
        raise ValueError(f"bundled weights {path.name} are missing from the installation")
    digest = sha256(path)
    if digest != entry["sha256"]:
        raise ValueError(
            f"bundled weights {path.name} fail their SHA-256 check (file damaged or replaced)"
        )
    return path


def write_manifest(entries: dict[str, Path]) -> None:
    data = {
        name: {"file": Path(p).name, "sha256": sha256(p), "bytes": Path(p).stat().st_size}
        for name, p in entries.items()
    }
    MANIFEST.write_text(json.dumps(data, indent=2) + "\n")
