"""The Plane picker in a real napari viewer: planes drawn, moved, snapped and
extracted (in a worker), on a label volume and on an image volume."""

import numpy as np
import pytest

from napari_genmed._qt.layers import view_image, view_index
from napari_genmed.core.sim.geometry import Pose

from .helpers import PLUGIN, shoot
from .helpers import wait_job as _wait


def test_plane_picker_moves_snaps_and_extracts(viewer, qtbot, artifacts):
    viewer.window._qt_window.resize(1600, 1000)
    viewer.open_sample(PLUGIN, "fetal_head")
    _, picker = viewer.window.add_plugin_dock_widget(PLUGIN, "Plane picker")
    assert picker.volume.value == "head labels"
    qtbot.waitUntil(lambda: "axial plane" in viewer.layers)  # drawn as the panel shows
    assert set(picker.state.planes) == {
        "axial",
        "sagittal",
        "coronal",
    }  # published for other panels
    for name in ("axial", "sagittal", "coronal", "head labels", "skull surface"):
        viewer.layers[name].visible = False
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.scene.camera.angles = (150.0, -30.0, 30.0)
    shoot(viewer, qtbot, artifacts / "plane_picker.png")
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
    acquired = viewer.layers["axial"]
    before = (np.array(acquired.data), dict(acquired.metadata["pose"]))
    before += (acquired.affine.affine_matrix,)
    assert picker.extract_view() is not None  # made in a worker
    _wait(qtbot, picker)
    layer = viewer.layers["axial (extracted)"]  # a new layer: the acquired one is untouched
    assert np.array_equal(acquired.data, before[0]) and acquired.metadata["pose"] == before[1]
    assert np.allclose(acquired.affine.affine_matrix, before[2])
    pose = Pose.from_dict(layer.metadata["pose"])
    assert view_image(layer).shape == (128, 128) and layer.data.max() > 0.5
    assert np.allclose(layer.data_to_world(view_index(layer, 10, 20)), pose.points(10, 20))
    assert np.allclose(pose.origin, picker.pose("axial").origin)
    # extracting again replaces the picker's own earlier extraction, no pile-up
    count = len(viewer.layers)
    picker.offset.value = -4.0
    picker.extract_view()
    _wait(qtbot, picker)
    assert len(viewer.layers) == count
    assert np.allclose(
        Pose.from_dict(viewer.layers["axial (extracted)"].metadata["pose"]).origin,
        picker.pose("axial").origin,
    )
    # a layer the user opened under the picker's names is never replaced nor removed
    user = viewer.add_image(np.zeros((8, 8), np.float32), name="coronal (extracted)")
    picker.view.value = "coronal"
    picker.extract_view()
    _wait(qtbot, picker)
    assert viewer.layers["coronal (extracted)"] is user and not user.data.any()
    assert view_image(viewer.layers["coronal (extracted) (2)"]).shape == (128, 128)
    viewer.layers.remove("sagittal plane")  # the user deletes the picker's plane layer
    viewer.add_image(np.ones((8, 8), np.float32), name="sagittal plane")  # and opens one
    picker.volume.value = "skull"  # a new volume: the picker's plane layers are made anew
    assert viewer.layers["sagittal plane"].data.shape == (8, 8)
    assert viewer.layers["sagittal plane (2)"].metadata["genmed_made_by"] == "plane picker"


def test_plane_picker_on_an_image_volume(viewer, qtbot):
    from napari_genmed.core.sim.phantom import make_phantom

    vol = make_phantom(30.0, 2).skull.astype(np.float32) * 100.0
    viewer.add_image(vol, name="mri-like", scale=(2.0, 2.0, 2.0))
    _, picker = viewer.window.add_plugin_dock_widget(PLUGIN, "Plane picker")
    picker.volume.value = "mri-like"
    picker.view.value = "coronal"
    picker.extract_view()
    _wait(qtbot, picker)
    layer = viewer.layers["coronal (extracted)"]
    assert layer.data.min() >= 0.0 and layer.data.max() <= 1.0 and layer.data.max() > 0.5


def test_the_planes_show_with_the_panel_in_front(viewer, qtbot):
    from .helpers import raise_dock

    viewer.open_sample(PLUGIN, "fetal_head")
    _, picker = viewer.window.add_plugin_dock_widget(PLUGIN, "Plane picker")
    qtbot.waitUntil(lambda: "axial plane" in viewer.layers)
    _, other = viewer.window.add_plugin_dock_widget(PLUGIN, "Fetal head phantom")
    qtbot.wait(50)  # it joins the tabs on the next turn of the event loop
    raise_dock(other)  # another tab in front: the picker's planes leave the scene
    qtbot.waitUntil(lambda: not viewer.layers["axial plane"].visible)
    raise_dock(picker)
    qtbot.waitUntil(lambda: viewer.layers["axial plane"].visible)
    assert all(viewer.layers[f"{v} plane"].visible for v in ("sagittal", "coronal"))
