"""The view sets' ceiling: a perfect reader of the planes, scored like Table 1."""

import json

import numpy as np
import pytest

from napari_genmed.cli import main
from napari_genmed.core.data.dataset import DatasetConfig
from napari_genmed.core.eval.ceiling import ceiling_job, model_variants, redraw, spread, visible
from napari_genmed.core.nets.registry import build_model
from napari_genmed.core.progress import run
from napari_genmed.core.sim import phantom as P

from ..tiny import TINY_DATASET, TINY_MODEL

SMALL = DatasetConfig(grid=(32, 32, 32), spacing_mm=4.0)


def test_each_plane_shows_its_semi_axes_and_the_noise_terms_that_live_on_it():
    axes, terms = visible(["axial"])
    assert axes == {"b", "a_front", "a_back"}
    assert terms == tuple(
        pz == 0 for pz, *_ in P._NOISE_TERMS
    )  # z = 0 kills every term with a power of z
    axes, terms = visible(["axial", "sagittal"])
    assert axes == {"b", "a_front", "a_back", "c_up", "c_down"}
    hidden = [t[:3] for t, seen in zip(P._NOISE_TERMS, terms) if not seen]
    assert hidden and all(pz > 0 and px > 0 for pz, py, px in hidden)
    assert visible(["axial", "sagittal", "coronal"]) == (
        {"b", "a_front", "a_back", "c_up", "c_down"},
        (True,) * len(P._NOISE_TERMS),
    )


@pytest.mark.parametrize(
    "views, message", [(["sagittal"], "axial plane"), (["axial", "oblique"], "unknown view")]
)
def test_unsupported_view_sets_are_refused(views, message):
    with pytest.raises(ValueError, match=message):
        visible(views)


def test_redraw_keeps_what_the_axial_plane_shows_and_draws_the_rest_from_the_prior():
    head = P.sample_shape(28.0, np.random.default_rng(1))
    rng = np.random.default_rng(2)
    draws = [redraw(head, ["axial"], rng) for _ in range(20)]
    base = 0.90 * ((head.a_front + head.a_back) / 2 + head.b) / 2
    for d in draws:
        assert (d.b, d.a_front, d.a_back, d.thickness, d.ga_weeks) == (
            head.b,
            head.a_front,
            head.a_back,
            head.thickness,
            head.ga_weeks,
        )
        assert 0.94 * base <= d.c_up <= 1.06 * base and 0.72 <= d.c_down / d.c_up <= 0.82
        assert all(a == b for a, b, (pz, *_) in zip(d.noise, head.noise, P._NOISE_TERMS) if pz == 0)
    assert len({d.c_up for d in draws}) == 20  # the vertex height really is redrawn
    noisy = redraw(
        head, ["axial", "sagittal", "coronal"], np.random.default_rng(3), reading_error=0.05
    )
    assert noisy.b != head.b and noisy.c_up != head.c_up and noisy.noise == head.noise


def test_three_planes_determine_the_skull_and_fewer_planes_do_not():
    rows = run(ceiling_job(n=2, draws=6, thresholds=(0.5,), data=SMALL))
    dice = {r["views"]: r["dice"] for r in rows}
    assert dice["3 views"] == 1.0
    assert dice["axial only"] < dice["axial+sagittal"] < 1.0
    three = next(r for r in rows if r["views"] == "3 views")
    assert three["reaches"] == ["rec-cvae", "hirec-cvae", "tl-net"] and three["split"] == "test"
    blurred = run(ceiling_job(["3 views"], n=2, draws=6, reading_error=0.05, data=SMALL))
    assert all(r["dice"] < 1.0 for r in blurred) and [r["threshold"] for r in blurred] == [
        0.4,
        0.5,
        0.6,
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0}, "positive number of heads"),
        ({"draws": 0}, "draws"),
        ({"reading_error": float("nan")}, "reading_error"),
        ({"thresholds": (0.5, 1.0)}, "strictly between"),
        ({"view_sets": ["coronal only"]}, "unknown view set"),
        ({"split": "train2"}, "unknown split"),
    ],
)
def test_bad_arguments_fail_before_any_work(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ceiling_job(**kwargs)  # not a generator to be started: the check is eager


def test_ceiling_command_prints_json_rows(capsys):
    assert (
        main(
            [
                "ceiling",
                "--n",
                "1",
                "--draws",
                "2",
                "--view-sets",
                "axial only",
                "--thresholds",
                "0.5",
                "--json",
            ]
        )
        == 0
    )
    (row,) = json.loads(capsys.readouterr().out)
    assert row["views"] == "axial only" and 0.5 < row["dice"] < 1.0 and row["draws"] == 2
    assert main(["ceiling", "--n", "1", "--reading-error", "-1"]) == 2
    assert "reading_error" in capsys.readouterr().err


def test_spread_counts_how_far_apart_draws_lie():
    same = np.zeros((4, 3, 3, 3), bool)
    same[:, 1, 1, 1] = True
    assert spread(same) == 0.0
    split = same.copy()
    split[:2, 0, 0, 0] = True  # one voxel bone in half the draws: std 0.5
    assert spread(split) == pytest.approx(0.5)


def test_model_variants_are_thresholded_samples_repeatable_by_seed():
    model = build_model("hirec-cvae", TINY_MODEL["hirec-cvae"]).eval()
    views = np.random.default_rng(0).random((3, 32, 32), dtype=np.float32)
    a = model_variants(model, views, (1, 0, 0), draws=3, seed=5)
    assert a.shape == (3, 16, 16, 16) and a.dtype == bool
    assert np.array_equal(a, model_variants(model, views, (1, 0, 0), draws=3, seed=5))


def test_ceiling_puts_each_cvae_spread_beside_the_readers():
    models = {"hirec-cvae": build_model("hirec-cvae", TINY_MODEL["hirec-cvae"]).eval()}
    rows = run(
        ceiling_job(
            ["3 views", "axial only"],
            n=1,
            draws=3,
            thresholds=(0.5,),
            data=TINY_DATASET,
            models=models,
        )
    )
    by_set = {r["views"]: r["spread_voxels"] for r in rows}
    assert set(by_set["axial only"]) == {"reader", "hirec-cvae"}
    assert by_set["3 views"]["reader"] == 0.0 and by_set["axial only"]["reader"] > 0.0
    assert all(np.isfinite(v) and v >= 0 for s in by_set.values() for v in s.values())
    with pytest.raises(ValueError, match="deterministic"):
        ceiling_job(
            models={"tl-net": build_model("tl-net", TINY_MODEL["tl-net"])}, data=TINY_DATASET
        )
    with pytest.raises(ValueError, match="grid"):
        ceiling_job(models=models)  # a 16^3 model against the 64^3 data
