"""The plane gate in the Skull reconstruction panel: a verdict under every slot, and a
real cardiac echo (pydicom's) flagged, its biometry withheld until the user overrides."""

import numpy as np
from pydicom.data import get_testdata_file

from napari_genmed.core.io.dicom import read_dicom

from .helpers import raise_dock, shoot
from .helpers import reconstruction_panel as _panel
from .helpers import wait_job as _wait


def test_a_cardiac_echo_is_flagged_and_withholds_biometry(viewer, qtbot, tiny_weights, artifacts):
    panel = _panel(viewer, qtbot, tiny_weights)
    for slot in ("axial", "sagittal", "coronal"):
        assert panel.views.check[slot].value.count("plausible") == 1, panel.views.check[slot].value
    echo = read_dicom(get_testdata_file("examples_ybr_color.dcm"))
    mm = float(np.mean(echo.pixel_spacing_mm))
    viewer.add_image(echo.data[0], name="cardiac echo", scale=(mm, mm))
    panel.views.pick["axial"].value = "cardiac echo"
    assert "not a fetal head plane" in panel.views.check["axial"].value
    assert "unlike any fetal-head axial plane" in panel.views.check["axial"].tooltip
    assert "plausible" in panel.views.check["sagittal"].value  # the others keep theirs
    panel.run()
    _wait(qtbot, panel)
    text = panel.readout.value
    assert "withheld" in text and "BPD" not in text and "axial: " in text, text
    assert "axial (placed)" not in viewer.layers  # a frame that is not a head plane: no place
    raise_dock(panel)
    shoot(viewer, qtbot, artifacts / "plausibility_flagged.png")
    panel.override.value = True
    panel.run()
    _wait(qtbot, panel)
    text = panel.readout.value
    assert "override" in text and "BPD" in text and "not a fetal head plane" in text, text
    assert panel.state.result.override and panel.state.result.plausibility["axial"].implausible


def test_the_latent_explorer_keeps_the_warning(viewer, qtbot, tiny_weights):
    from .helpers import PLUGIN

    recon = _panel(viewer, qtbot, tiny_weights)
    noise = np.random.default_rng(0).uniform(size=(128, 128)).astype(np.float32)
    viewer.add_image(noise, name="noise")
    recon.views.pick["axial"].value = "noise"
    recon.run()
    _wait(qtbot, recon)
    assert "withheld" in recon.readout.value
    _, panel = viewer.window.add_plugin_dock_widget(PLUGIN, "Latent explorer")
    panel = getattr(panel, "__wrapped__", panel)
    qtbot.waitUntil(lambda: panel.latent is not None, timeout=60_000)
    qtbot.waitUntil(lambda: panel.idle, timeout=30_000)
    top = panel.latent.directions.order[0]
    panel.sliders.sliders[top].value = 2.0
    qtbot.waitUntil(lambda: panel.idle and panel.decoder.decodes > 0, timeout=30_000)
    assert "withheld" in panel.readout.value and "not a fetal head plane" in panel.readout.value
    assert "bpd_mm" not in panel.state.result.measurements


def test_a_real_cine_opens_as_frames_and_each_slot_takes_one(
    viewer, qtbot, tiny_weights, artifacts
):
    """pydicom's 30-frame echo through this plugin's reader: one frame is a plane, the
    slot's frame slider chooses which, napari's slider follows, and "Most plausible
    frames" takes the frame the plane gate scores highest (the same as the CLI's)."""
    from napari_genmed.api import load_model
    from napari_genmed.core.io.acquired import read_acquisition
    from napari_genmed.core.tasks.plausibility import best_frame

    from .helpers import PLUGIN

    panel = _panel(viewer, qtbot, tiny_weights)
    path = get_testdata_file("examples_ybr_color.dcm")
    (layer,) = viewer.open(path, plugin=PLUGIN)
    assert layer.data.shape == (30, 1, 240, 320) and layer.metadata["cine_frames"] == 30
    assert "examples_ybr_color" in panel.views.pick["axial"].choices  # a cine is a view layer
    slider = panel.views.frame["axial"]
    assert not slider.visible and not panel.views.best.visible
    panel.views.pick["axial"].value = "examples_ybr_color"
    assert slider.visible and slider.max == 29 and panel.state.frame["axial"] == 0
    assert panel.views.best.visible and not panel.views.frame["sagittal"].visible
    slider.value = 7
    assert panel.state.frame["axial"] == 7
    assert viewer.dims.current_step[viewer.dims.ndim - 4] == 7  # napari shows that frame
    assert "not a fetal head plane" in panel.views.check["axial"].value
    panel.views.pick_best_frames()
    qtbot.waitUntil(lambda: panel.views.worker is None, timeout=60_000)
    expected, _ = best_frame(read_acquisition(path), load_model("plane-gate", "cpu"), "axial")
    assert panel.state.frame["axial"] == expected and slider.value == expected
    panel.run()
    _wait(qtbot, panel)
    assert "withheld" in panel.readout.value
    assert np.allclose(panel.state.source_views["axial"][0].shape, (240, 320))
    raise_dock(panel)
    shoot(viewer, qtbot, artifacts / "cine_flagged.png")
    panel.views.pick["axial"].value = "(none)"  # another layer later starts at its frame 0
    assert not slider.visible and panel.state.frame["axial"] == 0
