"""``genmed bundle`` (developers): trained runs into the package's bundled weights,
with their measured figures in each card.

Each run's ``model.safetensors`` is copied into ``napari_genmed/weights/`` with the
held-out evaluation added to its card's metrics: the rows of ``genmed evaluate``
(``table``), of ``genmed evaluate-views`` (``view_table``), of
``genmed evaluate-density`` (``evaluation``, with the clean views' scores the density
panel centres its colours on), of ``genmed evaluate-plausibility`` (the gate's
``evaluation``), of ``genmed evaluate-poses`` (the pose net's ``evaluation``) and of
``genmed ceiling --models`` (``variant_spread``, which the samples tooltip quotes).
Without runs, the same figures are written into the bundled weights in place (the
tensors are untouched). The manifest of SHA-256 digests, checked at every load, is
rewritten.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core.io import bundled


def variant_spread(ceiling_rows: list[dict], name: str) -> dict:
    """Per view set: the summed voxel-wise std of model ``name``'s variants and of the
    ceiling's reader (``genmed ceiling --models NAME --reading-error E``)."""
    return {
        r["views"]: {
            "variants": r["spread_voxels"][name],
            "reader": r["spread_voxels"]["reader"],
            "reading_error": r["reading_error"],
            "heads": r["n"],
        }
        for r in ceiling_rows
        if name in r.get("spread_voxels", {})
    }


def card_updates(
    name: str,
    evaluation_rows: list[dict] | None = None,
    view_rows: list[dict] | None = None,
    density: dict | None = None,
    ceiling_rows: list[dict] | None = None,
    plausibility: dict | None = None,
    poses: list | None = None,
) -> dict:
    """The metrics that the given measurements add to bundled model ``name``'s card."""
    out: dict = {}
    rows = [
        {k: v for k, v in r.items() if k != "dice_per_head"}
        for r in (evaluation_rows or [])
        if r["model"] == name and r["scenario"] == "held-out"
    ]
    if rows:
        out["table"] = rows
    generated = [r for r in (view_rows or []) if r["method"] == name]
    if generated:
        out["view_table"] = generated
    if density and name == "patch-flow":
        out["evaluation"] = density
    if plausibility and name == "plane-gate":
        out["evaluation"] = plausibility
    if poses and name == "plane-pose":
        out["evaluation"] = poses
    spread = variant_spread(ceiling_rows or [], name)
    if spread:
        out["variant_spread"] = spread
    return out


def _write(src: Path, dst: Path, updates: dict) -> None:
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), "pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    metrics = json.loads(meta.get("metrics", "{}"))
    meta["metrics"] = json.dumps(metrics | updates)
    tmp = dst.with_suffix(".tmp.safetensors")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(dst)


def bundle(
    runs_dir=None,
    evaluation_rows=None,
    view_rows=None,
    density=None,
    ceiling_rows=None,
    plausibility=None,
    poses=None,
) -> dict[str, Path]:
    """Copy ``runs_dir/<name>/model.safetensors`` of each trained model into the
    package's weights with the measurements in its card; with ``runs_dir`` None, add
    the measurements to the bundled weights in place. Rewrites the manifest."""
    written = {}
    for name in bundled.ALL:
        updates = card_updates(
            name, evaluation_rows, view_rows, density, ceiling_rows, plausibility, poses
        )
        if runs_dir is not None:
            src = Path(runs_dir) / name / "model.safetensors"
        else:
            entry = bundled.manifest().get(name)
            src = bundled.WEIGHTS_DIR / entry["file"] if entry else Path("-")
            if not updates:
                continue
        if not src.exists():
            continue
        dst = bundled.WEIGHTS_DIR / f"{name}.safetensors"
        _write(src, dst, updates)
        written[name] = dst
    if written:
        old = {}
        if bundled.MANIFEST.exists():
            old = {
                k: bundled.WEIGHTS_DIR / v["file"]
                for k, v in bundled.manifest().items()
                if k not in written and (bundled.WEIGHTS_DIR / v["file"]).exists()
            }
        bundled.write_manifest({**old, **written})
    return written
