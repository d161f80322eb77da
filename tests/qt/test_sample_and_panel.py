"""The sample head and the phantom panel in a real napari viewer (under Xvfb)."""

import numpy as np

from napari_genmed._qt.layers import view_image, view_index
from napari_genmed.core.data.sample import sample_scan
from napari_genmed.core.sim.geometry import Pose

from .helpers import shoot


def test_sample_opens_with_slices_at_their_poses(viewer, artifacts, qtbot):
    viewer.open_sample("napari-genmed", "fetal_head")
    names = [layer.name for layer in viewer.layers]
    assert names == ["head labels", "skull", "skull surface", "axial", "sagittal", "coronal"]
    skull = viewer.layers["skull"]
    assert skull.data.shape == (64, 64, 64) and tuple(skull.scale) == (2.0, 2.0, 2.0)
    verts = viewer.layers["skull surface"].data[0]
    bone = np.argwhere(skull.data == 1) * 2.0  # the surface wraps the skull voxels (mm)
    assert np.allclose(verts.min(0), bone.min(0), atol=2.5) and np.allclose(
        verts.max(0), bone.max(0), atol=2.5
    )
    for name in ("axial", "sagittal", "coronal"):
        layer = viewer.layers[name]
        pose = Pose.from_dict(layer.metadata["pose"])
        assert view_image(layer).shape == (128, 128) and sorted(layer.data.shape) == [1, 128, 128]
        for r, c in ((0, 0), (127, 0), (40, 90)):
            world = layer.data_to_world(view_index(layer, r, c))
            assert np.allclose(world, pose.points(r, c), atol=1e-6)
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.scene.camera.angles = (-30.0, 40.0, 140.0)
    qtbot.wait(200)
    shoot(viewer, qtbot, artifacts / "sample_3d.png")
    shot = viewer.screenshot(canvas_only=False)
    assert shot.shape[0] > 300 and shot[..., :3].std() > 10  # something was drawn


def test_sample_matches_the_files_in_sample_data():
    import json
    from pathlib import Path

    import imageio.v3 as iio

    from napari_genmed.core.io.nifti import read_nifti

    root = Path(__file__).resolve().parents[2] / "sample_data"
    scan = sample_scan()
    vol = read_nifti(root / "fetal_head_labels.nii.gz")
    assert np.array_equal(vol.data, scan.phantom.labels) and vol.spacing_mm == (2.0, 2.0, 2.0)
    meta = json.loads((root / "planes.json").read_text())
    for name, view in scan.views.items():
        assert Pose.from_dict(meta["views"][name]["pose"]) == view.pose
        png = iio.imread(root / meta["views"][name]["file"])
        assert np.abs(png / 255.0 - view.image).max() <= 0.5 / 255 + 1e-6


def _generate(widget, qtbot):
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)


def test_phantom_panel_generates_and_replaces(viewer, artifacts, qtbot):
    viewer.window._qt_window.resize(1600, 1000)
    _, widget = viewer.window.add_plugin_dock_widget("napari-genmed", "Fetal head phantom")
    widget.ga.value = 22.0
    widget.seed.value = 7
    widget.generate.clicked.emit() if hasattr(widget.generate, "clicked") else widget.run()
    if widget.worker is None:
        widget.run()
    assert not widget.generate.enabled and widget.cancel.enabled  # busy while it runs
    _generate(widget, qtbot)
    assert widget.generate.enabled and not widget.cancel.enabled
    assert [layer.name for layer in viewer.layers] == [
        "head labels",
        "skull",
        "skull surface",
        "axial",
        "sagittal",
        "coronal",
    ]
    assert "BPD" in widget.readout.value
    first = viewer.layers["skull"].data.copy()
    widget.seed.value = 8
    widget.run()
    _generate(widget, qtbot)
    assert len(viewer.layers) == 6  # replaced, not piled up
    assert not np.array_equal(first, viewer.layers["skull"].data)
    assert viewer.layers["skull surface"].data[0].shape[1] == 3
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.scene.camera.angles = (150.0, -30.0, 30.0)
    shoot(viewer, qtbot, artifacts / "phantom_panel.png")


def test_phantom_panel_never_replaces_the_opened_sample(viewer, qtbot):
    viewer.open_sample("napari-genmed", "fetal_head")
    opened = {layer.name: np.array(layer.data) for layer in viewer.layers[:2]}  # the volumes
    _, widget = viewer.window.add_plugin_dock_widget("napari-genmed", "Fetal head phantom")
    widget.grid.value = 32
    widget.run()
    _generate(widget, qtbot)
    for name, data in opened.items():  # the user's layers as they were
        assert np.array_equal(viewer.layers[name].data, data)
    made = [layer.name for layer in viewer.layers][6:]
    assert made == [f"{n} (2)" for n in ("head labels", "skull", "skull surface")] + [
        f"{v} (2)" for v in ("axial", "sagittal", "coronal")
    ]
    assert viewer.layers["skull (2)"].data.shape == (32, 32, 32)
    widget.seed.value += 1
    widget.run()
    _generate(widget, qtbot)
    assert len(viewer.layers) == 12  # its own earlier phantom replaced, the sample kept


def test_phantom_panel_cancel_leaves_no_layers(viewer, qtbot):
    _, widget = viewer.window.add_plugin_dock_widget("napari-genmed", "Fetal head phantom")
    widget.grid.value = 128  # slow enough to cancel
    widget.run()
    widget.stop()
    _generate(widget, qtbot)
    assert len(viewer.layers) == 0
    assert widget.generate.enabled


def test_demo_opens_the_workflow(viewer, artifacts, qtbot):
    from napari_genmed.demo import PANELS, open_demo

    widgets = open_demo(viewer)
    assert viewer.dims.ndisplay == 3
    assert "skull" in viewer.layers
    for panel in PANELS:
        assert any(panel in key for key in viewer.window._dock_widgets)
    viewer.window._qt_window.resize(1600, 1000)
    shoot(viewer, qtbot, artifacts / "demo.png")
    for widget in widgets.values():  # every panel's content fits its column
        panel = getattr(widget, "__wrapped__", widget)
        root = panel.root_native_widget
        assert panel.native.minimumSizeHint().width() <= root.viewport().width() + 1, panel
    # the demo's model loads (and the latent ranking they start) end before the viewer closes
    latent = getattr(widgets["Latent explorer"], "__wrapped__", widgets["Latent explorer"])
    for name in ("Skull reconstruction", "Missing views", "Flow density"):
        qtbot.waitUntil(lambda: widgets[name].models.worker is None, timeout=60_000)
    qtbot.waitUntil(lambda: latent.worker is None, timeout=120_000)


def test_posed_views_turn_a_2d_viewer_to_3d_without_warnings(viewer, qtbot, notes):
    """The default 2D viewer: the sample's oblique planes would be lines (or nothing)
    and napari would warn about non-orthogonal slicing; the product turns to 3D, says
    so, and the planes show."""
    import warnings

    assert viewer.dims.ndisplay == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        viewer.open_sample("napari-genmed", "fetal_head")
        _, picker = viewer.window.add_plugin_dock_widget("napari-genmed", "Plane picker")
    viewer.dims.ndisplay = 2  # the user back in 2D (napari warns, rightly, for the planes)
    picker.tilt_a.value = 12.0  # an oblique plane
    with warnings.catch_warnings(record=True) as more:
        warnings.simplefilter("always")
        picker.extract_view()  # an extracted view turns the viewer to 3D again
        qtbot.waitUntil(lambda: picker.worker is None, timeout=60_000)
    caught += more
    assert viewer.dims.ndisplay == 3
    assert sum("Switched to 3D" in n for n in notes) == 2
    assert not [w for w in caught if "Non-orthogonal" in str(w.message)]
    for name in ("axial", "sagittal", "coronal", "axial (extracted)"):
        assert viewer.layers[name].visible
        assert "genmed_reveal" not in viewer.layers[name].metadata
