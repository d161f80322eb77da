"""Reliability: fuzzed checkpoints and API inputs, out-of-memory advice,
determinism, and a soak test of reconstructions and latent moves."""

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_genmed import api
from napari_genmed.core.io.checkpoint import load_checkpoint, save_checkpoint
from napari_genmed.core.nets.registry import build_model

from .tiny import TINY_MODEL

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)  # the same cases every run (CI stays reproducible)


@pytest.fixture(scope="module")
def tiny():
    import torch

    torch.manual_seed(0)
    return build_model("rec-cvae", TINY_MODEL["rec-cvae"]).eval()


def test_damaged_safetensors_only_value_error(tmp_path_factory, tiny):
    folder = tmp_path_factory.mktemp("st")
    valid = save_checkpoint(folder / "valid.safetensors", tiny).read_bytes()
    outcomes = {"loaded": 0, "refused": 0}

    @FUZZ
    @given(
        flips=st.lists(st.tuples(st.integers(0, 10**7), st.integers(1, 255)), max_size=6),
        header_bias=st.booleans(),
        cut=st.one_of(st.none(), st.integers(0, 10**7)),
    )
    def check(flips, header_bias, cut):
        blob = bytearray(valid)
        header_end = 8 + int.from_bytes(valid[:8], "little")
        for pos, mask in flips:
            blob[pos % (header_end if header_bias else len(blob))] ^= mask
        if cut is not None:
            blob = blob[: cut % (len(blob) + 1)]
        path = folder / "fuzz.safetensors"
        path.write_bytes(bytes(blob))
        try:
            model, _ = load_checkpoint(path)
        except ValueError:
            outcomes["refused"] += 1
            return
        outcomes["loaded"] += (
            1  # flips inside the weights only: the same architecture, finite weights
        )
        assert type(model) is type(tiny)

    check()
    assert outcomes["refused"] > 0


ARRAYS = st.one_of(
    st.integers(0, 4)
    .flatmap(lambda nd: st.tuples(*[st.integers(0, 70)] * nd))
    .flatmap(
        lambda shape: st.sampled_from(
            ["float32", "float64", "uint8", "uint16", "int64", "bool", "complex64"]
        ).map(
            lambda dtype: (
                np.random.default_rng(len(shape)).random(shape).astype(dtype)
                if dtype != "complex64"
                else np.zeros(shape, "complex64")
            )
        )
    ),
    st.sampled_from(
        [
            np.full((40, 40), np.nan),
            np.full((40, 40), np.inf),
            np.zeros((40, 40)),
            np.full((40, 40), 1e30),
            np.ones((40, 40, 3)),
            np.ones((40, 40, 5)),
        ]
    ),
)


@FUZZ
@given(
    image=ARRAYS,
    name=st.sampled_from(["axial", "sagittal", "coronal", "Axial", "oblique", ""]),
    spacing=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(1.0), st.just(0.5)),
)
def test_reconstruct_validates_any_view(tiny, image, name, spacing):
    try:
        r = api.reconstruct(tiny, {name: (image, spacing)})
    except ValueError as exc:
        assert str(exc)
        return
    assert (
        name in api.VIEW_NAMES
        and r.probability.shape == (16, 16, 16)
        and np.isfinite(r.probability).all()
    )


@FUZZ
@given(
    z=st.one_of(
        st.lists(
            st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=9
        ).map(np.array),
        st.lists(st.floats(-5, 5, width=32), min_size=4, max_size=4).map(np.array),
        st.sampled_from(
            [
                np.zeros((3, 4)),
                np.zeros((0, 4)),
                np.zeros((2, 2, 4)),
                np.array(["1", "2", "3", "4"]),
                np.array([True] * 4),
            ]
        ),
    )
)
def test_decode_validates_any_latent(tiny, z):
    try:
        out = api.decode(tiny, z)
    except ValueError:
        return
    assert out.shape[-3:] == (16, 16, 16) and np.isfinite(out).all()


@FUZZ
@given(
    ga=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 100), st.text(max_size=3)
    ),
    seed=st.one_of(st.integers(-5, 2**40), st.floats(), st.booleans()),
    spacing=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3)),
)
def test_make_phantom_validates(ga, seed, spacing):
    try:
        ph = api.make_phantom(ga, seed, shape=(16, 16, 16), spacing_mm=spacing)
    except ValueError:
        return
    assert ph.labels.shape == (16, 16, 16)


@FUZZ
@given(
    entries=st.dictionaries(
        st.sampled_from(["origin", "row_axis", "col_axis", "spacing_mm", "shape", "junk"]),
        st.one_of(
            st.lists(st.floats(allow_nan=True), max_size=4),
            st.floats(allow_nan=True),
            st.text(max_size=2),
            st.none(),
        ),
    )
)
def test_simulate_view_validates_any_pose(entries):
    labels = api.make_phantom(28.0, 1, shape=(16, 16, 16), spacing_mm=8.0).labels
    try:
        view = api.simulate_view(labels, entries, spacing_mm=8.0)
    except ValueError:
        return
    assert np.isfinite(view.image).all()


def test_out_of_memory_becomes_advice(tiny):
    """A CUDA out-of-memory error (raised here by hand: this machine has no GPU)
    becomes a message that says what to do; the model still works afterwards."""
    import torch

    from napari_genmed.core.devices import DeviceMemoryError

    views = {"axial": np.random.default_rng(0).random((32, 32)).astype(np.float32)}
    original = tiny.decode

    def exhausted(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    tiny.decode = exhausted
    try:
        with pytest.raises(DeviceMemoryError, match="cpu device"):
            api.reconstruct(tiny, views)
        with pytest.raises(DeviceMemoryError, match="out of memory"):
            api.decode(tiny, np.zeros(4))
    finally:
        tiny.decode = original
    assert api.reconstruct(tiny, views).probability.shape == (16, 16, 16)


def test_auto_device_never_fails_and_bad_names_are_clear():
    from napari_genmed.core.devices import resolve_device

    assert resolve_device("auto") in ("cpu", "cuda", "mps")
    for bad in ("cuda:x", "cpu:1", "tpu", "cuda:-1"):
        with pytest.raises(ValueError, match="device"):
            resolve_device(bad)


def test_cpu_results_are_bit_identical(tiny):
    views = {
        "axial": np.random.default_rng(1).random((40, 40)),
        "coronal": np.random.default_rng(2).random((50, 30)),
    }
    a = api.reconstruct(tiny, views, n_samples=5, seed=3)
    b = api.reconstruct(tiny, views, n_samples=5, seed=3)
    assert np.array_equal(a.probability, b.probability) and np.array_equal(
        a.uncertainty, b.uncertainty
    )
    assert not np.array_equal(
        a.probability, api.reconstruct(tiny, views, n_samples=5, seed=4).probability
    )


def _rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.soak
def test_soak_reconstructions_and_latent_moves(artifacts):
    """200 reconstructions and 1,000 latent moves with the bundled HiREC-CVAE:
    resident memory grows by less than 10% after the warm-up."""
    from napari_genmed.core.data.sample import sample_scan
    from napari_genmed.core.tasks.latent import latent_reconstruction
    from napari_genmed.core.tasks.latent_ranking import latent_directions
    from napari_genmed.core.tasks.latentstate import LatentState

    model = api.load_model("hirec-cvae", "cpu")
    views = sample_scan().views
    state = LatentState(model, latent_directions(model), views)
    rng = np.random.default_rng(0)

    def rounds(n_rec, n_moves):
        for k in range(n_rec):
            api.reconstruct(model, {n: v for n, v in views.items() if k % 3 == 0 or n != "coronal"})
        for _ in range(n_moves):
            state.set_value(int(rng.integers(state.dims)), float(rng.uniform(-3, 3)))
            latent_reconstruction(model, state.z, state.condition, tuple(views), 0.5)

    rounds(10, 50)  # warm-up: allocator pools, caches
    start = _rss_bytes()
    rounds(200, 1000)
    growth = _rss_bytes() / start - 1.0
    (artifacts / "soak.json").write_text(
        json.dumps(
            {
                "rss_start_mb": start / 2**20,
                "growth": growth,
                "reconstructions": 200,
                "latent_moves": 1000,
            }
        )
    )
    assert growth < 0.10, f"resident memory grew {growth:.1%}"
