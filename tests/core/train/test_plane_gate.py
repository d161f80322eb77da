"""The plane gate fitted on tiny data: encoders copied from the source model, p-values
calibrated on other subjects, a classifier per encoder, a checkpoint round trip."""

import numpy as np
import pytest
import torch

from napari_genmed.core.io.checkpoint import load_checkpoint, save_checkpoint
from napari_genmed.core.nets.plane_gate import CLASSES
from napari_genmed.core.nets.registry import build_model
from napari_genmed.core.progress import run
from napari_genmed.core.tasks.plausibility import assess_prepared
from napari_genmed.core.train.plane_gate import GateFitConfig, fit_gate_job

from ..tiny import TINY_DATA, TINY_MODEL


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gate")
    torch.manual_seed(0)
    source = save_checkpoint(tmp / "tl.safetensors", build_model("tl-net", TINY_MODEL["tl-net"]))
    cfg = GateFitConfig(
        source=str(source),
        data=TINY_DATA,
        fit_size=12,
        calibration_size=8,
        off_standard_heads=4,
        cache_dir=str(tmp / "cache"),
    )
    result = run(fit_gate_job(cfg, tmp / "run"))
    return result, source, cfg


def test_the_gate_copies_its_encoders_and_calibrates(fitted):
    result, source, _ = fitted
    gate, card = load_checkpoint(result["path"])
    tl, _ = load_checkpoint(source)
    x = torch.rand(2, 32, 32)
    for k in range(3):  # the copied conv stacks compute what the source's did
        want = tl.conditioner.views.encoders[k].features(x[:, None] * 2 - 1)
        h = x[:, None] * 2 - 1
        for block in gate.encoders[k]:
            h = block(h)
        assert torch.allclose(h, want, atol=1e-6)
    assert torch.all(gate.calibration[:, 1:] >= gate.calibration[:, :-1])  # sorted quantiles
    assert len(card["metrics"]["classifier_accuracy_held_out"]) == 3
    assert card["recipe"]["fit_size"] == 12 and card["recipe"]["classes"] == list(CLASSES)


def test_p_values_fall_as_the_distance_grows(fitted):
    gate, _ = load_checkpoint(fitted[0]["path"])
    cal = gate.calibration[0]
    d = torch.stack([cal[0] - 1, cal[len(cal) // 2], cal[-1] + 1])
    p = gate.p_values(d, 0)
    assert p[0] == 1.0 and 0.3 < p[1] < 0.7 and p[2] == pytest.approx(1 / (len(cal) + 1))


def test_verdicts_on_views_and_on_noise(fitted):
    gate, _ = load_checkpoint(fitted[0]["path"])
    from napari_genmed.core.data.dataset import DatasetConfig, make_subject

    views = make_subject(123, DatasetConfig(**TINY_DATA))["views"]
    got = assess_prepared(gate, views, ["axial", "sagittal", None])
    assert [g.slot for g in got] == ["axial", "sagittal", None]
    assert got[2].plane in ("axial", "sagittal", "coronal") and 0 < got[2].score <= 1
    noise = np.random.default_rng(0).uniform(size=(1, 32, 32)).astype(np.float32)
    flat = assess_prepared(gate, noise * 0 + 0.5, ["axial"])[0]
    assert flat.score < 0.2 and not flat.plausible and flat.reason  # far from every view


def test_a_pooled_gate_judges_views_at_half_the_resolution(fitted, tmp_path):
    from napari_genmed.core.tasks.plausibility import assess_view

    _, source, cfg = fitted
    pooled = run(fit_gate_job(GateFitConfig(**{**cfg.__dict__, "pool": 2}), tmp_path))
    gate, card = load_checkpoint(pooled["path"])
    full, _ = load_checkpoint(fitted[0]["path"])
    assert (gate.config.view_size, gate.config.view_pixel_mm) == (
        full.config.view_size // 2,
        full.config.view_pixel_mm * 2,
    )
    assert card["recipe"]["pool"] == 2 and not torch.equal(gate.means, full.means)
    view = np.random.default_rng(0).random((full.config.view_size,) * 2).astype(np.float32)
    verdict = assess_view(gate, (view, full.config.view_pixel_mm), "axial")  # any view's size
    assert 0 < verdict.score <= 1
    with pytest.raises(ValueError, match="pool"):
        run(fit_gate_job(GateFitConfig(**{**cfg.__dict__, "pool": 3}), tmp_path / "bad"))


@pytest.mark.parametrize(
    "kind, channels",
    [("tl-net", None), ("rec-cvae", None), ("hirec-cvae", None), ("rec-cvae", (8, 16))],
)
def test_a_gated_reconstruction_shares_the_pass_and_changes_nothing(fitted, kind, channels):
    """The gate's encoders and the model's view encoders in one grouped pass (TL-net's
    are the gate's own and serve both; other widths fall back to the gate's own pass):
    the same verdicts as the gate alone, the same volume as without the gate."""
    from napari_genmed.core.data.dataset import DatasetConfig, make_subject
    from napari_genmed.core.tasks.reconstruct import reconstruct

    gate, _ = load_checkpoint(fitted[0]["path"])
    if kind == "tl-net":
        model, _ = load_checkpoint(fitted[1])
    else:
        torch.manual_seed(1)
        cfg = dict(TINY_MODEL[kind], **({"view_channels": channels} if channels else {}))
        model = build_model(kind, cfg).eval()
    subject = make_subject(7, DatasetConfig(**TINY_DATA))
    names = ("axial", "sagittal", "coronal")
    views = {n: (subject["views"][k], TINY_DATA["pixel_mm"]) for k, n in enumerate(names)}
    views["coronal"] = (np.random.default_rng(0).uniform(size=(32, 32)), TINY_DATA["pixel_mm"])
    seen, features = [], gate.features_side_by_side
    gate.features_side_by_side = lambda v, p, riders=None: (
        seen.append(riders) or features(v, p, riders)
    )
    gated = reconstruct(model, views, gate=gate)
    assert (seen[-1] is not None) == (channels is None)  # shared unless the widths differ
    bare = reconstruct(model, views)
    alone = assess_prepared(
        gate, np.stack([v[0] for v in views.values()]).astype(np.float32), names
    )
    assert [gated.plausibility[n].verdict for n in names] == [p.verdict for p in alone]
    assert np.allclose([gated.plausibility[n].score for n in names], [p.score for p in alone])
    assert np.allclose(gated.probability, bare.probability, atol=1e-5)
    assert not gated.plausibility["coronal"].plausible  # noise, as the gate alone says


def test_off_standard_planes_are_scanned_as_the_heads_standard_planes():
    """With drawn scanner settings the off-standard class must be drawn with them too,
    or the classifier learns that another scanner's look means a standard plane."""
    from napari_genmed.core.data.dataset import DatasetConfig, scan_acquisition, subject_seed
    from napari_genmed.core.train.plane_gate import off_standard_views

    plain = DatasetConfig(**TINY_DATA)
    varied = DatasetConfig(**{**TINY_DATA, "vary_acquisition": True, "varied_share": 1.0})
    seeds = [subject_seed("train", 0)]
    assert scan_acquisition(seeds[0], varied)[0] is not None
    a = off_standard_views(seeds, plain, np.random.default_rng(0))
    b = off_standard_views(seeds, varied, np.random.default_rng(0))
    again = off_standard_views(seeds, plain, np.random.default_rng(0))
    assert a.shape == b.shape == (3, *plain.view_shape)
    assert np.array_equal(a, again) and not np.allclose(a, b)
