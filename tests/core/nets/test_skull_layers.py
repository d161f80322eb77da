"""The layered skull decoder: head, cavity and bone combined into the skull."""

import pytest
import torch

from napari_genmed.core.io.checkpoint import load_checkpoint, save_checkpoint
from napari_genmed.core.nets.losses import skull_loss, soft_dice
from napari_genmed.core.nets.registry import RECONSTRUCTION_KINDS, build_model
from napari_genmed.core.nets.skull_layers import layer_targets, skull_logits
from napari_genmed.core.progress import run
from napari_genmed.core.sim import labels as L
from napari_genmed.core.sim.phantom import make_phantom
from napari_genmed.core.train.reconstruction import train_job
from napari_genmed.core.train.settings import TrainConfig

from ..tiny import TINY_DATA, TINY_MODEL

LAYERED = {k: {**v, "output_layers": 3} for k, v in TINY_MODEL.items()}


@pytest.fixture(scope="module")
def labels():
    return torch.as_tensor(make_phantom(30.0, 3, (48, 48, 48), 3.0).labels)[None]


def test_targets_of_a_phantom_combine_into_its_skull(labels):
    target, band = layer_targets(labels)
    head, cavity, bone = target[0].bool()
    skull = labels[0] == L.BONE
    assert torch.equal(head & ~cavity & bone, skull)
    assert torch.equal(band[0, 0].bool(), head & ~cavity)
    assert not (cavity & ~head).any()  # the cavity lies inside the head
    assert int((band[0, 0].bool() & ~bone).sum()) > 0  # sutures and fontanelles on the band
    # confident layer logits give the skull back exactly, in log space (no overflow)
    logits = skull_logits((target * 2 - 1) * 40.0)
    assert torch.isfinite(logits).all() and torch.equal(logits[0, 0] > 0, skull)
    # one layer wrong is enough to lose a voxel: the skull is a product
    wrong = target.clone()
    wrong[:, 1] = 1.0  # everything inside the cavity: no skull
    assert not (skull_logits((wrong * 2 - 1) * 40.0) > 0).any()


def test_layer_loss_needs_labels_and_rewards_the_truth(labels):
    target, _ = layer_targets(labels)
    batch = {"skull": (labels == L.BONE).unsqueeze(1).float(), "labels": labels}
    good, _ = skull_loss((target * 2 - 1) * 8.0, batch, 0.5)
    shifted, _ = skull_loss((torch.roll(target, 2, dims=-1) * 2 - 1) * 8.0, batch, 0.5)
    assert float(good) < 0.05 < float(shifted)
    with pytest.raises(ValueError, match="labels"):
        skull_loss(target, {"skull": batch["skull"]}, 0.5)


@pytest.mark.parametrize("kind", list(RECONSTRUCTION_KINDS))
def test_layered_models_train_save_and_load(kind, tmp_path):
    torch.manual_seed(0)
    model = build_model(kind, LAYERED[kind])
    g = torch.Generator().manual_seed(0)
    lab = torch.randint(0, 10, (2, 16, 16, 16), generator=g).to(torch.uint8)
    batch = {
        "skull": (lab == 1).unsqueeze(1).float(),
        "labels": lab,
        "views": torch.rand(2, 3, 32, 32, generator=g),
        "mask": torch.ones(2, 3),
    }
    out = model(batch, "joint" if kind == "tl-net" else None)
    assert out["logits"].shape == (2, 1, 16, 16, 16)
    out["loss"].backward()
    assert model.decoder.coarse.weight.grad.abs().sum() > 0  # the half-resolution fields learn
    model.eval()
    path = save_checkpoint(tmp_path / "m.safetensors", model)
    loaded, _ = load_checkpoint(path)
    assert loaded.config.output_layers == 3
    prob, _ = loaded.reconstruct(batch["views"], batch["mask"])
    assert prob.shape == (2, 1, 16, 16, 16) and torch.equal(
        prob, model.reconstruct(batch["views"], batch["mask"])[0]
    )


def test_init_from_a_shell_model_keeps_the_trunk(tmp_path):
    shell = build_model("rec-cvae", TINY_MODEL["rec-cvae"])
    path = save_checkpoint(tmp_path / "shell.safetensors", shell)
    cfg = TrainConfig(
        kind="rec-cvae",
        model=LAYERED["rec-cvae"],
        data=TINY_DATA,
        train_size=4,
        val_size=2,
        epochs=1,
        batch_size=2,
        lr=0.0,
        min_lr=0.0,
        init_from=str(path),
        cache_dir=str(tmp_path / "cache"),
    )
    run(train_job(cfg, tmp_path / "run", "cpu"))  # lr 0: the weights stay where init_from put them
    layered, _ = load_checkpoint(tmp_path / "run" / "last.safetensors")
    mine, theirs = layered.state_dict(), shell.state_dict()
    trunk = [k for k in theirs if not k.startswith("decoder.to_subvoxels")]
    assert trunk and all(torch.equal(mine[k], theirs[k]) for k in trunk)
    assert mine["decoder.to_subvoxels.weight"].shape[0] == 24 and "decoder.coarse.weight" in mine
    other = save_checkpoint(
        tmp_path / "other.safetensors",
        build_model("rec-cvae", {**TINY_MODEL["rec-cvae"], "latent_dim": 6}),
    )
    bad = TrainConfig(**{**cfg.__dict__, "init_from": str(other)})
    with pytest.raises(ValueError, match="does not fit"):
        run(train_job(bad, tmp_path / "bad", "cpu"))


def test_fp_weight_half_is_soft_dice_and_more_costs_false_positives():
    """The overlap term is soft Dice at fp_weight 0.5 and a Tversky index that charges
    false positives more above it: the same number of wrong voxels costs more as
    extra skull than as missing skull."""
    target = torch.zeros(1, 1, 8, 8, 8)
    target[..., 2:6, 2:6, 2:6] = 1.0
    extra, missing = target.clone(), target.clone()
    extra[..., 6, 2:6, 2:6] = 1.0  # 16 false positives
    missing[..., 5, 2:6, 2:6] = 0.0  # 16 false negatives
    logits = lambda m: (m * 2 - 1) * 12.0  # noqa: E731
    p, t = torch.sigmoid(logits(extra)).flatten(1), target.flatten(1)
    dice = (2 * (p * t).sum(1) + 1.0) / (p.sum(1) + t.sum(1) + 1.0)
    assert torch.allclose(soft_dice(logits(extra), target), dice)
    assert torch.allclose(
        soft_dice(logits(extra), target), soft_dice(logits(extra), target, fp_weight=0.5)
    )
    precise = 0.7
    assert soft_dice(logits(extra), target, fp_weight=precise) < soft_dice(
        logits(missing), target, fp_weight=precise
    )
    assert soft_dice(logits(extra), target, fp_weight=0.3) > soft_dice(
        logits(missing), target, fp_weight=0.3
    )


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5])
def test_fp_weight_outside_the_open_unit_interval_is_refused(bad):
    with pytest.raises(ValueError, match="fp_weight"):
        build_model("rec-cvae", {"fp_weight": bad})
