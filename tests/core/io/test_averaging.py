"""Averaging a fine-tune with its start (``genmed average-weights``), on tiny models."""

import pytest
import torch

from napari_genmed.cli import main
from napari_genmed.core.io.averaging import average_checkpoints
from napari_genmed.core.io.checkpoint import load_model, save_checkpoint
from napari_genmed.core.nets.registry import build_model

from ..tiny import TINY_MAP, TINY_MODEL


def _saved(path, seed, config=TINY_MODEL["rec-cvae"]):
    torch.manual_seed(seed)
    return save_checkpoint(path, build_model("rec-cvae", config), recipe={"seed": seed})


def test_the_average_lies_on_the_line_between_start_and_fine_tune(tmp_path):
    start, tuned = _saved(tmp_path / "a.safetensors", 0), _saved(tmp_path / "b.safetensors", 1)
    out = average_checkpoints(start, tuned, 0.25, tmp_path / "avg.safetensors")
    a, b, avg = (load_model(str(p), "cpu") for p in (start, tuned, out))
    sa, sb = a.state_dict(), b.state_dict()
    moved = 0
    for name, value in avg.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, 0.75 * sa[name] + 0.25 * sb[name], atol=1e-6)
            moved += not torch.equal(sa[name], sb[name])
    assert moved > 0  # the two models differ, so the check above could fail
    assert avg.card["recipe"]["seed"] == 1  # the fine-tune's recipe, with the average
    assert avg.card["recipe"]["average"]["share_tuned"] == 0.25


def test_only_one_architecture_and_a_share_within_0_1(tmp_path, capsys):
    start = _saved(tmp_path / "a.safetensors", 0)
    other = _saved(tmp_path / "c.safetensors", 0, dict(TINY_MODEL["rec-cvae"], latent_dim=6))
    with pytest.raises(ValueError, match="not one architecture"):
        average_checkpoints(start, other, 0.5, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="share must lie within 0..1"):
        average_checkpoints(start, start, 1.5, tmp_path / "x.safetensors")
    out = tmp_path / "cli.safetensors"
    assert main(["average-weights", str(start), str(start), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out and out.exists()


def test_a_gan_averages_with_the_plain_map_it_was_trained_from(tmp_path):
    """The view GAN is the mental map's network under another loss: its kind and loss
    weights differ, its tensors do not, so the two average; another width does not."""
    torch.manual_seed(0)
    plain = save_checkpoint(tmp_path / "m.safetensors", build_model("mental-map", TINY_MAP), {})
    torch.manual_seed(1)
    gan_config = dict(TINY_MAP, adv_weight=0.1, ssim_weight=0.3)
    gan = save_checkpoint(
        tmp_path / "g.safetensors", build_model("mental-map-gan", gan_config), {"seed": 1}
    )
    out = load_model(str(average_checkpoints(plain, gan, 0.8, tmp_path / "avg.safetensors")), "cpu")
    assert out.kind == "mental-map-gan" and out.config.adv_weight == 0.1
    a, b = load_model(str(plain), "cpu").state_dict(), load_model(str(gan), "cpu").state_dict()
    name = next(k for k, v in a.items() if v.is_floating_point() and not torch.equal(v, b[k]))
    assert torch.allclose(out.state_dict()[name], 0.2 * a[name] + 0.8 * b[name], atol=1e-6)
    wider = dict(gan_config, rep_dim=48)
    other = save_checkpoint(tmp_path / "w.safetensors", build_model("mental-map-gan", wider), {})
    with pytest.raises(ValueError, match="not one architecture"):
        average_checkpoints(plain, other, 0.5, tmp_path / "x.safetensors")
