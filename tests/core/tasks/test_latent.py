"""Latent space: ranking, decoding, the explorer's state, the latest-wins mailbox."""

import json
import threading
import time

import numpy as np
import pytest

from napari_genmed import api
from napari_genmed._qt.mailbox import LatestOnly
from napari_genmed.core.nets.registry import build_model
from napari_genmed.core.tasks.latent_ranking import latent_directions
from napari_genmed.core.tasks.latentstate import LatentState

from ..tiny import TINY_MODEL


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_GENMED_CACHE", str(tmp_path / "cache"))


def tiny(kind, seed=0):
    import torch

    torch.manual_seed(seed)
    return build_model(kind, TINY_MODEL[kind]).eval()


@pytest.fixture(scope="module")
def views():
    ph = api.make_phantom(27.0, 3, shape=(16, 16, 16), spacing_mm=8.0)
    return {
        k: (v.image, v.pose.spacing_mm)
        for k, v in api.simulate_views(ph.labels, 8.0, seed=3).items()
    }


@pytest.mark.parametrize("kind", ["rec-cvae", "hirec-cvae", "tl-net"])
def test_directions_rank_every_dimension_and_are_cached(kind, tmp_path):
    model = tiny(kind)
    d = latent_directions(model)
    assert sorted(d.order) == list(range(model.latent_dim))
    assert all(e >= 0 for e in d.effect)
    assert [d.effect[k] for k in d.order] == sorted(d.effect, reverse=True)
    assert sorted(k for _, dims in d.groups for k in dims) == list(range(model.latent_dim))
    if kind == "hirec-cvae":
        assert [name for name, _ in d.groups] == [
            "level 1 (axial)",
            "level 2 (sagittal)",
            "level 3 (coronal)",
        ]
    assert (d.code_sigma is not None) == (kind == "tl-net")
    # the parts of the ranking the explorer reads out: with views vs prior, the top
    # dimensions with the axial view alone, and the biometry each dimension moves
    dims = model.latent_dim
    assert len(d.effect_views) == len(d.effect_prior) == len(d.biometry) == dims
    assert np.allclose(d.effect, 0.5 * np.array(d.effect_views) + 0.5 * np.array(d.effect_prior))
    assert [k for k, _ in d.effect_axial] == list(d.order[:3])
    assert all(np.isnan(row).all() or np.nanmin(row) >= 0 for row in d.biometry)
    files = list((tmp_path / "cache" / "latent").glob("*.json"))
    assert len(files) == 1
    again = latent_directions(model)
    assert again == d
    files[0].write_text("{ damaged")
    assert latent_directions(model) == d  # a damaged cache entry is recomputed
    other = tiny(kind, seed=1)
    assert latent_directions(other).fingerprint != d.fingerprint


def test_a_dimension_the_decoder_ignores_ranks_last():
    import torch

    model = tiny("rec-cvae")
    with torch.no_grad():
        model.decoder.seed.weight[:, 2] = 0.0  # z2 no longer reaches the decoder
    d = latent_directions(model, use_cache=False)
    assert d.effect[2] == 0.0 and d.order[-1] == 2
    assert min(d.effect[k] for k in range(model.latent_dim) if k != 2) > 0


@pytest.mark.parametrize("kind", ["rec-cvae", "hirec-cvae", "tl-net"])
def test_decode_reference_is_the_point_estimate(kind, views):
    model = tiny(kind)
    state = LatentState(model, latent_directions(model), views)
    rec = api.reconstruct(model, views)
    assert np.array_equal(api.decode(model, state.z, views), rec.probability)
    assert np.array_equal(
        api.decode(model, state.z, views), api.decode(model, state.z, views)
    )  # bit-identical
    batch = api.decode(model, np.stack([state.z, state.z]), views)
    assert batch.shape == (2, 16, 16, 16)
    prior_state = LatentState(
        model, state.directions, None
    )  # no views: the unconditional prior's mean
    unconditional = api.decode(model, prior_state.z)
    assert unconditional.shape == (16, 16, 16) and not np.array_equal(
        unconditional, rec.probability
    )


def test_decode_rejects_bad_latents(views):
    model = tiny("rec-cvae")
    for bad, words in [
        (np.zeros(3), "4 numbers"),
        (np.zeros((2, 5)), "4 numbers"),
        (np.full(4, np.nan), "NaN"),
        (np.array(["a"] * 4), "numbers"),
        (np.zeros((300, 4)), "1..256"),
        (np.zeros((2, 2, 4)), "4 numbers"),
    ]:
        with pytest.raises(ValueError, match=words):
            api.decode(model, bad, views)
    with pytest.raises(ValueError, match="loaded reconstruction model"):
        api.decode("rec-cvae", np.zeros(4))
    with pytest.raises(ValueError, match="n_reference"):
        api.latent_directions(model, n_reference=0)


@pytest.mark.parametrize("kind", ["rec-cvae", "hirec-cvae", "tl-net"])
def test_state_moves_samples_interpolates_and_round_trips(kind, views, tmp_path):
    model = tiny(kind)
    state = LatentState(model, latent_directions(model), views)
    base = state.decode()
    top = state.directions.order[0]
    state.set_value(top, 3.0)
    assert state.values()[top] == pytest.approx(3.0, abs=1e-5)
    assert not np.array_equal(state.decode(), base)
    state.reset()
    assert np.array_equal(state.decode(), base) and np.all(state.values() == 0)
    state.sample(7)
    a = state.z.copy()
    state.sample(7)
    assert np.array_equal(state.z, a) and state.seed == 7
    state.sample(8)
    assert not np.array_equal(state.z, a)
    state.capture("b")
    state.z = a
    state.capture("a")
    state.interpolate(0.0)
    assert np.array_equal(state.z, state.a)
    state.interpolate(1.0)
    assert np.allclose(state.z, state.b)
    state.interpolate(0.5)
    assert np.allclose(state.z, (state.a + state.b) / 2, atol=1e-6)
    path = state.save(tmp_path / "z.json")
    saved, volume = state.z.copy(), state.decode()
    state.reset()
    state.load(path)
    assert np.array_equal(state.z, saved) and np.array_equal(state.decode(), volume)
    # conditioning off keeps the slider positions, changes the reference
    u = state.values()
    state.set_condition_on_views(False)
    assert np.allclose(state.values(), u, atol=1e-4) and not state.condition_on_views


def test_state_refuses_bad_files_and_values(views, tmp_path):
    model = tiny("hirec-cvae")
    state = LatentState(model, latent_directions(model), views)
    before = state.z.copy()
    bad = {
        "garbage.json": b"\x00\xffnot json",
        "list.json": b"[1, 2, 3]",
        "short.json": json.dumps({"format": "napari-genmed latent", "z": [0.0, 1.0]}).encode(),
        "nan.json": json.dumps(
            {"format": "napari-genmed latent", "z": [float("nan")] * 6}
        ).encode(),
        "text.json": json.dumps({"format": "napari-genmed latent", "z": ["x"] * 6}).encode(),
    }
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError):
            state.load(tmp_path / name)
        assert np.array_equal(state.z, before)
    with pytest.raises(ValueError):
        state.load(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="outside"):
        state.set_value(99, 1.0)
    with pytest.raises(ValueError, match="finite"):
        state.set_value(0, float("inf"))
    with pytest.raises(ValueError, match="capture A and B"):
        state.interpolate(0.5)
    prior_only = LatentState(model, state.directions, None)
    with pytest.raises(ValueError, match="no views"):
        prior_only.set_condition_on_views(True)


def test_mailbox_serves_the_latest_request():
    box = LatestOnly()
    served = []

    def consumer():
        while True:
            item = box.take(0.5)
            if item is None or item == "stop":
                return
            time.sleep(0.01)  # a slow decode
            served.append(item)

    t = threading.Thread(target=consumer)
    t.start()
    for k in range(200):
        box.put(k)
    time.sleep(0.2)
    box.put("stop")
    t.join(5)
    assert served[-1] == 199 and served == sorted(served) and len(served) < 200
    assert box.take(0.01) is None and box.put_count == 201


@pytest.mark.parametrize("kind", ["rec-cvae", "hirec-cvae", "tl-net"])
def test_every_bundled_model_can_be_explored(kind):
    """Bundled weights: the top-ranked direction visibly changes the skull, the
    reference is the point estimate, and a random sample is reproducible."""
    from napari_genmed.core.data.sample import sample_scan

    model = api.load_model(kind, device="cpu")
    scan = sample_scan()
    views = scan.views
    d = latent_directions(model)
    assert d.effect[d.order[0]] > d.effect[d.order[-1]] >= 0
    state = LatentState(model, d, views)
    point = state.decode()
    assert np.array_equal(point, api.reconstruct(model, views).probability)
    state.set_value(d.order[0], 3.0)
    assert (
        np.sum((state.decode() > 0.5) != (point > 0.5)) > 0
    )  # the views pin most of the skull down
    state.set_condition_on_views(False)  # the unconditional prior: the latent holds the whole shape
    state.reset()
    prior_mean = state.decode()
    state.set_value(d.order[0], 3.0)
    assert (
        np.sum((state.decode() > 0.5) != (prior_mean > 0.5)) > 500
    )  # voxels of skull gained or lost
    state.sample(5)
    z = state.z.copy()
    state.sample(5)
    assert np.array_equal(state.z, z)
