"""Missing views: scenes, the mental-map generator (plain and GAN), the baseline
route, the API and the evaluation, with tiny models."""

import json

import numpy as np
import pytest

from napari_genmed import api
from napari_genmed.core.data.scenes import SIZE, SceneDataset, coarse_pose, pose_from_vector
from napari_genmed.core.nets.registry import build_model
from napari_genmed.core.sim.geometry import standard_pose

from ..tiny import TINY_MAP, TINY_MODEL

TINY_SPATIAL = dict(
    TINY_MAP,
    scene_grid=16,
    grid_channels=8,
    grid_widths=(8, 8, 8),
    volume_channels=8,
    plane_side=32,
)
SCENE_CODES = {"vector": TINY_MAP, "spatial": TINY_SPATIAL}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenes")
    for split, n in (("train", 8), ("val", 2), ("test", 2)):
        SceneDataset(split, n, path).fill_cache()
    return path


def tiny_map(kind="mental-map", seed=0, scene="vector"):
    import torch

    torch.manual_seed(seed)
    return build_model(kind, SCENE_CODES[scene]).eval()


def test_scene_slices_poses_and_cache(cache):
    scenes = SceneDataset("train", 8, cache)
    it = scenes[3]
    assert it["speckled"].shape == it["clean"].shape == (5, SIZE, SIZE) and it[
        "features"
    ].shape == (5, 12)
    assert (
        np.abs(it["speckled"] - it["clean"]).mean()
        < 0.05
        < np.abs(it["clean"][0] - it["clean"][1]).mean()
    )
    again = SceneDataset("train", 8, cache)[3]
    assert all(np.array_equal(it[k], again[k]) for k in it)
    assert np.array_equal(
        scenes.make(3)["clean"], it["clean"]
    )  # made again from scratch: the same scene
    # the coarse pose is the same plane: block centres of the 1 mm grid are its pixel centres
    fine = pose_from_vector([*it["poses"][0][:9], 1.0], (128, 128))
    coarse = coarse_pose(fine)
    assert np.allclose(coarse.points(5, 7), fine.points(10.5, 14.5))


@pytest.mark.parametrize("scene", SCENE_CODES)
def test_the_scene_representation_ignores_order_and_handles_none(scene):
    import torch

    model = tiny_map(scene=scene)
    imgs = torch.rand(1, 3, SIZE, SIZE)
    poses = torch.rand(1, 3, 12)
    mask = torch.ones(1, 3)
    r = model.represent(imgs, poses, mask)
    perm = [2, 0, 1]
    assert torch.allclose(r, model.represent(imgs[:, perm], poses[:, perm], mask), atol=1e-5)
    padded = model.represent(
        torch.cat([imgs, torch.rand(1, 1, SIZE, SIZE)], 1),
        torch.cat([poses, torch.rand(1, 1, 12)], 1),
        torch.tensor([[1.0, 1, 1, 0]]),
    )
    assert torch.allclose(r, padded, atol=1e-5)  # a masked slot is no observation
    none = model.represent(imgs[:, :0], poses[:, :0], mask[:, :0])
    assert none.shape == r.shape and torch.count_nonzero(none) == 0


def test_a_backprojected_slice_comes_back_at_its_pose_only(cache):
    import torch

    from napari_genmed.core.nets.spatial_scene import backproject, slice_volume

    it = SceneDataset("train", 8, cache)[2]
    features, images = (
        torch.as_tensor(it["features"][:3])[None],
        torch.as_tensor(it["clean"][:3])[None],
    )
    volume = backproject(images[:, :, None], features, torch.ones(1, 3), 32, 2 / 32)
    assert volume.shape == (1, 3, 32, 32, 32)
    mean = volume[:, :1] / volume[:, 1:2].clamp_min(
        1e-3
    )  # weighted mean of the images at each voxel
    for q in range(3):
        back = slice_volume(mean, features[:, q], SIZE)[0, 0].numpy()
        assert (
            np.corrcoef(back.ravel(), it["clean"][q].ravel())[0, 1] > 0.85
        )  # each plane comes back
    tilted = features[:, 0].clone()
    tilted[:, :3] += (
        torch.as_tensor(it["features"][0][9:12]) * 0.5
    )  # 16 mm along the axial plane's normal
    seen = slice_volume(volume[:, 1:2], tilted, SIZE)[0, 0]
    assert float(seen.mean()) < 0.5 * float(
        slice_volume(volume[:, 1:2], features[:, 0], SIZE)[0, 0].mean()
    )
    assert np.allclose(volume[0, 2].numpy(), np.log(4))  # log(1 + n) everywhere


@pytest.mark.parametrize("scene", SCENE_CODES)
def test_generate_view_api(cache, scene):
    model = tiny_map(scene=scene)
    scene = SceneDataset("test", 2, cache)[0]
    poses = [pose_from_vector(v, (SIZE, SIZE)) for v in scene["poses"]]
    query = standard_pose("coronal", (64.0, 64.0, 64.0))  # 128 x 128 at 1 mm
    obs = [(scene["speckled"][0], poses[0]), (scene["speckled"][1], poses[1])]
    g = api.generate_view(model, obs, query)
    assert g.image.shape == (128, 128) and g.native.shape == (SIZE, SIZE) and g.std is None
    assert np.array_equal(g.image, api.generate_view(model, obs[::-1], query).image) or np.allclose(
        g.image, api.generate_view(model, obs[::-1], query).image, atol=1e-5
    )
    s1 = api.generate_view(model, obs, query, n_samples=4, seed=2)
    assert np.array_equal(s1.image, api.generate_view(model, obs, query, n_samples=4, seed=2).image)
    assert s1.std.shape == (128, 128) and s1.std.max() > 0
    assert api.generate_view(model, [], query.to_dict()).image.shape == (
        128,
        128,
    )  # no observation: the prior
    other = standard_pose("sagittal", (64.0, 64.0, 64.0))
    assert not np.allclose(
        api.generate_view(model, obs, other).native, g.native
    )  # the query pose matters
    views = api.simulate_views(api.make_phantom(28.0, 1).labels, seed=1)  # View objects at 1 mm
    assert api.generate_view(model, views, query).image.shape == (128, 128)
    for bad, words in [
        (
            lambda: api.generate_view(build_model("rec-cvae", TINY_MODEL["rec-cvae"]), obs, query),
            "view generator",
        ),
        (lambda: api.generate_view(model, obs, "coronal"), "query_pose"),
        (lambda: api.generate_view(model, [obs[0]] * 9, query), "at most"),
        (lambda: api.generate_view(model, [(np.full((64, 64), np.nan), poses[0])], query), "NaN"),
        (
            lambda: api.generate_view(model, [(np.zeros((10, 10)), poses[0])], query),
            "does not match",
        ),
        (lambda: api.generate_view(model, ["not an observation"], query), "observation"),
        (lambda: api.generate_view(model, obs, query, n_samples=0), "n_samples"),
    ]:
        with pytest.raises(ValueError, match=words):
            bad()


def test_scenes_of_varied_scans_change_what_is_seen_not_the_truth(tmp_path, cache):
    from napari_genmed.core.data.dataset import DatasetConfig, PhantomDataset
    from napari_genmed.core.data.scenes import downsample
    from napari_genmed.core.progress import run
    from napari_genmed.core.train.views import ViewTrainConfig, train_views_job

    varied = DatasetConfig(vary_acquisition=True)
    scenes = SceneDataset("train", 3, tmp_path, varied)
    own = SceneDataset("train", 8, cache)
    for i in range(2):
        it, plain = scenes[i], own[i]
        head = PhantomDataset("train", 3, varied, cache_dir=tmp_path).arrays(i)
        assert np.array_equal(it["clean"], plain["clean"])  # one canonical truth
        assert np.array_equal(it["poses"], plain["poses"])
        assert all(  # the standard planes are the varied scan's own views
            np.array_equal(it["speckled"][k], downsample(head["views"][k])) for k in range(3)
        )
        assert np.abs(it["speckled"][3:] - plain["speckled"][3:]).mean() > 0.01  # so are obliques
    SceneDataset("val", 1, tmp_path, varied).fill_cache()
    cfg = ViewTrainConfig(
        model=TINY_MAP,
        train_size=3,
        val_size=1,
        epochs=1,
        batch_size=3,
        cache_dir=str(tmp_path),
        vary_acquisition=True,
        intensity_aug_p=0.5,
    )
    result = run(train_views_job(cfg, tmp_path / "varied"))
    assert result["steps"] == 1 and 0 <= result["best_val_ssim"] <= 1


@pytest.mark.parametrize(
    "kind,scene,balanced",
    [
        ("mental-map", "vector", False),
        ("mental-map-gan", "vector", False),
        ("mental-map-gan", "vector", True),
        ("mental-map", "spatial", False),
    ],
)
def test_training_saves_loadable_generators(cache, tmp_path, kind, scene, balanced):
    from napari_genmed.core.progress import run
    from napari_genmed.core.train.views import ViewTrainConfig, train_views_job

    model = dict(SCENE_CODES[scene], adv_weight=0.1 if kind == "mental-map-gan" else 0.0)
    seen = []
    cfg = ViewTrainConfig(
        kind=kind,
        model=model,
        train_size=8,
        val_size=2,
        epochs=2,
        batch_size=4,
        cache_dir=str(cache),
        # the balanced GAN: spectral norm, feature matching, the terms ramped in
        d_spectral_norm=balanced,
        fm_weight=1.0 if balanced else 0.0,
        adv_warmup_steps=3 if balanced else 0,
    )
    result = run(train_views_job(cfg, tmp_path / kind), lambda p: seen.append(p.partial or {}))
    assert result["steps"] == 4 and 0 <= result["best_val_ssim"] <= 1
    assert ("d_loss" in seen[0]) == (kind == "mental-map-gan")
    assert ("fm" in seen[0]) == balanced
    if kind == "mental-map-gan":  # the adversarial terms ramp in over adv_warmup_steps
        ramps = [p["ramp"] for p in seen if "ramp" in p]
        assert ramps == pytest.approx([1 / 3, 2 / 3, 1.0, 1.0] if balanced else [1.0] * 4)
        last = json.loads((tmp_path / kind / "history.json").read_text())[-1]
        assert "d_loss" in last and last["hf_ratio"] > 0
    loaded = api.load_model(str(tmp_path / kind / "model.safetensors"), "cpu")
    assert (
        loaded.kind == kind
        and loaded.config.scene_grid == model.get("scene_grid", 0)
        and json.loads((tmp_path / kind / "history.json").read_text())[-1]["epoch"] == 2
    )


def test_evaluate_views_rows_baseline_references_and_structure(cache):
    from napari_genmed.core.eval.views import REFERENCES, evaluate_views_job, format_view_table
    from napari_genmed.core.nets.plane_gate import PlaneGate, PlaneGateConfig
    from napari_genmed.core.progress import run

    recon = build_model("hirec-cvae", TINY_MODEL["hirec-cvae"]).eval()
    gate = PlaneGate(PlaneGateConfig(channels=(4, 8))).eval()  # untrained: any verdict
    rows = run(
        evaluate_views_job({"mental-map": tiny_map()}, recon, n=2, cache_dir=cache, gate=gate)
    )
    methods = ("mental-map", "baseline (reconstruct + simulate)", *REFERENCES)
    assert {(r["method"], r["observed"], r["target"], r["queries"]) for r in rows} == {
        (m, k, t, q)
        for m in methods
        for k in (1, 2, 3)
        for t in ("clean", "speckled")
        for q in ("unobserved", "oblique")
    }
    assert all(
        r["n"] == 2 * ((5 - r["observed"]) if r["queries"] == "unobserved" else 2)
        and -1 <= r["ncc"] <= 1
        and r["family"] == "phantom"
        for r in rows
    )
    clean = {(r["method"], r["observed"], r["queries"]): r for r in rows if r["target"] == "clean"}
    speckled = {
        (r["method"], r["observed"], r["queries"]): r for r in rows if r["target"] == "speckled"
    }
    truth = clean[("truth (speckled plane)", 1, "unobserved")]
    blob = clean[("head-sized blob", 1, "unobserved")]
    assert truth["echo_dice"] > 0.6 > blob["echo_dice"]  # the blob has no skull echo
    assert truth["ssim_head"] > blob["ssim_head"]
    assert speckled[("truth (speckled plane)", 1, "unobserved")]["hf_ratio"] == pytest.approx(1)
    perfect = clean[("truth (clean plane)", 1, "unobserved")]  # the best point estimate
    assert perfect["ssim"] == pytest.approx(1) and perfect["echo_dice"] == pytest.approx(1)
    assert speckled[("truth (clean plane)", 1, "unobserved")]["hf_ratio"] < 1  # no speckle
    assert 0 <= speckled[("mental-map", 1, "unobserved")]["gate"] <= 1
    assert "gate" not in speckled[("mental-map", 1, "oblique")]  # no slot for an oblique
    table = format_view_table(rows)
    assert "| oblique | mental-map | axial |" in table and "head-sized blob" in table


def test_evaluate_views_with_texture_scores_the_textured_planes_at_both_grids(cache):
    from napari_genmed.core.eval.views import TEXTURE, TEXTURED_BLOB, evaluate_views_job
    from napari_genmed.core.nets.plane_gate import PlaneGate, PlaneGateConfig
    from napari_genmed.core.progress import run

    gate = PlaneGate(PlaneGateConfig(channels=(4, 8))).eval()  # untrained: any verdict
    rows = run(
        evaluate_views_job(
            {"mental-map": tiny_map()}, None, n=1, cache_dir=cache, gate=gate, texture=True
        )
    )
    speckled = {
        (r["method"], r["observed"], r["queries"]): r for r in rows if r["target"] == "speckled"
    }
    textured = speckled[("mental-map" + TEXTURE, 1, "unobserved")]
    plain = speckled[("mental-map", 1, "unobserved")]
    assert 0 <= textured["gate_1mm"] <= 1 and "gate_1mm" not in plain
    assert textured["n"] == plain["n"] and textured["hf_ratio"] != plain["hf_ratio"]
    assert 0 <= speckled[(TEXTURED_BLOB, 1, "unobserved")]["gate_1mm"] <= 1
    assert 0 <= speckled[("truth (speckled plane)", 1, "unobserved")]["gate_1mm"] <= 1


def test_evaluate_views_refuses_an_unknown_split():
    from napari_genmed.core.eval.views import evaluate_views_job

    with pytest.raises(ValueError, match="split must be test or val"):
        next(evaluate_views_job({}, split="train"))


def test_evaluate_views_in_another_appearance_changes_what_is_seen_not_the_truth(cache):
    from napari_genmed.core.eval.views import evaluate_views_job, format_view_table
    from napari_genmed.core.progress import run

    model = tiny_map()

    def rows(appearance):
        out = run(
            evaluate_views_job(
                {"mental-map": model}, None, n=1, cache_dir=cache, appearance=appearance
            )
        )
        return {(r["method"], r["observed"], r["target"], r["queries"]): r for r in out}

    own, other = rows(None), rows("convolution")
    assert own.keys() == other.keys()
    assert {r["appearance"] for r in other.values()} == {"convolution"}
    key = ("mental-map", 1, "clean", "unobserved")
    assert own[key]["ssim"] != other[key]["ssim"]  # the generator saw another image
    for method in ("template head", "head-sized blob", "truth (clean plane)"):
        k = (method, 1, "clean", "unobserved")
        assert own[k]["ssim"] == other[k]["ssim"]  # the references and truths are the same
    assert format_view_table(list(other.values())).startswith(
        "observed slices in the convolution appearance"
    )
    with pytest.raises(ValueError, match="unknown appearance 'mri'"):
        run(evaluate_views_job({"mental-map": model}, None, n=1, cache_dir=cache, appearance="mri"))


def test_evaluate_views_scores_the_mean_of_draws_when_asked(cache):
    from napari_genmed.core.eval.views import evaluate_views_job
    from napari_genmed.core.progress import run

    model = tiny_map()

    def ssim(samples):
        rows = run(
            evaluate_views_job(
                {"mental-map": model}, None, n=1, cache_dir=cache, references=False, samples=samples
            )
        )
        return {(r["observed"], r["target"], r["queries"]): r["ssim"] for r in rows}

    one, again, mean = ssim(1), ssim(1), ssim(3)
    assert one == again and one.keys() == mean.keys()
    assert one != mean  # the mean of draws is another image than the decoded prior mean
    with pytest.raises(ValueError, match="n_samples"):
        run(evaluate_views_job({"mental-map": model}, None, n=1, cache_dir=cache, samples=0))


def test_ssim_term_adds_one_minus_the_point_estimates_ssim(cache):
    import torch

    from napari_genmed.core.nets.ssim import ssim
    from napari_genmed.core.train.views import make_batch

    items = [SceneDataset("train", 8, cache)[i] for i in range(4)]
    batch = make_batch(items, np.random.default_rng(0), 3)
    plain, weighted = tiny_map(), build_model("mental-map", dict(TINY_MAP, ssim_weight=0.5))
    weighted.load_state_dict(plain.state_dict())
    torch.manual_seed(1)
    a = plain.training_loss(batch)
    torch.manual_seed(1)
    b = weighted.training_loss(batch)
    gap = 0.5 * (1 - ssim(torch.sigmoid(a["logits"]), batch["target"][:, None])).mean()
    assert b["loss"].item() == pytest.approx(a["loss"].item() + gap.item(), rel=1e-5)
    assert gap.item() > 0.01  # an untrained generator is far from the truth's structure
