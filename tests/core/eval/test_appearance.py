"""The evaluation-only appearance: a sector image unlike the training renderer's, and
its evaluation rows."""

import numpy as np
import pytest

from napari_genmed import api
from napari_genmed.core.eval.appearance import (
    convolution_view,
    evaluate_appearance_job,
    format_appearance,
)
from napari_genmed.core.progress import run


def test_a_convolution_view_is_a_sector_image_of_the_plane():
    ph = api.make_phantom(28.0, 4)
    view = api.simulate_views(ph, seed=4)["axial"]
    image = convolution_view(ph.labels, ph.spacing_mm, view.pose, seed=1)
    assert image.shape == (128, 128) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 1 and image.std() > 0.05
    assert np.array_equal(image, convolution_view(ph.labels, ph.spacing_mm, view.pose, seed=1))
    assert image[0, 0] == 0 and image[0, -1] == 0  # outside the sector
    assert abs(np.corrcoef(image.ravel(), np.asarray(view.image).ravel())[0, 1]) < 0.9
    fluid = np.zeros_like(ph.labels)  # nothing but fluid: a dark image
    assert convolution_view(fluid, ph.spacing_mm, view.pose).mean() < image.mean()


def test_the_appearance_rows_compare_both_renderings():
    models = {"tl-net": api.load_model("tl-net", "cpu")}
    rows = run(evaluate_appearance_job(models, api.load_model("plane-gate"), 1, ("phantom",)))
    (row,) = rows
    assert row["dice_own"] > 0.5 and 0 <= row["dice_convolution"] <= 1
    assert 0 <= row["gate_accepts_convolution"] <= 1 and "target" in format_appearance(rows)
    assert 0 <= row["dice_beamformed"] <= 1 and 0 <= row["gate_accepts_beamformed"] <= 1
    assert row["appearances"] == ["convolution", "beamformed", "processed"]
    assert 0 <= row["dice_processed"] <= 1


def test_validation_heads_are_other_heads_than_the_test_heads():
    models = {"tl-net": api.load_model("tl-net", "cpu")}
    gate = api.load_model("plane-gate")
    test, val = (
        run(evaluate_appearance_job(models, gate, 1, ("phantom",), ["processed"], split))[0]
        for split in ("test", "val")
    )
    assert (test["split"], val["split"]) == ("test", "val")
    assert test["dice_own"] != val["dice_own"] and val["dice_own"] > 0.5
    with pytest.raises(ValueError, match="split must be"):
        next(evaluate_appearance_job(models, gate, 1, ("phantom",), split="train"))
