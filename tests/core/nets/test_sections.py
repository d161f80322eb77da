"""The section-reading architecture: the true sections a view shows, the models that
learn them (shapes, gradients, sampling, checkpoints), and training on them."""

import copy

import numpy as np
import pytest
import torch

from napari_genmed.core.data.dataset import PhantomDataset
from napari_genmed.core.io.checkpoint import load_checkpoint, save_checkpoint
from napari_genmed.core.nets.registry import build_model
from napari_genmed.core.nets.sections import true_sections
from napari_genmed.core.progress import run
from napari_genmed.core.sim.geometry import Pose, sample_plane
from napari_genmed.core.sim.labels import BONE
from napari_genmed.core.train.reconstruction import train_job
from napari_genmed.core.train.settings import TrainConfig

from ..tiny import TINY_DATA, TINY_MODEL, assert_seeded_sampling_and_round_trip

SECTIONS = {
    k: dict(
        TINY_MODEL[k],
        lifted=True,
        read_sections=True,
        section_reader=(4, 4, 8, 8),
        section_trunk=(4, 4, 8, 8),
        dec_channels=(8, 8, 4, 4),
    )
    for k in ("rec-cvae", "hirec-cvae")
}


def test_true_sections_are_the_label_volume_on_the_view_plane():
    """On a real phantom at its jittered poses: the bone section equals scipy's
    trilinear sample of the bone mask on the same plane at half the view's resolution,
    and a jittered plane's section differs from the standard plane's."""
    item = PhantomDataset("test", 1).arrays(0)
    labels = torch.as_tensor(item["labels"][None]).long()
    poses = torch.as_tensor(item["poses"][None])
    got = true_sections(labels, poses, 128, 64, 2.0)[0]
    assert got.shape == (3, 2, 64, 64)
    for k in range(3):
        p = item["poses"][k]
        pose = Pose(tuple(p[0:3]), tuple(p[3:6]), tuple(p[6:9]), 2.0, (64, 64))
        want = sample_plane((item["labels"] == BONE).astype(np.float32), 2.0, pose)
        assert np.abs(got[k, 0].numpy() - want).max() < 1e-4
        assert want.sum() > 20  # the plane cuts the skull: a ring of bone
        assert got[k, 1].sum() > got[k, 0].sum()  # the cavity inside the ring is larger
    moved = poses.clone()
    moved[0, :, 0] += 6.0  # 6 mm along z
    assert not torch.allclose(true_sections(labels, moved, 128, 64, 2.0), got[None])


@pytest.mark.parametrize("kind", ["rec-cvae", "hirec-cvae"])
def test_section_models_shapes_gradients_sampling_and_checkpoints(kind, tmp_path):
    torch.manual_seed(0)
    model = build_model(kind, SECTIONS[kind])
    views, mask = torch.rand(2, 3, 32, 32), torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    condition = model.encode_views(views, mask)
    assert condition["sections"].shape == (2, 3, 2, 16, 16)
    assert [tuple(g.shape[2:]) for g in condition["grids"]] == [(2, 2, 2), (4, 4, 4), (8, 8, 8)]
    labels = torch.randint(0, 8, (2, 16, 16, 16))
    poses = torch.tensor([[64.0, 64, 64, 0, 0, -1, 0, 1, 0, 4.0]] * 3).expand(2, 3, 10)
    batch = {
        "skull": (labels == BONE).float()[:, None],
        "labels": labels,
        "poses": poses,
        "views": views,
        "mask": mask,
    }
    out = model.training_loss(batch)
    assert float(out["reading"]) > 0  # the sections' BCE is part of the loss
    out["loss"].backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None for n, g in grads.items() if "to_sections" in n)
    assert float(model.conditioner.readers[0].to_sections.weight.grad.abs().sum()) > 0
    assert any(float(g.abs().sum()) > 0 for n, g in grads.items() if "decoder.mixes" in n)
    with pytest.raises(ValueError, match="poses"):
        model.training_loss({k: v for k, v in batch.items() if k != "poses"})
    assert_seeded_sampling_and_round_trip(
        model, views, mask, tmp_path / "sections.safetensors", "read_sections"
    )


def test_a_missing_view_leaves_no_trace_in_the_sections_grids():
    torch.manual_seed(0)
    model = build_model("rec-cvae", SECTIONS["rec-cvae"]).eval()
    views = torch.rand(2, 3, 32, 32)  # two: the tiny grid's bottleneck is one voxel
    other = views.clone()
    other[:, 1] = torch.rand(2, 32, 32)  # another sagittal image, but the view is missing
    mask = torch.tensor([[1.0, 0.0, 1.0]] * 2)
    with torch.no_grad():
        a, b = model.encode_views(views, mask), model.encode_views(other, mask)
    assert all(torch.equal(x, y) for x, y in zip(a["grids"], b["grids"]))
    assert torch.equal(a["pooled"], b["pooled"])


def test_a_section_model_trains_from_the_cached_labels_and_poses(tmp_path):
    cfg = TrainConfig(
        kind="rec-cvae",
        model=SECTIONS["rec-cvae"],
        data=TINY_DATA,
        train_size=8,
        val_size=2,
        epochs=1,
        batch_size=4,
        cache_dir=str(tmp_path / "cache"),
    )
    result = run(train_job(cfg, tmp_path / "run", "cpu"))
    assert result["steps"] == 2
    model, card = load_checkpoint(tmp_path / "run" / "model.safetensors")
    assert model.config.read_sections and 0.0 <= card["metrics"]["val_dice"] <= 1.0


@pytest.mark.parametrize("kind", ["rec-cvae", "hirec-cvae"])
def test_a_pooled_model_with_section_branches_starts_as_the_pooled_model(kind, tmp_path):
    """The adapter (nets/adapter.py): initialised from a pooled model it reconstructs
    exactly as that model; one training step with the pooled path frozen moves only
    the section reader and the branches, and the output with them."""
    torch.manual_seed(0)
    pooled = build_model(kind, TINY_MODEL[kind])
    path = save_checkpoint(tmp_path / "pooled.safetensors", pooled)
    adapted = dict(TINY_MODEL[kind], read_sections=True, section_reader=(4, 4, 8, 8))
    adapted["section_trunk"] = (4, 8, 8)  # the tiny decoder's one upsampling meets the first
    freeze = ["conditioner.", "decoder.seed", "decoder.ups", "decoder.to_subvoxels"]
    cfg = TrainConfig(
        kind=kind,
        model=adapted,
        data=TINY_DATA,
        train_size=8,  # two steps: the first moves only the zero convolutions
        val_size=2,
        epochs=1,
        batch_size=4,
        lr=1e-2,
        cache_dir=str(tmp_path / "cache"),
        init_from=str(path),
        freeze=tuple(freeze),
    )
    from napari_genmed.core.train.batches import init_weights

    model = build_model(kind, adapted)
    init_weights(model, cfg)
    views, mask = torch.rand(2, 3, 32, 32), torch.ones(2, 3)
    pooled.eval(), model.eval()
    assert torch.equal(pooled.reconstruct(views, mask)[0], model.reconstruct(views, mask)[0])
    run(train_job(cfg, tmp_path / "run", "cpu"))
    trained, _ = load_checkpoint(tmp_path / "run" / "last.safetensors")
    before, after = model.state_dict(), trained.state_dict()
    for name in before:
        same = torch.equal(before[name], after[name])
        assert same == name.startswith(tuple(freeze)), name
    assert not torch.equal(model.reconstruct(views, mask)[0], trained.reconstruct(views, mask)[0])
    resting = copy.deepcopy(trained)  # the trained model with its branches zeroed again
    for adapter in resting.decoder.adapters:
        torch.nn.init.zeros_(adapter[-1].weight), torch.nn.init.zeros_(adapter[-1].bias)
    one = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # one view: the branches rest
    assert torch.equal(resting.reconstruct(views, one)[0], trained.reconstruct(views, one)[0])
    mixed = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])  # per sample: rests, then acts
    a, b = resting.reconstruct(views, mixed)[0], trained.reconstruct(views, mixed)[0]
    assert torch.equal(a[0], b[0]) and not torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match="freeze names no parameter"):
        run(train_job(TrainConfig(**{**cfg.__dict__, "freeze": ("nothing.",)}), tmp_path / "x"))


@pytest.mark.parametrize("features", [0, 6])
def test_the_readers_side_by_side_are_the_readers_in_turn(features):
    """At inference the three section readers run as one grouped U-Net: the same
    sections and feature vectors as each reader in turn (float32 rounding), and the
    copy follows a change of the readers' weights."""
    from napari_genmed.core.nets.sections import SectionViews

    torch.manual_seed(0)
    out = 16 if features else None
    trunk = (4, 4, 8, 8) if features else (4, 8, 8)
    reader = SectionViews(64, (4, 8, 8, 16), trunk, features, out=out).eval()
    views = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        grouped = reader.read(views)
    turn = reader.read(views)  # with gradients: reader by reader
    assert len(grouped) == len(turn) == 3
    for (g_logits, g_vec), (t_logits, t_vec) in zip(grouped, turn):
        assert g_logits.shape == t_logits.shape == (2, 2, 32, 32)
        assert torch.allclose(g_logits, t_logits.detach(), atol=1e-5)
        assert (g_vec is None) == (t_vec is None) == (features == 0)
        if features:
            assert torch.allclose(g_vec, t_vec.detach(), atol=1e-5)
    with torch.no_grad():
        reader.readers[1].to_sections.bias += 1.0  # a sagittal change, in place
        again = reader.read(views)
    assert torch.allclose(again[1][0], grouped[1][0] + 1.0, atol=1e-5)
    assert torch.equal(again[0][0], grouped[0][0])
