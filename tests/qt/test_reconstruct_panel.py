"""The clinician's workflow in a real napari viewer, with a tiny trained-shape model."""

import numpy as np
import pytest

from napari_genmed.core.sim.geometry import Pose
from napari_genmed.layer_data import view_image, view_index

from .helpers import PLUGIN
from .helpers import reconstruction_panel as _panel
from .helpers import wait_job as _wait


def test_all_panels_open(viewer):
    for name in ("Skull reconstruction", "Latent explorer", "Plane picker", "Fetal head phantom"):
        _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
        assert widget is not None


def test_model_panel(viewer, qtbot, tiny_weights, notes):
    from napari_genmed.core.devices import available_devices

    panel = _panel(viewer, qtbot, tiny_weights)
    assert list(panel.models.device.choices) == available_devices()
    assert "hirec-cvae" in panel.models.card.value and "16^3" in panel.models.card.value
    # a failed load is a notification, the earlier model stays
    panel.models.file.value = str(tiny_weights.with_name("missing.safetensors"))
    panel.models.start_loading()
    _wait(qtbot, panel.models)
    assert panel.models.model is not None and any("Loading the model failed" in n for n in notes)
    # a deterministic model draws no variants: samples and seed are off and say why
    assert panel.samples.enabled and panel.seed.enabled
    from napari_genmed.core.io.checkpoint import save_checkpoint
    from napari_genmed.core.nets.registry import build_model

    from ..core.tiny import TINY_MODEL

    panel.samples.value = 8
    panel.models.file.value = str(
        save_checkpoint(
            tiny_weights.with_name("tiny-tl.safetensors"),
            build_model("tl-net", TINY_MODEL["tl-net"]),
        )
    )
    panel.models.start_loading()
    _wait(qtbot, panel.models)
    assert panel.models.model.kind == "tl-net"
    assert not panel.samples.enabled and not panel.seed.enabled and panel.samples.value == 1
    assert "deterministic" in panel.samples.tooltip
    panel.models.file.value = str(tiny_weights)
    panel.models.start_loading()
    _wait(qtbot, panel.models)
    assert (
        panel.samples.enabled and panel.seed.enabled and "variants drawn" in panel.samples.tooltip
    )


def test_views_are_assigned_from_the_sample(viewer, qtbot, tiny_weights):
    panel = _panel(viewer, qtbot, tiny_weights)
    assert {k: c.value for k, c in panel.views.pick.items()} == {
        "axial": "axial",
        "sagittal": "sagittal",
        "coronal": "coronal",
    }
    assert panel.views.spacing["axial"].value == pytest.approx(1.0)
    assert panel.truth.value == "skull"


def test_reconstruct_replaces_layers_and_exports(viewer, qtbot, tiny_weights, tmp_path):
    from napari_genmed.core.io.meshes import read_mesh
    from napari_genmed.core.io.nifti import read_nifti

    panel = _panel(viewer, qtbot, tiny_weights)
    before = len(viewer.layers)
    assert not panel.cancel.enabled
    assert panel.run() is not None
    assert not panel.run_button.enabled and panel.cancel.enabled  # buttons while it runs
    _wait(qtbot, panel)
    names = [layer.name for layer in viewer.layers]
    assert {"skull probability", "reconstructed skull"} <= set(names)
    prob = viewer.layers["skull probability"]
    assert prob.data.shape == (16, 16, 16) and tuple(prob.scale) == (8.0, 8.0, 8.0)
    count = len(viewer.layers)
    panel.run()
    _wait(qtbot, panel)  # a re-run replaces, it does not add
    assert len(viewer.layers) == count
    panel.samples.value = 4
    panel.run()
    _wait(qtbot, panel)
    assert "skull uncertainty" in viewer.layers and len(viewer.layers) == count + 1
    assert (
        "not how much the skull is undetermined" in panel.samples.tooltip
    )  # the layer's measured meaning
    panel.samples.value = 1
    panel.run()
    _wait(qtbot, panel)
    assert "skull uncertainty" not in viewer.layers and len(viewer.layers) > before
    # the threshold re-cuts the result without a new run; a level the untrained
    # model's output crosses gives a surface to export
    prob = panel.result.probability
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(
        prob, 0.5
    )  # the surface is cut from the lightly smoothed volume
    level = float(np.clip(np.floor((smooth.max() - 0.005) * 20) / 20, 0.05, 0.95))
    assert smooth.min() < level < smooth.max()
    panel.threshold.value = level
    assert panel.result.threshold == pytest.approx(level, abs=1e-4)
    assert np.array_equal(
        viewer.layers["reconstructed skull"].data, (prob > panel.result.threshold).astype(np.uint8)
    )
    assert panel.result.surface is not None and "reconstructed surface" in viewer.layers
    # export
    panel.nifti_path.value = str(tmp_path / "recon.nii.gz")
    vol = read_nifti(panel.export_volume())
    assert np.allclose(vol.data, prob, atol=1e-6) and vol.spacing_mm == (8.0, 8.0, 8.0)
    for suffix in (".stl", ".obj", ".ply"):
        panel.mesh_path.value = str(tmp_path / f"surface{suffix}")
        verts, faces = read_mesh(panel.export_surface())
        assert len(faces) == len(panel.result.surface[1])
        from scipy.spatial import cKDTree

        ours = panel.result.surface[0]
        assert (
            cKDTree(ours).query(verts)[0].max() < 1e-3
            and cKDTree(verts).query(ours)[0].max() < 1e-3
        )  # same points (STL repeats shared ones)


def test_cancel_stops_and_leaves_no_layers(viewer, qtbot, tiny_weights):
    panel = _panel(viewer, qtbot, tiny_weights)
    before = [layer.name for layer in viewer.layers]
    panel.samples.value = 64
    panel.run()
    panel.stop()
    _wait(qtbot, panel)
    assert [layer.name for layer in viewer.layers] == before
    assert panel.run_button.enabled and panel.result is None


def test_bad_view_is_a_notification_and_nothing_changes(viewer, qtbot, tiny_weights, notes):
    panel = _panel(viewer, qtbot, tiny_weights)
    viewer.add_image(np.full((64, 64), np.nan, np.float32), name="broken frame")
    panel.views.pick["axial"].value = "broken frame"
    before = [layer.name for layer in viewer.layers]
    assert panel.run() is None
    assert any("NaN" in n for n in notes)
    assert [layer.name for layer in viewer.layers] == before and panel.run_button.enabled


def test_plane_picker_moves_snaps_and_extracts(viewer, qtbot):
    viewer.open_sample(PLUGIN, "fetal_head")
    _, picker = viewer.window.add_plugin_dock_widget(PLUGIN, "Plane picker")
    assert picker.volume.value == "head labels"
    picker.show_planes()
    plane = viewer.layers["axial plane"]
    start = np.array(plane.plane.position)
    picker.view.value = "axial"
    picker.offset.value = 10.0
    moved = np.array(plane.plane.position) * 2.0
    assert np.linalg.norm(moved - start * 2.0) == pytest.approx(10.0, abs=0.01)
    picker.tilt_a.value = 15.0
    assert np.degrees(np.arccos(abs(np.dot(plane.plane.normal, (1, 0, 0))))) == pytest.approx(
        15.0, abs=0.1
    )
    # dragging the plane in the canvas moves the slider
    plane.plane.position = tuple(
        np.array(plane.plane.position) + np.array(plane.plane.normal) * 2.5
    )
    assert picker.offset.value == pytest.approx(15.0, abs=0.01)
    picker.snap_to_standard()
    assert picker.offset.value == 0.0 and picker.tilt_a.value == 0.0
    assert np.allclose(plane.plane.position, start)
    picker.offset.value = 4.0
    layer = picker.extract_view()
    pose = Pose.from_dict(layer.metadata["pose"])
    assert (
        layer.name == "axial" and view_image(layer).shape == (128, 128) and layer.data.max() > 0.5
    )
    assert np.allclose(layer.data_to_world(view_index(layer, 10, 20)), pose.points(10, 20))
    assert np.allclose(pose.origin, picker.pose("axial").origin)


def test_plane_picker_on_an_image_volume(viewer):
    from napari_genmed.core.sim.phantom import make_phantom

    vol = make_phantom(30.0, 2).skull.astype(np.float32) * 100.0
    viewer.add_image(vol, name="mri-like", scale=(2.0, 2.0, 2.0))
    _, picker = viewer.window.add_plugin_dock_widget(PLUGIN, "Plane picker")
    picker.volume.value = "mri-like"
    picker.view.value = "coronal"
    layer = picker.extract_view()
    assert (
        layer.name == "coronal"
        and layer.data.min() >= 0.0
        and layer.data.max() <= 1.0
        and layer.data.max() > 0.5
    )


def test_same_seed_same_layers(viewer, qtbot, tiny_weights):
    panel = _panel(viewer, qtbot, tiny_weights)
    panel.samples.value, panel.seed.value = 4, 9
    results = []
    for _ in range(2):
        panel.run()
        _wait(qtbot, panel)
        results.append(
            (
                np.array(viewer.layers["skull probability"].data),
                np.array(viewer.layers["skull uncertainty"].data),
            )
        )
    assert all(np.array_equal(a, b) for a, b in zip(*results))


def test_closing_the_viewer_while_jobs_run_leaves_no_thread(
    make_napari_viewer, qtbot, tiny_weights
):
    from qtpy.QtCore import QThreadPool

    viewer = make_napari_viewer(show=True)
    panel = _panel(viewer, qtbot, tiny_weights)
    _, latent = viewer.window.add_plugin_dock_widget(PLUGIN, "Latent explorer")
    latent = getattr(latent, "__wrapped__", latent)
    qtbot.waitUntil(
        lambda: latent.loop is not None, timeout=60_000
    )  # the explorer's decoding worker runs
    panel.samples.value = 64
    panel.run()
    assert panel.worker is not None
    viewer.close()
    pool = QThreadPool.globalInstance()
    qtbot.waitUntil(lambda: pool.activeThreadCount() == 0, timeout=20_000)
