"""The Flow density panel in a real napari viewer, with a tiny patch flow."""

import numpy as np
import pytest

from napari_genmed.core.flows.glow import GlowConfig, PatchGlow
from napari_genmed.core.io.checkpoint import save_checkpoint

from .helpers import panel_with_weights, wait_job


@pytest.fixture(scope="module")
def flow_weights(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    flow = PatchGlow(GlowConfig(size=8, levels=2, steps=1, hidden=8))
    flow.train()
    flow.log_prob(torch.rand(32, 1, 8, 8), torch.rand(32, 2))  # actnorm initialisation
    return save_checkpoint(tmp_path_factory.mktemp("f") / "flow.safetensors", flow.eval())


def test_density_map_over_a_view(viewer, qtbot, flow_weights, notes):
    panel = panel_with_weights(viewer, qtbot, "Flow density", flow_weights)
    assert "patch flow" in panel.models.card.value
    panel.target.value = "axial"
    assert panel.run() is not None
    wait_job(qtbot, panel)
    layer = viewer.layers["axial density"]
    assert np.array_equal(
        layer.affine.affine_matrix, viewer.layers["axial"].affine.affine_matrix
    )  # over the view, at its pose
    score = panel.result.score
    assert (
        score.shape == (128, 128) and np.isfinite(score).all() and "bits/dim" in panel.readout.value
    )
    # this flow's card has no clean-view reference: the legend says the scale is the map's own
    assert "no clean-view reference" in panel.legend_text.value
    assert tuple(layer.contrast_limits) == pytest.approx((score.min(), score.max()), rel=1e-5)
    count = len(viewer.layers)
    panel.run()
    wait_job(qtbot, panel)
    assert len(viewer.layers) == count  # replaced, not added
    assert "axial density" not in panel.target.choices
    # a plain 2D image of another size works too; NaN is a notification
    viewer.add_image(
        np.random.default_rng(0).random((90, 70)).astype(np.float32), name="frame", scale=(0.5, 0.5)
    )
    panel.target.value = "frame"
    panel.run()
    wait_job(qtbot, panel)
    assert viewer.layers["frame density"].data.shape == (90, 70)
    viewer.add_image(np.full((40, 40), np.nan, np.float32), name="broken")
    panel.target.value = "broken"
    before = [layer.name for layer in viewer.layers]
    assert panel.run() is None and any("NaN" in n for n in notes)
    assert [layer.name for layer in viewer.layers] == before


def test_latent_plane_without_a_model_is_a_clear_message(viewer, qtbot, notes):
    """Target "latent plane" with no reconstruction model loaded: a notification
    naming what to do; the Latent explorer is docked, no layer is added."""
    from napari_genmed._qt.density_widget import LATENT_PLANE

    viewer.open_sample("napari-genmed", "fetal_head")
    _, panel = viewer.window.add_plugin_dock_widget("napari-genmed", "Flow density")
    panel = getattr(panel, "__wrapped__", panel)
    assert panel.target.value == "axial"  # a view layer by default, not the latent plane
    before = [layer.name for layer in viewer.layers]
    panel.target.value = LATENT_PLANE
    assert panel.run() is None and any("load a reconstruction model" in n for n in notes)
    assert [layer.name for layer in viewer.layers] == before
    assert "Latent explorer (napari-genmed)" in viewer.window.dock_widgets
