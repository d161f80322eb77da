"""genmed bundle: runs into the bundled weights, with their evaluation in the card."""

import json


def _row(model, views, dice, per_head=None, paper=(0.9, 0.9, 0.9)):
    r = {
        "scenario": "held-out",
        "model": model,
        "views": views,
        "dice": dice,
        "sen": dice,
        "ppv": dice,
        "paper": paper,
        "meets_paper": dice >= paper[0],
    }
    if per_head is not None:
        r["dice_per_head"] = per_head
    return r


def test_bundle_keeps_the_table_without_per_head_values(tmp_path, monkeypatch):
    """`genmed bundle` stores the held-out rows in the checkpoint's metrics, not each head's Dice."""
    import torch
    from safetensors import safe_open

    from napari_genmed.core.io import bundled
    from napari_genmed.core.io.checkpoint import save_checkpoint
    from napari_genmed.core.nets.registry import build_model
    from napari_genmed.dev.bundle import bundle

    from ..core.tiny import TINY_MODEL

    runs = tmp_path / "runs"
    torch.manual_seed(0)
    save_checkpoint(
        runs / "tl-net" / "model.safetensors", build_model("tl-net", TINY_MODEL["tl-net"])
    )
    monkeypatch.setattr(bundled, "WEIGHTS_DIR", tmp_path / "weights")
    monkeypatch.setattr(bundled, "MANIFEST", tmp_path / "weights" / "MANIFEST.json")
    (tmp_path / "weights").mkdir()
    rows = [
        _row("tl-net", "3 views", 0.9, [0.9, 0.9]),
        _row("rec-cvae", "3 views", 0.9, [0.9, 0.9]),
    ]
    written = bundle(runs, rows)
    assert list(written) == ["tl-net"]
    with safe_open(str(written["tl-net"]), "pt") as f:
        table = json.loads(f.metadata()["metrics"])["table"]
    assert len(table) == 1 and table[0]["dice"] == 0.9 and "dice_per_head" not in table[0]
    assert (
        json.loads((tmp_path / "weights" / "MANIFEST.json").read_text())["tl-net"]["file"]
        == "tl-net.safetensors"
    )
