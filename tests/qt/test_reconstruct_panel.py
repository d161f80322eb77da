"""The clinician's workflow in a real napari viewer, with a tiny trained-shape model."""

from pathlib import Path

import numpy as np
import pytest

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


def test_nothing_is_assigned_until_the_user_chooses(viewer, qtbot, tiny_weights):
    """The sample's planes are in the viewer, but every slot and the ground truth stay
    "(none)" until the user picks; "Assign by name" is the one shortcut, on request."""
    panel = _panel(viewer, qtbot, tiny_weights, assign=False)
    assert {k: c.value for k, c in panel.views.pick.items()} == dict.fromkeys(
        panel.views.pick, "(none)"
    )
    assert panel.truth.value == "(none)" and panel.state.truth is None
    assert panel.run() is None  # no views: nothing to reconstruct from
    panel.views.assign_by_name()
    assert {k: c.value for k, c in panel.views.pick.items()} == {
        "axial": "axial",
        "sagittal": "sagittal",
        "coronal": "coronal",
    }
    assert panel.state.views == {"axial": "axial", "sagittal": "sagittal", "coronal": "coronal"}
    assert panel.views.spacing["axial"].value == pytest.approx(1.0)
    assert panel.truth.value == "(none)"  # the truth is never picked by a shortcut


def test_a_users_own_file_is_not_mixed_with_the_sample(viewer, qtbot, tiny_weights):
    """The bug a user hit: with the sample open, their own frame as axial and the
    other slots "(none)", the first Reconstruct refilled the empty slots with the
    sample's planes and the second fused them into the patient's reconstruction; and
    the ground truth defaulted to the sample's skull (Dice against another head)."""
    import pydicom

    from napari_genmed.core.io.dicom import read_dicom

    panel = _panel(viewer, qtbot, tiny_weights, assign=False)
    frame = read_dicom(
        Path(pydicom.__file__).parent / "data" / "test_files" / "examples_palette.dcm"
    )
    viewer.add_image(
        frame.data,
        name="patient frame",
        metadata={"pixel_spacing_mm": list(frame.pixel_spacing_mm)},
    )
    panel.views.pick["axial"].value = "patient frame"
    assert panel.state.views == {"axial": "patient frame", "sagittal": None, "coronal": None}
    for _ in range(2):
        assert panel.run() is not None
        _wait(qtbot, panel)
        assert panel.result.views_used == ("axial",)
        assert panel.state.views == {"axial": "patient frame", "sagittal": None, "coronal": None}
        assert [c.value for c in panel.views.pick.values()] == ["patient frame", "(none)", "(none)"]
    assert panel.truth.value == "(none)" and "dice" not in panel.result.measurements
    assert "vs truth" not in panel.readout.value


def test_a_removed_layer_leaves_its_slot_empty(viewer, qtbot, tiny_weights):
    panel = _panel(viewer, qtbot, tiny_weights)
    viewer.layers.remove("sagittal")
    assert panel.state.views["sagittal"] is None and panel.views.pick["sagittal"].value == "(none)"
    viewer.layers.remove("skull")
    assert panel.state.truth is None and panel.truth.value == "(none)"
    assert panel.views.views().keys() == {"axial", "coronal"}


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
    # the spread colours the surface: no layer is added (nor later removed)
    assert len(viewer.layers) == count and panel.result.uncertainty is not None
    assert (
        "not how much the skull is undetermined" in panel.samples.tooltip
    )  # the surface colours' measured meaning
    panel.samples.value = 1
    panel.run()
    _wait(qtbot, panel)
    assert panel.result.uncertainty is None and len(viewer.layers) > before
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
    # the readout says what it describes; another threshold visibly changes the surface
    assert (
        "reconstructed surface</b> (orange) and <b>reconstructed skull</b> at threshold "
        f"{level:.2f}" in panel.readout.value
    )
    verts = np.array(viewer.layers["reconstructed surface"].data[0])
    panel.threshold.value = max(0.05, level - 0.1)
    assert f"at threshold {max(0.05, level - 0.1):.2f}" in panel.readout.value
    changed = np.array(viewer.layers["reconstructed surface"].data[0])
    assert changed.shape != verts.shape or not np.allclose(changed, verts)
    panel.threshold.value = level
    # export
    panel.export.nifti_path.value = str(tmp_path / "recon.nii.gz")
    vol = read_nifti(panel.export.export_volume())
    assert np.allclose(vol.data, prob, atol=1e-6) and vol.spacing_mm == (8.0, 8.0, 8.0)
    for suffix in (".stl", ".obj", ".ply"):
        panel.export.mesh_path.value = str(tmp_path / f"surface{suffix}")
        verts, faces = read_mesh(panel.export.export_surface())
        assert len(faces) == len(panel.result.surface[1])
        from scipy.spatial import cKDTree

        ours = panel.result.surface[0]
        assert (
            cKDTree(ours).query(verts)[0].max() < 1e-3
            and cKDTree(verts).query(ours)[0].max() < 1e-3
        )  # same points (STL repeats shared ones)


def test_export_never_overwrites_and_names_the_folder(
    viewer, qtbot, tiny_weights, tmp_path, notes, monkeypatch
):
    from napari_genmed._qt.export_box import default_folder

    monkeypatch.setenv("HOME", str(tmp_path))  # a bare name goes home without an opened file
    panel = _panel(viewer, qtbot, tiny_weights)
    assert default_folder(viewer) == tmp_path  # the sample is no file
    panel.run()
    _wait(qtbot, panel)
    mine = tmp_path / "skull_reconstruction.nii.gz"
    mine.write_bytes(b"the user's own file")
    first = panel.export.export_volume()  # the default bare name
    assert first == tmp_path / "skull_reconstruction (2).nii.gz" and first.exists()
    assert mine.read_bytes() == b"the user's own file"
    assert any(str(first) in n and "exists and was kept" in n for n in notes)
    again = panel.export.export_volume()  # its own file: written again, in place
    assert again == first and not (tmp_path / "skull_reconstruction (3).nii.gz").exists()


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
                panel.result.uncertainty,
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
        lambda: latent.decoder.loop is not None, timeout=60_000
    )  # the explorer's decoding worker runs
    panel.samples.value = 64
    panel.run()
    assert panel.worker is not None
    viewer.close()
    pool = QThreadPool.globalInstance()
    qtbot.waitUntil(lambda: pool.activeThreadCount() == 0, timeout=20_000)


def test_a_result_never_replaces_a_layer_the_user_opened(viewer, qtbot, tiny_weights):
    panel = _panel(viewer, qtbot, tiny_weights)
    mine = viewer.add_labels(np.ones((4, 4, 4), np.uint8), name="reconstructed skull")
    verts = np.array([[0.0, 0, 0], [0, 1, 0], [0, 0, 1]])
    theirs = viewer.add_surface((verts, np.array([[0, 1, 2]])), name="reconstructed surface")
    panel.threshold.value = 0.95  # the untrained model has no surface there: none to show
    for _ in range(2):
        panel.run()
        _wait(qtbot, panel)
    assert panel.result.surface is None
    assert viewer.layers["reconstructed skull"] is mine and mine.data.all()
    assert viewer.layers["reconstructed surface"] is theirs  # not removed as the stale one
    result = viewer.layers["reconstructed skull (2)"]
    assert result.data.shape == (16, 16, 16) and result.metadata["genmed_made_by"]
    assert "reconstructed skull" in panel.truth.choices  # the user's labels can be a truth
    assert "reconstructed skull (2)" not in panel.truth.choices  # the product's cannot
    assert len([n for n in viewer.layers if n.name.startswith("reconstructed skull")]) == 2


def test_reconstruct_waits_for_a_model_and_says_so(viewer, qtbot, tiny_weights):
    from napari_genmed._qt.model_box import FROM_FILE

    _, panel = viewer.window.add_plugin_dock_widget(PLUGIN, "Skull reconstruction")
    panel = getattr(panel, "__wrapped__", panel)
    assert not panel.run_button.enabled and "load a model first" in panel.run_button.tooltip
    panel.models.choice.value = FROM_FILE
    panel.models.file.value = str(tiny_weights)
    panel.models.start_loading()
    _wait(qtbot, panel.models)
    assert panel.run_button.enabled and "reconstruct the skull" in panel.run_button.tooltip


def test_every_panel_sees_the_result_layers_still_in_flight(viewer, qtbot, tiny_weights):
    """napari hands each panel its own proxy of the viewer: a result one panel queued
    is "not settled" for every other panel until its layers are all added."""
    from napari_genmed._qt.results import settled, show_reconstruction
    from napari_genmed.layer_data import RESULT_LAYERS

    panel = _panel(viewer, qtbot, tiny_weights)
    _, other = viewer.window.add_plugin_dock_widget(PLUGIN, "Plane picker")
    other = getattr(other, "__wrapped__", other)
    assert other.viewer is not panel.viewer  # two proxies of one viewer
    panel.run()
    _wait(qtbot, panel)
    for name in RESULT_LAYERS:
        if name in viewer.layers:
            viewer.layers.remove(name)
    assert show_reconstruction(panel.viewer, panel.result)  # queued, nothing added yet
    assert not settled(other.viewer) and not settled(viewer)
    qtbot.waitUntil(lambda: settled(other.viewer), timeout=30_000)
    assert {"skull probability", "reconstructed skull"} <= {layer.name for layer in viewer.layers}


def test_the_event_loop_runs_between_two_result_layer_adds(viewer, qtbot, tiny_weights):
    """Each result layer added is a freeze of about 100 ms; the GUI must get a turn
    (its timers, input and paints) between two adds instead of one long freeze."""
    from qtpy.QtCore import QTimer

    from napari_genmed._qt.results import settled, show_reconstruction
    from napari_genmed.layer_data import RESULT_LAYERS

    panel = _panel(viewer, qtbot, tiny_weights)
    panel.run()
    _wait(qtbot, panel)
    for name in RESULT_LAYERS:
        if name in viewer.layers:
            viewer.layers.remove(name)
    events = []
    viewer.layers.events.inserted.connect(lambda e: events.append("add"))
    ticker = QTimer()
    ticker.setInterval(1)
    ticker.timeout.connect(lambda: events.append("tick"))
    ticker.start()
    assert show_reconstruction(panel.viewer, panel.result)
    qtbot.waitUntil(lambda: settled(viewer), timeout=30_000)
    ticker.stop()
    adds = [i for i, e in enumerate(events) if e == "add"]
    assert len(adds) >= 2
    assert all("tick" in events[a:b] for a, b in zip(adds, adds[1:], strict=False)), events


def test_progress_shows_the_newest_step_at_most_once_per_interval(viewer, qtbot, tiny_weights):
    """Each value the bar shows is a synchronous repaint of the window; a burst of
    progress signals (queued while the GUI was busy) shows its first step at once and
    then only the newest, one interval later, and a step after a quiet interval at once."""
    from napari_genmed._qt.jobs import PROGRESS_INTERVAL_MS
    from napari_genmed.core.progress import Progress

    panel = _panel(viewer, qtbot, tiny_weights)
    shown = []
    panel.progress.changed.connect(shown.append)
    panel.worker = object()  # a job running, as far as the bar is concerned
    try:
        for step in range(1, 41):
            panel._on_progress(Progress(step, 50, f"sample {step}"))
        assert shown == [1]
        qtbot.wait(3 * PROGRESS_INTERVAL_MS)
        assert shown == [1, 40] and panel.progress.tooltip == "sample 40"
        panel._on_progress(Progress(45, 50))
        assert shown == [1, 40, 45]
    finally:
        panel.worker = None
        qtbot.wait(2 * PROGRESS_INTERVAL_MS)  # the pending tick finds no job and stops
