"""The latent explorer in a real napari viewer, with tiny weights."""

import json

import numpy as np

from .helpers import PLUGIN, reconstruction_panel, wait_job


def explorer(viewer, qtbot, weights, reconstruct=True, assign=True):
    recon = reconstruction_panel(viewer, qtbot, weights, assign=assign)
    if reconstruct:
        recon.run()
        wait_job(qtbot, recon)
    _, panel = viewer.window.add_plugin_dock_widget(PLUGIN, "Latent explorer")
    panel = getattr(panel, "__wrapped__", panel)
    qtbot.waitUntil(lambda: panel.latent is not None, timeout=60_000)
    qtbot.waitUntil(lambda: panel.idle, timeout=30_000)
    return recon, panel


def settle(qtbot, panel):
    qtbot.waitUntil(lambda: panel.idle, timeout=30_000)


def test_sliders_follow_the_ranking_and_groups(viewer, qtbot, tiny_weights):
    recon, panel = explorer(viewer, qtbot, tiny_weights)
    state = panel.latent
    assert state.model is recon.models.model and state.condition_on_views
    assert set(panel.sliders.sliders) == set(range(state.dims)) == set(range(6))
    assert set(panel.sliders.headers) == {
        "level 1 (axial)",
        "level 2 (sagittal)",
        "level 3 (coronal)",
    }
    panel.sliders.top_k.value = 2
    shown = {d for d, s in panel.sliders.sliders.items() if s.visible}
    assert shown == set(state.directions.order[:2])
    panel.sliders.show_all.value = True
    assert all(s.visible for s in panel.sliders.sliders.values())
    assert (
        "hirec-cvae" in panel.info.value
        and "conditioned on axial, sagittal, coronal" in panel.info.value
    )


def test_a_slider_updates_the_layers_in_place(viewer, qtbot, tiny_weights):
    recon, panel = explorer(viewer, qtbot, tiny_weights)
    assert (
        panel.decoder.decodes == 0 and panel.readout.value == recon.readout.value
    )  # the reconstruction stays on screen
    names = [layer.name for layer in viewer.layers]
    before = np.array(viewer.layers["skull probability"].data)
    top = panel.latent.directions.order[0]
    panel.sliders.sliders[top].value = 2.5
    settle(qtbot, panel)
    after = np.array(viewer.layers["skull probability"].data)
    assert not np.array_equal(after, before)
    assert np.array_equal(after, panel.latent.decode())  # the same latent, bit-identical volume
    # one layer more, the difference overlay: added (1) and removed (2) voxels
    assert [layer.name for layer in viewer.layers] == [*names, "latent change"]
    ref, now = before > recon.threshold.value, after > recon.threshold.value
    change = viewer.layers["latent change"].data
    assert np.array_equal(change == 1, now & ~ref) and np.array_equal(change == 2, ref & ~now)
    panel.sliders.sliders[top].value = -2.5
    settle(qtbot, panel)
    assert [layer.name for layer in viewer.layers] == [*names, "latent change"]  # in place
    assert np.array_equal(
        viewer.layers["reconstructed skull"].data,
        (panel.latent.decode() > recon.threshold.value).astype(np.uint8),
    )
    assert panel.readout.value.startswith(recon.readout.value) and recon.readout.value != ""
    assert "vs the point estimate: +" in panel.readout.value
    # the sliders say what they change, and the panel how much the views leave open
    label = panel.sliders.sliders[top].label
    assert label.endswith(f"z{top}") and label.split()[0] in ("BPD", "OFD", "HC", "shape")
    assert "with three views" in panel.sliders.sliders[top].tooltip
    assert "three views leave little open" in panel.info.value


def test_a_burst_of_moves_ends_in_the_last_state(viewer, qtbot, tiny_weights):
    recon, panel = explorer(viewer, qtbot, tiny_weights)
    decodes = panel.decoder.decodes
    dims = panel.latent.directions.order
    rng = np.random.default_rng(0)
    for k in range(50):
        panel.sliders.sliders[dims[k % len(dims)]].value = float(np.round(rng.uniform(-3, 3), 2))
    settle(qtbot, panel)
    assert 1 <= panel.decoder.decodes - decodes < 50
    assert np.array_equal(viewer.layers["skull probability"].data, panel.latent.decode())
    assert np.allclose(
        panel.latent.values(),
        [panel.sliders.sliders[d].value for d in range(panel.latent.dims)],
        atol=1e-5,
    )


def test_buttons_reset_sample_interpolate_save_load(viewer, qtbot, tiny_weights, tmp_path, notes):
    recon, panel = explorer(viewer, qtbot, tiny_weights)
    point = np.array(viewer.layers["skull probability"].data)
    panel.seed.value = 11
    panel.random.changed.emit(True)
    settle(qtbot, panel)
    sampled = panel.latent.z.copy()
    assert panel.latent.seed == 11 and "seed 11" in panel.status.value
    assert not np.array_equal(viewer.layers["skull probability"].data, point)
    panel.set_a.changed.emit(True)
    panel.reset.changed.emit(True)
    settle(qtbot, panel)
    assert np.array_equal(
        viewer.layers["skull probability"].data, point
    )  # back to the point estimate
    assert all(s.value == 0 for s in panel.sliders.sliders.values())
    panel.set_b.changed.emit(True)
    assert panel.t.enabled
    panel.t.value = 0.0
    panel.t.value = 1.0
    panel.t.value = 0.25
    settle(qtbot, panel)
    assert np.allclose(panel.latent.z, 0.75 * sampled + 0.25 * panel.latent.b, atol=1e-6)
    # save, move on, load back
    panel.path.value = str(tmp_path / "z.json")
    saved_path = panel.save()
    saved = json.loads(saved_path.read_text())
    assert saved["model"] == "hirec-cvae" and len(saved["z"]) == 6
    volume = np.array(viewer.layers["skull probability"].data)
    panel.reset.changed.emit(True)
    settle(qtbot, panel)
    panel.load()
    settle(qtbot, panel)
    assert np.array_equal(viewer.layers["skull probability"].data, volume)
    # a bad file is a notification; nothing changes
    (tmp_path / "bad.json").write_text(
        json.dumps({"format": "napari-genmed latent", "z": [1.0, 2.0]})
    )
    panel.path.value = str(tmp_path / "bad.json")
    z = panel.latent.z.copy()
    panel.load()
    assert any("6 dimensions" in n for n in notes) and np.array_equal(panel.latent.z, z)


def test_unconditional_prior_and_a_new_reconstruction(viewer, qtbot, tiny_weights):
    recon, panel = explorer(viewer, qtbot, tiny_weights)
    point = np.array(viewer.layers["skull probability"].data)
    panel.on_views.value = False
    settle(qtbot, panel)
    assert not panel.latent.condition_on_views and "unconditional prior" in panel.info.value
    assert not np.array_equal(viewer.layers["skull probability"].data, point)
    recon.run()  # a new reconstruction: the explorer returns to its point estimate
    wait_job(qtbot, recon)
    assert panel.latent.condition_on_views and panel.on_views.value
    assert np.array_equal(panel.latent.decode(), viewer.layers["skull probability"].data)


def test_before_a_reconstruction_it_explores_the_assigned_views(viewer, qtbot, tiny_weights):
    recon, panel = explorer(viewer, qtbot, tiny_weights, reconstruct=False)
    assert set(panel.latent.views) == {"axial", "sagittal", "coronal"}
    assert panel.latent.condition_on_views and "conditioned on axial" in panel.info.value


def test_without_views_it_explores_the_prior(viewer, qtbot, tiny_weights):
    recon, panel = explorer(viewer, qtbot, tiny_weights, reconstruct=False, assign=False)
    assert panel.latent.views is None and not panel.on_views.enabled
    assert (
        "skull probability" not in viewer.layers and panel.decoder.decodes == 0
    )  # nothing decoded before a move
    panel.sliders.sliders[panel.latent.directions.order[0]].value = 1.0
    settle(qtbot, panel)
    assert np.array_equal(viewer.layers["skull probability"].data, panel.latent.decode())


def test_opening_the_explorer_first_docks_the_reconstruction_panel(viewer, qtbot):
    _, panel = viewer.window.add_plugin_dock_widget(PLUGIN, "Latent explorer")
    panel = getattr(panel, "__wrapped__", panel)
    assert panel.latent is None and "Load a model" in panel.info.value
    assert sum("Skull reconstruction" in name for name in viewer.window.dock_widgets) == 1
    assert not panel.reset.enabled
    panel.reset.changed.emit(True)  # nothing to do, nothing breaks
    assert panel.save() is None


def test_latent_density_refuses_a_flow_of_another_model(viewer, qtbot, tiny_weights, notes):
    recon, panel = explorer(viewer, qtbot, tiny_weights)
    assert panel.density.dim_x.value == panel.latent.directions.order[0]
    assert panel.density.compute() is None and any("Latent density" in n for n in notes)
    assert (
        "latent density" not in viewer.layers
        and "current latent" not in viewer.layers
        and not panel.density.shown
    )


def test_the_latent_map_place_and_clicks_on_it():
    """World <-> latent values on the map, and where a 3D view ray meets the map."""
    from napari_genmed._qt.latent_density import GRID, MapPlace, click_on_plane
    from napari_genmed.core.tasks.latent import SLIDER_RANGE

    place = MapPlace((10.0, 150.0), 128.0)
    for u in [(0.0, 0.0), (1.5, -2.0), (SLIDER_RANGE, -SLIDER_RANGE), (-2.9, 2.9)]:
        assert np.allclose(place.to_values(*place.to_world(*u)), u)
    assert place.to_world(SLIDER_RANGE, -SLIDER_RANGE) == (
        10.0,
        150.0,
    )  # top left: row dimension high
    assert (
        place.to_values(5.0, 200.0) is None and place.to_values(50.0, 100.0) is None
    )  # off the map
    assert np.isclose(place.translate[0], 10.0 + 128.0 / GRID / 2)  # pixel centres
    assert click_on_plane((40.0, 7.0, 9.0), None, (1, 2)) == (7.0, 9.0)  # 2D: the cursor
    ray = np.array([-0.6, 0.48, 0.64])  # 3D: a ray through (0, 20, 30)
    start = np.array([0.0, 20.0, 30.0]) - 50.0 * ray
    assert np.allclose(click_on_plane(start, ray, (0, 1, 2)), (20.0, 30.0))
    assert click_on_plane(start, (0.0, 0.6, 0.8), (0, 1, 2)) is None  # along the plane: no hit
