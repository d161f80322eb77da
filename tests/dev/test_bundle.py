"""genmed bundle: runs into the bundled weights, with their evaluation in the card."""

import json

from ..core.eval.test_targets import _row


def test_bundle_keeps_the_table_without_per_head_values(tmp_path, monkeypatch):
    """`genmed bundle` stores the held-out rows in the checkpoint's metrics, not each
    head's Dice."""
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


def test_measurements_go_into_the_bundled_cards_in_place(tmp_path, monkeypatch):
    """Without runs, `genmed bundle --ceiling C --density-evaluation D` writes the
    measured figures the panels quote into the bundled cards; the tensors and every
    other card entry stay, and the manifest's digests follow the new files."""
    import torch
    from safetensors.torch import load_file

    from napari_genmed.core.io import bundled
    from napari_genmed.core.io.checkpoint import load_checkpoint, save_checkpoint
    from napari_genmed.core.nets.registry import build_model
    from napari_genmed.dev.bundle import bundle

    from ..core.tiny import TINY_MODEL

    weights = tmp_path / "weights"
    monkeypatch.setattr(bundled, "WEIGHTS_DIR", weights)
    monkeypatch.setattr(bundled, "MANIFEST", weights / "MANIFEST.json")
    torch.manual_seed(0)
    path = save_checkpoint(
        weights / "rec-cvae.safetensors",
        build_model("rec-cvae", TINY_MODEL["rec-cvae"]),
        metrics={"val_dice": 0.5},
    )
    bundled.write_manifest({"rec-cvae": path})
    before = load_file(str(path))
    ceiling = [
        {
            "views": "3 views",
            "n": 30,
            "reading_error": 0.0125,
            "spread_voxels": {"reader": 2000.0, "rec-cvae": 100.0},
        }
    ]
    assert list(bundle(None, ceiling_rows=ceiling)) == ["rec-cvae"]
    model, card = load_checkpoint(bundled.bundled_path("rec-cvae"))  # the digest matches
    after = load_file(str(path))
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert card["metrics"]["val_dice"] == 0.5
    assert card["metrics"]["variant_spread"]["3 views"] == {
        "variants": 100.0,
        "reader": 2000.0,
        "reading_error": 0.0125,
        "heads": 30,
    }
    assert bundle(None) == {}  # nothing to add: nothing written

    from napari_genmed._qt.model_card import samples_tip

    model.card = card
    assert "5% (3 views)" in samples_tip(model)
