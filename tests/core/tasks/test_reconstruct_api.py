"""api.load_model / api.reconstruct with a tiny checkpoint, and bad input."""

import numpy as np
import pytest

from napari_genmed import api
from napari_genmed.core.io.checkpoint import save_checkpoint
from napari_genmed.core.nets.registry import build_model

from ..tiny import TINY_MODEL


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = save_checkpoint(
        tmp_path_factory.mktemp("w") / "tiny.safetensors",
        build_model("hirec-cvae", TINY_MODEL["hirec-cvae"]),
    )
    return api.load_model(str(path), device="cpu")


@pytest.fixture(scope="module")
def views():
    head = api.make_phantom(28.0, 1)
    return api.simulate_views(head.labels, seed=1)


def test_reconstruct_from_any_subset(model, views):
    full = api.reconstruct(model, views)
    assert (
        full.probability.shape == (16, 16, 16)
        and full.uncertainty is None
        and full.spread_mm is None
        and full.spacing_mm == 8.0
    )
    assert full.views_used == ("axial", "sagittal", "coronal")
    axial = api.reconstruct(model, {"axial": views["axial"]})
    assert axial.views_used == ("axial",)
    assert not np.array_equal(full.probability, axial.probability)


def test_samples_give_uncertainty_and_are_seeded(model, views):
    a = api.reconstruct(model, views, n_samples=4, seed=3)
    b = api.reconstruct(model, views, n_samples=4, seed=3)
    c = api.reconstruct(model, views, n_samples=4, seed=4)
    assert np.array_equal(a.probability, b.probability) and np.array_equal(
        a.uncertainty, b.uncertainty
    )
    assert not np.array_equal(a.probability, c.probability)
    assert a.uncertainty.shape == a.probability.shape and a.uncertainty.max() > 0
    assert a.spread_mm.shape == a.probability.shape and np.all(a.spread_mm >= 0)  # mm, not std


def test_views_of_any_size_and_form(views):
    from napari_genmed.core.tasks.viewprep import prepare_view

    img = views["axial"].image
    ref = prepare_view("axial", img, 128)
    assert np.array_equal(ref, img)  # already at the model's pixel size and size
    big = np.kron(img, np.ones((2, 2), np.float32))  # 256 x 256 at 0.5 mm
    assert np.abs(prepare_view("axial", (big, 0.5), 128) - img)[8:-8, 8:-8].mean() < 0.03
    assert (
        np.abs(
            prepare_view(
                "axial", {"image": np.round(img * 255).astype(np.uint8), "spacing_mm": 1.0}, 128
            )
            - img
        ).max()
        <= 0.5 / 255 + 1e-6
    )
    assert (
        np.abs(prepare_view("axial", np.repeat(img[..., None], 3, axis=2), 128) - img).max() < 1e-5
    )  # RGB screenshot
    small = prepare_view(
        "axial", img, 32, pixel_mm=4.0
    )  # a coarse model sees the whole field of view
    assert small.shape == (32, 32) and abs(small.mean() - img.mean()) < 0.02
    padded = prepare_view("axial", img[:100, :90], 128)  # smaller images are centred
    assert (
        padded.shape == (128, 128)
        and padded[:14].max() == 0
        and np.array_equal(padded[14:114, 19:109], img[:100, :90])
    )
    # a huge fine image is cropped before resampling, never blown up
    assert prepare_view(
        "axial", (np.random.rand(8000, 8000).astype(np.float32), 20.0), 128
    ).shape == (128, 128)


def test_integer_and_colour_views_scale_by_their_content(views):
    """8-bit values scale by 255 in any integer type and in colour; wider or signed
    data are stretched to their own range, never dimmed or clipped."""
    from napari_genmed.core.tasks.viewprep import prepare_view

    img = views["axial"].image
    u8 = np.round(img * 255).astype(np.uint8)
    ref = prepare_view("axial", u8, 128)
    assert np.array_equal(
        prepare_view("axial", u8.astype(np.int64), 128), ref
    )  # np.array's default int
    assert (
        np.abs(prepare_view("axial", np.dstack([u8] * 3), 128) - ref).max() < 1e-5
    )  # a screenshot of it
    stretched = (img - img.min()) / (img.max() - img.min())
    for wide in (
        np.round(img * 4095).astype(np.uint16),
        np.round(img * 2000 - 1000).astype(np.int16),
    ):
        assert np.abs(prepare_view("axial", wide, 128) - stretched).max() < 2e-3
    # a very fine image is block-averaged before blurring: quick, and the same picture
    fine = np.kron(img, np.ones((8, 8), np.float32))  # 1024 x 1024 at 0.125 mm
    assert np.abs(prepare_view("axial", (fine, 0.125), 128) - img)[8:-8, 8:-8].mean() < 0.03


def test_reconstruct_accepts_every_form(model, views):
    img = views["axial"].image
    r1 = api.reconstruct(model, {"axial": img})
    r2 = api.reconstruct(model, {"axial": (img, 1.0)})
    assert np.array_equal(r1.probability, r2.probability)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"axial": np.zeros((4, 4, 4, 4))}, "2D"),
        ({"axial": np.full((64, 64), np.nan)}, "NaN"),
        ({"axial": np.zeros((64, 64))}, "constant"),
        ({"axial": np.zeros((0, 64))}, "empty"),
        ({"transverse": np.random.rand(64, 64)}, "unknown view"),
        ({"axial": (np.random.rand(64, 64), -1.0)}, "spacing"),
        ({"axial": (np.random.rand(64, 64), 1e7)}, "implausible"),  # would need petabytes
        ({"axial": (np.random.rand(64, 64), 1e-9)}, "implausible"),
        ({"axial": (np.random.rand(64, 64), "1.0")}, "spacing"),
        ({"axial": np.float32(3.0)}, "2D"),
        ({"axial": [[1.0, 2.0], [3.0]]}, "not an image"),
        ({}, "no views"),
        ({"axial": None, "coronal": None}, "no views"),
        ([np.random.rand(64, 64)], "dict"),
    ],
)
def test_bad_views(model, bad, message):
    with pytest.raises(ValueError, match=message):
        api.reconstruct(model, bad)


def test_load_model_errors(tmp_path):
    with pytest.raises(ValueError, match="no model named"):
        api.load_model(str(tmp_path / "nothing.safetensors"))
    (tmp_path / "x.pt").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ValueError, match="pickle"):
        api.load_model(str(tmp_path / "x.pt"), device="cpu")
    with pytest.raises(ValueError, match="not present"):
        api.load_model("rec-cvae", device="cuda:7")
    with pytest.raises(ValueError, match="name or a checkpoint path"):
        api.load_model(5)
