"""Reconstruction models: shapes, gradients, seeded sampling, checkpoints, training."""

import json

import pytest
import torch

from napari_genmed.core.io.checkpoint import load_checkpoint, read_header, save_checkpoint
from napari_genmed.core.nets.registry import RECONSTRUCTION_KINDS, build_model

from ..tiny import TINY_MODEL

KINDS = list(RECONSTRUCTION_KINDS)


def _batch(n=2, size=32, grid=16):
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 10, (n, grid, grid, grid), generator=g).to(torch.uint8)
    return {
        "skull": (labels == 1).unsqueeze(1).float(),
        "labels": labels,
        "views": torch.rand(n, 3, size, size, generator=g),
        "mask": torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]][:n]),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_gradients(kind):
    torch.manual_seed(0)
    model = build_model(kind, TINY_MODEL[kind])
    batch = _batch()
    stage = "joint" if kind == "tl-net" else None
    out = model(batch, stage)
    assert out["logits"].shape == (2, 1, 16, 16, 16) and torch.isfinite(out["loss"])
    out["loss"].backward()
    grads = [p.grad for p in model.conditioner.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)  # the views reach the loss
    prob, std = model.reconstruct(batch["views"], batch["mask"])
    assert prob.shape == (2, 1, 16, 16, 16) and std is None
    assert float(prob.min()) >= 0 and float(prob.max()) <= 1
    z = model.prior_mean(model.encode_views(batch["views"], batch["mask"]))
    assert z.shape == (2, model.latent_dim)


@pytest.mark.parametrize("kind", KINDS)
def test_every_subset_of_views_works(kind):
    model = build_model(kind, TINY_MODEL[kind]).eval()
    views = torch.rand(8, 3, 32, 32)
    masks = torch.tensor([[a, b, c] for a in (0.0, 1.0) for b in (0.0, 1.0) for c in (0.0, 1.0)])
    prob, _ = model.reconstruct(views, masks)
    assert torch.isfinite(prob).all()
    # a missing view is really ignored: changing its pixels changes nothing
    other = views.clone()
    other[:, 2] = torch.rand(8, 32, 32)
    prob2, _ = model.reconstruct(other, masks)
    no_coronal = masks[:, 2] == 0
    assert torch.equal(prob[no_coronal], prob2[no_coronal])
    assert not torch.equal(prob[~no_coronal], prob2[~no_coronal])


@pytest.mark.parametrize("kind", ["rec-cvae", "hirec-cvae"])
def test_seeded_sampling(kind):
    model = build_model(kind, TINY_MODEL[kind]).eval()
    b = _batch()

    def sample(seed):
        return model.reconstruct(
            b["views"], b["mask"], n_samples=4, generator=torch.Generator().manual_seed(seed)
        )

    (p1, s1), (p2, s2), (p3, _) = sample(5), sample(5), sample(6)
    assert torch.equal(p1, p2) and torch.equal(s1, s2)
    assert not torch.equal(p1, p3)
    assert float(s1.max()) > 0


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoint_round_trip(kind, tmp_path):
    model = build_model(kind, TINY_MODEL[kind]).eval()
    path = save_checkpoint(
        tmp_path / "m.safetensors", model, recipe={"epochs": 1}, metrics={"val_dice": 0.5}
    )
    meta, table = read_header(path)
    assert (
        meta["kind"] == kind and json.loads(meta["config"])["grid"] == 16 and meta["grid"] == "16"
    )
    assert {"recipe", "metrics", "version", "spacing_mm"} <= set(meta)
    loaded, card = load_checkpoint(path)
    assert card["metrics"]["val_dice"] == 0.5 and card["recipe"]["epochs"] == 1
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)
    b = _batch()
    assert torch.equal(
        model.reconstruct(b["views"], b["mask"])[0], loaded.reconstruct(b["views"], b["mask"])[0]
    )


def test_checkpoint_whose_config_does_not_match_its_weights(tmp_path):
    from safetensors.torch import load_file, save_file

    model = build_model("rec-cvae", TINY_MODEL["rec-cvae"])
    path = save_checkpoint(tmp_path / "m.safetensors", model)
    meta, _ = read_header(path)
    config = json.loads(meta["config"])
    config["latent_dim"] = 6  # the weights were made for 4
    bad = tmp_path / "bad.safetensors"
    save_file(load_file(str(path)), str(bad), metadata=meta | {"config": json.dumps(config)})
    with pytest.raises(ValueError, match="tensor .* is F32"):
        load_checkpoint(bad)
    weights = load_file(str(path))
    weights.pop(next(iter(weights)))
    save_file(weights, str(tmp_path / "missing.safetensors"), metadata=meta)
    with pytest.raises(ValueError, match="missing"):
        load_checkpoint(tmp_path / "missing.safetensors")
    half = {k: v.half() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    save_file(half, str(tmp_path / "half.safetensors"), metadata=meta)  # right shapes, wrong dtype
    with pytest.raises(ValueError, match=r"is F16 .* needs torch.float32"):
        load_checkpoint(tmp_path / "half.safetensors")
    for not_an_object in ("5", "null", "[1, 2]"):
        save_file(
            load_file(str(path)),
            str(tmp_path / "odd.safetensors"),
            metadata=meta | {"config": not_an_object},
        )
        with pytest.raises(ValueError, match="config must be a JSON object"):
            load_checkpoint(tmp_path / "odd.safetensors")


@pytest.mark.parametrize("name", ["weights.pt", "weights.pth", "weights.ckpt"])
def test_pickle_checkpoints_are_refused(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ValueError, match="genmed convert"):
        load_checkpoint(path)


def test_corrupt_and_truncated_safetensors(tmp_path):
    model = build_model("tl-net", TINY_MODEL["tl-net"])
    path = save_checkpoint(tmp_path / "m.safetensors", model)
    data = path.read_bytes()
    (tmp_path / "short.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError):
        load_checkpoint(tmp_path / "short.safetensors")
    (tmp_path / "huge.safetensors").write_bytes((2**40).to_bytes(8, "little") + data[8:])
    with pytest.raises(ValueError, match="implausible"):
        load_checkpoint(tmp_path / "huge.safetensors")


def test_convert_command_uses_weights_only(tmp_path):
    from napari_genmed.cli import main

    model = build_model("tl-net", TINY_MODEL["tl-net"])
    torch.save(model.state_dict(), tmp_path / "w.pt")
    (tmp_path / "cfg.json").write_text(json.dumps(TINY_MODEL["tl-net"]))
    assert (
        main(
            [
                "convert",
                str(tmp_path / "w.pt"),
                str(tmp_path / "w.safetensors"),
                "--kind",
                "tl-net",
                "--config",
                str(tmp_path / "cfg.json"),
            ]
        )
        == 0
    )
    loaded, _ = load_checkpoint(tmp_path / "w.safetensors")
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values())
    )


def test_fast_cpu_conv3d_matches_torch_and_trains():
    import torch

    from napari_genmed.core.nets.blocks import Conv3d

    torch.manual_seed(0)
    for stride, k, pad in [(1, 3, 1), (2, 4, 1)]:
        conv = Conv3d(3, 5, k, stride=stride, padding=pad)
        x = torch.randn(2, 3, 12, 12, 12, requires_grad=True)
        ours = conv(x)
        ref = torch.nn.functional.conv3d(x, conv.weight, conv.bias, stride=stride, padding=pad)
        assert torch.allclose(ours, ref, atol=1e-5)
        g_ours = torch.autograd.grad(ours.square().sum(), [x, conv.weight])
        g_ref = torch.autograd.grad(ref.square().sum(), [x, conv.weight])
        assert all(torch.allclose(a, b, atol=1e-3, rtol=1e-4) for a, b in zip(g_ours, g_ref))
