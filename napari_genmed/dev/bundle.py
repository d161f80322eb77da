"""``genmed bundle`` (developers): trained runs into the package's bundled weights.

Each run's ``model.safetensors`` is copied into ``napari_genmed/weights/`` with the
held-out evaluation added to its card's metrics (the rows of ``genmed evaluate``, of
``genmed evaluate-views`` and of ``genmed evaluate-density``), and the manifest of
SHA-256 digests (checked at every load) is rewritten.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core.io import bundled


def bundle(
    runs_dir,
    evaluation_rows: list[dict] | None = None,
    view_rows: list[dict] | None = None,
    density: dict | None = None,
) -> dict[str, Path]:
    """Copy ``runs_dir/<name>/model.safetensors`` of each trained model into the
    package's weights, adding the held-out evaluation rows to its metrics, and
    rewrite the manifest (SHA-256)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    written = {}
    for name in bundled.ALL:
        src = Path(runs_dir) / name / "model.safetensors"
        if not src.exists():
            continue
        with safe_open(str(src), "pt") as f:
            meta = dict(f.metadata())
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        metrics = json.loads(meta.get("metrics", "{}"))
        rows = [
            {k: v for k, v in r.items() if k != "dice_per_head"}
            for r in (evaluation_rows or [])
            if r["model"] == name and r["scenario"] == "held-out"
        ]
        if rows:
            metrics["table"] = rows
        generated = [r for r in (view_rows or []) if r["method"] == name]
        if generated:
            metrics["view_table"] = generated
        if density and name == "patch-flow":
            metrics["evaluation"] = density
        meta["metrics"] = json.dumps(metrics)
        dst = bundled.WEIGHTS_DIR / f"{name}.safetensors"
        save_file(tensors, str(dst), metadata=meta)
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
