"""A CVAE warm-started from TL-net: TL-net's reconstruction to start with, and
the ELBO trains it from there; a HiREC-CVAE warm-started from a REC-CVAE."""

import pytest
import torch

from napari_genmed.core.io.checkpoint import load_checkpoint, save_checkpoint
from napari_genmed.core.nets.registry import build_model
from napari_genmed.core.nets.warmstart import warm_start_from_rec, warm_start_from_tlnet
from napari_genmed.core.progress import run
from napari_genmed.core.train.reconstruction import train_job
from napari_genmed.core.train.settings import TrainConfig

from ..tiny import TINY_DATA, TINY_MODEL

CODE = TINY_MODEL["tl-net"]["code_dim"]


def _coded(kind: str) -> dict:
    return {**TINY_MODEL[kind], "code_dim": CODE}


def _views(n=3):
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 3, 32, 32, generator=g), torch.tensor([[1.0, 1, 1], [1, 0, 0], [1, 1, 0]])[
        :n
    ]


@pytest.fixture(scope="module")
def tlnet():
    torch.manual_seed(3)
    return build_model("tl-net", TINY_MODEL["tl-net"]).eval()


@pytest.mark.parametrize("kind", ["rec-cvae", "hirec-cvae"])
def test_warm_started_cvae_reconstructs_as_tlnet(kind, tlnet):
    torch.manual_seed(0)
    model = build_model(kind, _coded(kind)).eval()
    views, mask = _views()
    before = model.reconstruct(views, mask)[0]
    copied = warm_start_from_tlnet(model, tlnet)
    assert "decoder.seed.weight" in copied and any(k.startswith("regressor.") for k in copied)
    assert not any(
        k.startswith("skull_encoder.") for k in copied
    )  # TL-net's 3D encoder codes another space
    want = tlnet.reconstruct(views, mask)[0]
    assert not torch.allclose(before, want, atol=1e-3)
    assert torch.allclose(model.reconstruct(views, mask)[0], want, atol=1e-6)
    # z's seed columns start at zero: prior samples decode to the same volume
    sampled, spread = model.reconstruct(
        views, mask, n_samples=3, generator=torch.Generator().manual_seed(2)
    )
    assert torch.allclose(sampled, want, atol=1e-6) and float(spread.max()) < 1e-5


def test_warm_start_refuses_what_does_not_fit(tlnet):
    plain = build_model(
        "rec-cvae", TINY_MODEL["rec-cvae"]
    )  # no code: the decoder reads the pooled views
    with pytest.raises(ValueError, match="code_dim"):
        warm_start_from_tlnet(plain, tlnet)
    wider = build_model("hirec-cvae", {**_coded("hirec-cvae"), "dec_channels": (8, 8)})
    with pytest.raises(ValueError, match="dec_channels"):
        warm_start_from_tlnet(wider, tlnet)
    with pytest.raises(ValueError, match="from tl-net to a CVAE"):
        warm_start_from_tlnet(tlnet, build_model("rec-cvae", _coded("rec-cvae")))


def test_training_from_a_tlnet_checkpoint_starts_as_tlnet_and_learns_the_latent(tlnet, tmp_path):
    path = save_checkpoint(tmp_path / "tl.safetensors", tlnet)
    cfg = TrainConfig(
        kind="rec-cvae",
        model=_coded("rec-cvae"),
        data=TINY_DATA,
        train_size=4,
        val_size=2,
        epochs=1,
        batch_size=2,
        lr=0.0,
        min_lr=0.0,
        init_from=str(path),
        cache_dir=str(tmp_path / "cache"),
        seed=1,
    )
    run(train_job(cfg, tmp_path / "still", "cpu"))  # lr 0: where init_from put the weights
    still, card = load_checkpoint(tmp_path / "still" / "last.safetensors")
    views, mask = _views()
    assert card["config"]["code_dim"] == CODE and card["recipe"]["init_from"] == str(path)
    assert torch.allclose(
        still.reconstruct(views, mask)[0], tlnet.reconstruct(views, mask)[0], atol=1e-6
    )
    run(
        train_job(
            TrainConfig(**{**cfg.__dict__, "lr": 1e-3, "min_lr": 1e-3}), tmp_path / "run", "cpu"
        )
    )
    trained, _ = load_checkpoint(tmp_path / "run" / "last.safetensors")
    seed = trained.state_dict()["decoder.seed.weight"]
    assert float(seed[:, : trained.latent_dim].abs().sum()) > 0  # z is read now
    assert not torch.equal(
        seed[:, trained.latent_dim :], tlnet.state_dict()["decoder.seed.weight"]
    )  # fine-tuned


def test_hirec_starts_from_a_lifted_rec_with_its_view_path_and_decoder(tmp_path):
    from .test_lifting import LIFTED

    torch.manual_seed(5)
    rec = build_model("rec-cvae", {**LIFTED["rec-cvae"], "latent_dim": 6}).eval()
    hirec = build_model("hirec-cvae", LIFTED["hirec-cvae"]).eval()  # levels 2 + 2 + 2
    views, mask = _views()
    condition = rec.encode_views(views, mask)
    z = torch.randn(3, 6, generator=torch.Generator().manual_seed(4))
    before = hirec.decode_raw(z, hirec.encode_views(views, mask))
    priors = {k: v.clone() for k, v in hirec.state_dict().items() if k.startswith("priors.")}
    copied = warm_start_from_rec(hirec, rec)
    assert any(k.startswith("skull_encoder.") for k in copied)
    assert not any(k.startswith(("priors.", "posteriors.")) for k in copied)
    assert all(torch.equal(hirec.state_dict()[k], v) for k, v in priors.items())
    after = hirec.decode_raw(z, hirec.encode_views(views, mask))
    want = rec.decode_raw(z, condition)
    assert not torch.allclose(before, want, atol=1e-3)
    assert torch.allclose(after, want, atol=1e-5)  # the same decoder of the same views and z
    with pytest.raises(ValueError, match="latent 6 against 4"):
        warm_start_from_rec(hirec, build_model("rec-cvae", {**LIFTED["rec-cvae"], "latent_dim": 4}))
    with pytest.raises(ValueError, match="rec-cvae to hirec-cvae"):
        warm_start_from_rec(rec, hirec)
