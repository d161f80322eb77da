"""The Missing views panel in a real napari viewer, with a tiny generator."""

import numpy as np
import pytest

from napari_genmed.core.io.checkpoint import save_checkpoint
from napari_genmed.core.nets.registry import build_model

from ..core.tiny import TINY_MAP
from .helpers import panel_with_weights, wait_job


@pytest.fixture(scope="module")
def generator_weights(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    return save_checkpoint(
        tmp_path_factory.mktemp("g") / "map.safetensors",
        build_model("mental-map", TINY_MAP),
        metrics={"ssim": 0.1, "ncc": 0.1},
    )


def panel_with(viewer, qtbot, weights):
    panel = panel_with_weights(viewer, qtbot, "Missing views", weights)
    assert "mental-map" in panel.models.card.value
    return panel


def test_observed_slices_follow_the_assigned_views_and_truth_is_never_picked(
    viewer, qtbot, generator_weights
):
    """Until the user picks observed slices they are the views assigned in the viewer's
    state (the Skull reconstruction panel's slots), less the query's; the true head is
    none until the user picks one."""
    from napari_genmed.state import state_of

    panel = panel_with(viewer, qtbot, generator_weights)
    assert panel.observed.value == [] and panel.truth.value == "(none)"
    state = state_of(viewer)
    for view in ("axial", "sagittal", "coronal"):
        state.assign(view, view)
    assert panel.query.value == "coronal (standard plane)"
    assert sorted(panel.observed.value) == ["axial", "sagittal"]  # the query's own view left out
    panel.observed.value = ["axial"]  # the user's pick now holds
    state.assign("sagittal", None)
    assert panel.observed.value == ["axial"] and panel.truth.value == "(none)"


def test_defaults_generate_and_replace(viewer, qtbot, generator_weights):
    panel = panel_with(viewer, qtbot, generator_weights)
    assert panel.query.value == "coronal (standard plane)"
    panel.observed.value = ["axial", "sagittal"]
    panel.truth.value = "head labels"
    assert panel.run() is not None
    wait_job(qtbot, panel)
    layer = viewer.layers["generated coronal"]
    assert layer.data.size == 128 * 128 and "vs truth: SSIM" in panel.readout.value
    # the structure scores, and the template head's beside them for scale
    scores, template = panel.result.scores, panel.result.template_scores
    assert {"ssim_head", "ncc_head", "echo_dice"} <= set(scores) and set(template) <= set(scores)
    assert 0 <= scores["echo_dice"] <= 1 and 0 <= template["echo_dice"] <= 1
    assert "skull-echo Dice" in panel.readout.value and "template head" in panel.readout.value
    assert "truth" in panel.titles.value and not panel.preview.native.pixmap().isNull()
    count = len(viewer.layers)
    panel.samples.value = 3
    panel.run()
    wait_job(qtbot, panel)
    assert "generated coronal std" in viewer.layers and len(viewer.layers) == count + 1
    first = np.array(viewer.layers["generated coronal"].data)
    panel.run()
    wait_job(qtbot, panel)
    assert np.array_equal(first, viewer.layers["generated coronal"].data)  # same seed, same image
    assert (
        "generated coronal" not in panel.observed.choices
    )  # generated slices are not observations


def test_scanner_texture_adds_a_b_mode_layer_above_the_estimate(viewer, qtbot, generator_weights):
    """Ticked, the texture adds one B-mode sample as its own layer (the smooth plane
    stays, unchanged); unticked, the panel's B-mode layer goes again."""
    from napari_genmed.core.metrics.structure import hf_energy

    panel = panel_with(viewer, qtbot, generator_weights)
    panel.observed.value = ["axial"]
    panel.run()
    wait_job(qtbot, panel)
    plain = np.array(viewer.layers["generated coronal"].data)
    assert "generated coronal B-mode" not in viewer.layers
    panel.texture.value = True
    panel.run()
    wait_job(qtbot, panel)
    bmode = np.squeeze(viewer.layers["generated coronal B-mode"].data)  # a posed (H, 1, W)
    assert np.array_equal(plain, viewer.layers["generated coronal"].data)
    inside = np.squeeze(plain) > 0.05
    assert hf_energy(bmode, inside) > 1.3 * hf_energy(np.squeeze(plain), inside)  # speckled
    assert "B-mode" in panel.titles.value
    names = [layer.name for layer in viewer.layers]
    assert names.index("generated coronal B-mode") > names.index("generated coronal")
    panel.texture.value = False
    panel.run()
    wait_job(qtbot, panel)
    assert "generated coronal B-mode" not in viewer.layers


def test_bad_inputs_are_notifications(viewer, qtbot, generator_weights, notes):
    panel = panel_with(viewer, qtbot, generator_weights)
    panel.observed.value = ["axial", "sagittal"]
    viewer.layers["axial"].data = np.full_like(viewer.layers["axial"].data, np.nan)
    before = [layer.name for layer in viewer.layers]
    assert panel.run() is None and any("NaN" in n for n in notes)
    panel.observed.value = []
    panel.truth.value = "(none)"
    assert panel.run() is None and any("centre" in n for n in notes)
    assert [layer.name for layer in viewer.layers] == before and panel.run_button.enabled


def test_preview_tiles_keep_a_thin_ring_whole(qapp):
    """A plane larger than its tile is averaged down, not decimated: a one-pixel skull
    ring keeps a bright pixel at every angle (nearest-neighbour dropped whole rows and
    columns, so the ring broke into steps and gaps)."""
    from napari_genmed._qt.view_preview import PREVIEW_PX, to_pixmap

    yy, xx = np.mgrid[:128, :128]
    radius = np.hypot(yy - 63.5, xx - 63.5)
    ring = ((radius >= 40) & (radius < 41)).astype(np.float32)
    image = to_pixmap([ring]).toImage()
    tile = np.array(
        [[image.pixelColor(x, y).value() for x in range(PREVIEW_PX)] for y in range(PREVIEW_PX)]
    )
    centre, scale = (PREVIEW_PX - 1) / 2, PREVIEW_PX / 128
    angles = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    seen = []
    for a in angles:  # the brightest tile pixel along each ray through the ring
        r = np.linspace(37, 44, 30) * scale
        y = np.clip(np.round(centre + r * np.sin(a)).astype(int), 0, PREVIEW_PX - 1)
        x = np.clip(np.round(centre + r * np.cos(a)).astype(int), 0, PREVIEW_PX - 1)
        seen.append(tile[y, x].max())
    assert min(seen) >= 40  # some of the ring's light at every angle
    assert tile[int(centre), int(centre)] < 10 and tile[0, 0] < 10  # inside and outside dark


def test_an_anatomy_tile_shows_each_label_in_its_colour_beside_gray_tiles(qapp):
    from napari_genmed._qt.view_preview import PREVIEW_PX, anatomy_tile, to_pixmap
    from napari_genmed.core.sim import labels as L
    from napari_genmed.layer_data import ANATOMY_COLORS

    labels = np.full((64, 64), L.BRAIN, np.uint8)
    labels[:, :8], labels[20:40, 28:36] = L.BONE, L.VENTRICLE
    image = to_pixmap([np.full((64, 64), 0.5), anatomy_tile(labels)]).toImage()
    x0 = PREVIEW_PX + 4  # the second tile, right of the first and its gap

    def rgb(x, y):
        c = image.pixelColor(x, y)
        return np.array([c.red(), c.green(), c.blue()]) / 255

    gray = rgb(PREVIEW_PX // 2, PREVIEW_PX // 2)
    assert np.allclose(gray, gray[0], atol=0.01) and abs(gray[0] - 0.5) < 0.02
    for (x, y), label in (
        ((4, 50), L.BONE),
        ((PREVIEW_PX // 2, 50), L.VENTRICLE),
        ((80, 90), L.BRAIN),
    ):
        assert np.allclose(rgb(x0 + x, y), ANATOMY_COLORS[label][:3], atol=0.02), label
