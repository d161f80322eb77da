"""The anatomy generator (mental-map-anatomy): the query plane's labels, rendered by
the simulator. Tiny models on a few cached scenes."""

import dataclasses

import numpy as np
import pytest
import torch

from napari_genmed import api
from napari_genmed.core.data.scenes import SIZE, SceneDataset, label_planes, pose_from_vector
from napari_genmed.core.metrics.similarity import similarity
from napari_genmed.core.nets.registry import build_model
from napari_genmed.core.sim import labels as L
from napari_genmed.core.sim.medium import Medium
from napari_genmed.core.sim.plane_render import render_plane_labels, render_plane_probabilities

from ..tiny import TINY_MAP

TINY_ANATOMY = dict(TINY_MAP, classes=10)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenes")
    for split, n in (("train", 4), ("val", 1)):
        SceneDataset(split, n, path).fill_cache()
    return path


def tiny_anatomy(seed: int = 0):
    torch.manual_seed(seed)
    return build_model("mental-map-anatomy", TINY_ANATOMY).eval()


def _batch(n_obs: int, b: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.rand(b, n_obs, SIZE, SIZE, generator=g),
        torch.randn(b, n_obs, 12, generator=g),
        torch.ones(b, n_obs),
        torch.randn(b, 12, generator=g),
    )


def test_a_true_planes_labels_render_as_the_scenes_truth(scenes):
    data = SceneDataset("train", 4, scenes)
    planes = label_planes(data)
    assert planes.shape == (4, 5, SIZE, SIZE) and planes.dtype == np.uint8
    it = data[0]
    axial = planes[0, 0]
    assert (axial == L.BONE).any() and (axial == L.BRAIN).any()  # the skull ring and inside
    rendered = render_plane_labels(axial, seed=1)
    assert rendered.shape == (SIZE, SIZE) and rendered.min() >= 0 and rendered.max() <= 1
    same = similarity(rendered, it["clean"][0])["ssim"]
    moved = similarity(render_plane_labels(np.roll(axial, 6, axis=1), 1), it["clean"][0])["ssim"]
    assert same > 0.85 and same > moved + 0.05, (same, moved)


def test_render_refuses_what_is_not_a_square_label_map():
    with pytest.raises(ValueError, match="square 2D"):
        render_plane_labels(np.zeros((4, 8)))


def _midline_plane(falx_share: float) -> np.ndarray:
    """Probabilities of a head's plane: brain under a bone band, and a sheet across the
    beam that is falx with ``falx_share`` and brain otherwise."""
    labels = np.zeros((SIZE, SIZE), np.uint8)
    labels[16:56, 8:56], labels[14:16, 8:56] = L.BRAIN, L.BONE
    p = np.eye(10, dtype=np.float32)[labels].transpose(2, 0, 1)
    p[L.FALX, 34, 20:44], p[L.BRAIN, 34, 20:44] = falx_share, 1 - falx_share
    return p


def test_a_plane_of_label_probabilities_is_drawn_as_its_expected_medium():
    one_hot = _midline_plane(1.0)
    # one-hot probabilities are the labels themselves, to the last bit
    assert np.array_equal(
        render_plane_probabilities(one_hot, 2), render_plane_labels(one_hot.argmax(0), 2)
    )
    # a falx the generator gives half its probability is drawn, fainter than a sure one
    echo = {
        s: render_plane_probabilities(_midline_plane(s), 2)[33:36, 24:40].mean()
        for s in (0, 0.5, 1)
    }
    assert echo[0] < echo[0.5] < echo[1], echo
    assert render_plane_labels(_midline_plane(0.5).argmax(0), 2)[
        33:36, 24:40
    ].mean() == pytest.approx(echo[0], abs=1e-6)  # the argmax drops it
    with pytest.raises(ValueError, match=r"\(C, S, S\)"):
        render_plane_probabilities(np.zeros((10, 4, 8)))
    with pytest.raises(ValueError, match="finite"):
        Medium.expected(np.full((10, 3, 4, 4), np.nan))


def test_the_anatomy_generator_draws_its_probabilities_at_a_temperature():
    images, poses, mask, query = _batch(2)
    sure = tiny_anatomy().generate(images, poses, mask, query)[0]
    model = tiny_anatomy()
    model.config = dataclasses.replace(model.config, label_temperature=1.0)
    soft = model.generate(images, poses, mask, query)[0]
    assert soft.shape == sure.shape and 0 <= soft.min() <= soft.max() <= 1
    assert not torch.equal(soft, sure)  # an untrained map is unsure: drawn otherwise
    model.config = dataclasses.replace(model.config, label_temperature=1e-4)
    mean, _, labels = model.generate_with_anatomy(images, poses, mask, query)
    assert torch.equal(mean, model.generate(images, poses, mask, query)[0])
    assert torch.equal(labels, model.anatomy(images, poses, mask, query)[0])  # one decoding
    cold = model.generate(images, poses, mask, query)[0]  # towards the argmax as it cools
    assert (cold - sure).abs().mean() < 0.2 * (soft - sure).abs().mean()


def test_the_anatomy_generator_is_order_free_seeded_and_handles_no_observations():
    model = tiny_anatomy()
    images, poses, mask, query = _batch(3)
    labels = model.anatomy(images, poses, mask, query)
    flipped = model.anatomy(images.flip(1), poses.flip(1), mask, query)
    assert labels.shape == (1, 2, SIZE, SIZE) and torch.equal(labels, flipped)
    none = model.generate(*_batch(0)[:3], query)
    assert none[0].shape == (2, SIZE, SIZE) and none[1] is None
    a = model.generate(images, poses, mask, query, 3, torch.Generator().manual_seed(5))
    b = model.generate(images, poses, mask, query, 3, torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[1].shape == (2, SIZE, SIZE)


def test_the_anatomy_generator_needs_classes_and_labels():
    with pytest.raises(ValueError, match="classes >= 2"):
        build_model("mental-map-anatomy", TINY_MAP)
    images, poses, mask, query = _batch(1)
    batch = {"images": images, "poses": poses, "mask": mask, "query": query}
    with pytest.raises(ValueError, match="labels"):
        tiny_anatomy().training_loss(batch)
    labels = torch.randint(0, 10, (2, SIZE, SIZE))
    loss = tiny_anatomy().training_loss(batch | {"labels": labels})["loss"]
    loss.backward()
    assert loss.item() == pytest.approx(np.log(10), rel=0.3)  # about uniform at the start


@pytest.mark.parametrize("balance", [0.0, 0.5])
def test_training_from_a_plain_map_and_the_checkpoint_round_trip(scenes, tmp_path, balance):
    from napari_genmed.core.io.checkpoint import save_checkpoint
    from napari_genmed.core.progress import run
    from napari_genmed.core.train.views import ViewTrainConfig, train_views_job

    torch.manual_seed(0)
    start = build_model("mental-map", TINY_MAP)
    save_checkpoint(tmp_path / "plain.safetensors", start)
    cfg = ViewTrainConfig(
        kind="mental-map-anatomy",
        model=TINY_ANATOMY,
        train_size=4,
        val_size=1,
        epochs=1,
        batch_size=2,
        cache_dir=str(scenes),
        init_from=str(tmp_path / "plain.safetensors"),
        max_steps=1,
        class_balance=balance,
    )
    seen = []
    result = run(train_views_job(cfg, tmp_path / "anat"), lambda p: seen.append(p.partial or {}))
    assert result["steps"] == 1 and "ce" in seen[0]
    loaded = api.load_model(str(tmp_path / "anat" / "model.safetensors"), "cpu")
    assert loaded.kind == "mental-map-anatomy" and loaded.config.classes == 10
    # the plain map's weights carried over (those the step moved by at most its size)
    before, after = start.state_dict(), loaded.state_dict()
    assert after["out.weight"].shape[0] == 10 and before["out.weight"].shape[0] == 1
    assert torch.allclose(before["pose.0.weight"], after["pose.0.weight"], atol=1e-2)
    scene = SceneDataset("val", 1, scenes)[0]
    query = pose_from_vector(scene["poses"][1], (128, 128))
    obs = [(scene["speckled"][0], pose_from_vector(scene["poses"][0], (SIZE, SIZE)))]
    one = api.generate_view(loaded, obs, query, seed=3)
    again = api.generate_view(loaded, obs, query, seed=3)
    assert one.image.shape == (128, 128) and np.array_equal(one.image, again.image)
    assert one.method == "mental-map-anatomy" and 0 <= one.image.min() <= one.image.max() <= 1
    # the labels it drew, on the query's grid
    assert one.anatomy.shape == (128, 128) and one.anatomy.dtype == np.uint8
    assert set(np.unique(one.anatomy)) <= set(range(10))
    assert api.generate_view(start, obs, query).anatomy is None  # grey-level generators


def test_every_view_generator_kind_can_be_trained_and_evaluated_from_the_cli():
    from napari_genmed.core.io.bundled import TRAINABLE_VIEW_GENERATORS
    from napari_genmed.core.nets.registry import VIEW_GENERATOR_KINDS

    assert set(TRAINABLE_VIEW_GENERATORS) == set(VIEW_GENERATOR_KINDS)


def test_class_weights_change_what_the_loss_counts():
    images, poses, mask, query = _batch(1)
    labels = torch.zeros(2, SIZE, SIZE, dtype=torch.long)
    labels[:, 20:24, 20:24] = L.VENTRICLE
    batch = {"images": images, "poses": poses, "mask": mask, "query": query, "labels": labels}
    model = tiny_anatomy()
    only_ventricle = torch.zeros(10)
    only_ventricle[L.VENTRICLE] = 1.0
    plain = model.training_loss(batch)["loss"]
    rare = model.training_loss(batch | {"class_weights": only_ventricle})["loss"]
    logits = model.training_loss(batch)["logits"]
    expected = torch.nn.functional.cross_entropy(
        logits[:, :, 20:24, 20:24], labels[:, 20:24, 20:24]
    )
    assert rare.item() == pytest.approx(expected.item(), rel=1e-5) and rare.item() != plain.item()


def test_the_slabs_middle_layer_samples_as_the_slab_does():
    from napari_genmed.core.sim.plane_render import PIXEL_MM, _MiddleLayer

    labels = np.random.default_rng(0).integers(0, 10, (SIZE, SIZE)).astype(np.uint8)
    slab = Medium(np.repeat(labels[None], 3, axis=0), PIXEL_MM)
    rng = np.random.default_rng(1)
    points = np.stack(
        [np.full(500, PIXEL_MM), *rng.uniform(-4, SIZE * PIXEL_MM + 4, (2, 500))], axis=-1
    )  # on the plane, some outside the map
    full, flat = slab.sample(points), _MiddleLayer(slab).sample(points)
    for key in full:
        np.testing.assert_allclose(flat[key], full[key], atol=1e-6, err_msg=key)


def test_the_midline_bias_draws_the_falx_where_the_generator_half_believes_it():
    images, poses, mask, query = _batch(2)
    model = tiny_anatomy()
    plain = model.anatomy(images, poses, mask, query)
    model.config = dataclasses.replace(model.config, midline_bias=50.0)
    assert (model.anatomy(images, poses, mask, query) == L.FALX).all()  # a huge bias: all falx
    model.config = dataclasses.replace(model.config, midline_bias=0.5)
    biased = model.anatomy(images, poses, mask, query)
    assert (biased == L.FALX).sum() >= (plain == L.FALX).sum()
    assert torch.equal(biased[biased != L.FALX], plain[biased != L.FALX])  # nothing else moves
    assert torch.equal(biased[0], model.generate_with_anatomy(images, poses, mask, query)[2])
