"""Posed views drawn flat in 3D: the same picture as napari's ray-cast slab, at the
same place, and back to a volume when a layer stops being a plane."""

import numpy as np
import pytest

from napari_genmed._qt.plane_visuals import draw_planes_flat, flat_to_voxels, plane_axis


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_the_flat_image_lands_on_the_slab_s_voxel_centres(axis):
    shape = [5, 7, 9]
    shape[axis] = 1
    rows, cols = (k for k in range(3) if k != axis)
    m = flat_to_voxels(axis)
    for i, j in [(0, 0), (3, 4), (shape[rows] - 1, shape[cols] - 1)]:
        u, v = j + 0.5, i + 0.5  # the centre of the flat image's pixel (i, j)
        x, y, z, w = np.array([u, v, 0.0, 1.0]) @ m
        index = [z, y, x]  # vispy's (x, y, z) is numpy's (a2, a1, a0)
        expected = [0.0, 0.0, 0.0]
        expected[rows], expected[cols] = i, j
        assert w == 1 and np.allclose(index, expected)
    assert plane_axis(tuple(shape)) == axis and plane_axis((1, 1, 4)) is None


def _render(viewer):
    return viewer.window._qt_viewer.canvas._scene_canvas.render()[..., :3].astype(int)


def test_the_sample_s_planes_look_the_same_drawn_flat(viewer, qtbot, artifacts):
    from napari_genmed._qt.plane_visuals import _HOOKED

    viewer.window._qt_window.resize(1200, 800)
    viewer.open_sample("napari-genmed", "fetal_head")  # turns to 3D: planes drawn flat
    visuals = viewer.window._qt_viewer.canvas.layer_to_visual
    views = [viewer.layers[n] for n in ("axial", "sagittal", "coronal")]
    assert viewer.dims.ndisplay == 3 and viewer in _HOOKED
    assert {type(visuals[v].node).__name__ for v in views} == {"PlaneNode"}
    viewer.camera.angles = (150.0, -30.0, 30.0)
    qtbot.wait(200)
    flat = _render(viewer)
    for v in views:  # napari's own volume, for the comparison
        visuals[v]._layer_node._custom_node = None
        visuals[v]._on_display_change()
        visuals[v]._on_data_change()
        assert type(visuals[v].node).__name__ == "Volume"
    qtbot.wait(200)
    volume = _render(viewer)
    from imageio.v3 import imwrite

    imwrite(
        artifacts / "planes_flat_vs_volume.png", np.concatenate([flat, volume], 1).astype(np.uint8)
    )
    lit = volume.max(-1) > 30
    assert lit.mean() > 0.05  # the planes are on screen
    diff = np.abs(flat - volume).max(-1)
    assert diff.mean() < 8 and (diff > 60).mean() < 0.03  # the same picture, edges aside
    # a plane that changes: contrast follows, and data that is no plane goes back to a volume
    draw_planes_flat(viewer)  # once per viewer: a second call changes nothing
    layer = views[0]
    layer.data = np.ones((1, 32, 32), np.float32)  # still a plane: drawn flat again
    assert type(visuals[layer].node).__name__ == "PlaneNode"
    layer.contrast_limits = (0.1, 0.9)
    assert tuple(visuals[layer].node.clim) == pytest.approx((0.1, 0.9))
    layer.data = np.ones((4, 32, 32), np.float32)
    assert type(visuals[layer].node).__name__ == "Volume"


def test_a_map_over_its_view_shows_on_top_in_layer_order(viewer, qtbot):
    """A map on a view's plane (same pose, added after it) is drawn over the view, not
    hidden by it at the same depth, and the view shows through it."""
    viewer.window._qt_window.resize(1000, 700)
    viewer.open_sample("napari-genmed", "fetal_head")
    axial = viewer.layers["axial"]
    for name in ("sagittal", "coronal"):
        viewer.layers[name].visible = False
    viewer.camera.angles = (150.0, -30.0, 30.0)
    qtbot.wait(200)
    alone = _render(viewer)
    lit = alone.max(-1) > 60  # the view's bright pixels
    assert lit.mean() > 0.01
    viewer.add_image(
        np.ones_like(axial.data),
        name="map",
        affine=axial.affine.affine_matrix,
        colormap="red",
        opacity=0.6,
        blending="translucent",
        contrast_limits=(0, 1),
    )
    visuals = viewer.window._qt_viewer.canvas.layer_to_visual
    assert type(visuals[viewer.layers["map"]].node).__name__ == "PlaneNode"
    assert visuals[viewer.layers["map"]].node.order > visuals[axial].node.order
    qtbot.wait(200)
    over = _render(viewer)
    redder = (over[..., 0] - over[..., 1]) - (alone[..., 0] - alone[..., 1])
    assert np.median(redder[lit]) > 60  # the map covers the bright view
    assert np.median(over[..., 1][lit]) > 10  # and the view shows through it
