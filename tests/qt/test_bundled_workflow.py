"""Integration: the demo's workflow with the bundled weights, end to end."""

import json

import numpy as np
import pytest

from napari_genmed.core.io.bundled import NAMES
from napari_genmed.core.metrics.structure import hf_energy

from .helpers import canvas_pixel, click_world, raise_dock, scroll_to, shoot, wait_job


def _wait(qtbot, owner, timeout=180_000):
    wait_job(qtbot, owner, timeout)  # the job and the result layers it queued


def test_demo_one_click_reconstruction(viewer, qtbot, artifacts):
    """make demo's first minute: sample, panels, model loading; one click; the skull
    with the three slices through it, biometry and Dice. Also measures the longest
    GUI event-loop stall while the reconstruction runs."""
    from napari_genmed.demo import PANELS, open_demo

    viewer.window._qt_window.resize(1600, 1000)
    widgets = open_demo(viewer)
    for panel in PANELS:
        assert any(panel in key for key in viewer.window._dock_widgets)
    panel = widgets["Skull reconstruction"]
    _wait(qtbot, panel.models)
    assert panel.models.model is not None and panel.models.model.kind == "hirec-cvae"

    from napari_genmed.dev.stall import reconstruction_stall

    stall = reconstruction_stall(
        panel, samples=64
    )  # long enough to watch the event loop (about a second)
    (artifacts / "gui_stall.json").write_text(json.dumps(stall))
    assert stall["ticks"] > 5
    assert stall["max_ms"] < 1500, (
        stall
    )  # a regression guard only: the 50 ms target is measured by `genmed bench` (README)
    # the spread over samples colours the surface (with a colour bar)
    surface = viewer.layers["reconstructed surface"]
    assert surface.colorbar.visible and "skull uncertainty" not in viewer.layers
    values = surface.data[2]
    spread = panel.result.spread_mm  # mm the surface moves between the samples
    assert values.max() > values.min() and values.max() <= float(spread.max()) + 1e-6
    assert surface.contrast_limits[1] >= 0.5  # a fixed floor: a still surface reads dark
    assert "colours: how far the surface moves between the samples (std, mm)" in (
        panel.readout.value
    )
    # not the voxel grid: the raw std read at the vertices shows it, the spread does not
    from napari_genmed.core.metrics.surface_spread import at_vertices, edge_position_share

    verts, r = surface.data[0], panel.result
    raw = at_vertices(r.uncertainty, verts, r.spacing_mm)
    assert edge_position_share(raw, verts, r.spacing_mm) > 0.3
    assert edge_position_share(values, verts, r.spacing_mm) < 0.1
    viewer.layers["head labels"].visible = False
    raise_dock(panel)
    shoot(viewer, qtbot, artifacts / "uncertainty_surface.png")

    panel.samples.value = 1
    panel.run()
    _wait(qtbot, panel)
    m = panel.result.measurements
    assert m["dice"] > 0.7, m  # a real reconstruction of the sample head
    assert abs(m["bpd_mm"] - 73.5) < 10 and "GA" in panel.readout.value
    assert not viewer.layers["reconstructed surface"].colorbar.visible  # orange again
    raise_dock(panel)
    shoot(viewer, qtbot, artifacts / "workflow_3d.png")
    qtbot.waitUntil(
        lambda: (
            getattr(widgets["Latent explorer"], "__wrapped__", widgets["Latent explorer"]).worker
            is None
        ),
        timeout=120_000,
    )


@pytest.mark.parametrize("name", NAMES)
def test_bundled_models_reconstruct_the_sample(name):
    from pathlib import Path

    from napari_genmed import api
    from napari_genmed.core.data.sample import read_views, sample_scan
    from napari_genmed.core.metrics.overlap import overlap

    model = api.load_model(name, device="cpu")
    views = read_views(Path(__file__).resolve().parents[2] / "sample_data" / "planes.json")
    truth = sample_scan().phantom.skull
    full = overlap(api.reconstruct(model, views).mask(), truth)["dice"]
    axial = overlap(api.reconstruct(model, {"axial": views["axial"]}).mask(), truth)["dice"]
    assert full > 0.75 and axial > 0.6, (full, axial)
    again = api.reconstruct(model, views, n_samples=3, seed=1)
    assert np.array_equal(
        again.probability, api.reconstruct(model, views, n_samples=3, seed=1).probability
    )  # deterministic


def test_latent_explorer_beside_the_skull(viewer, qtbot, artifacts):
    """The demo, one reconstruction, then the latent explorer: the top direction
    under the unconditional prior reshapes the skull and the biometry follows."""

    from napari_genmed.demo import open_demo

    viewer.window._qt_window.resize(1600, 1000)
    widgets = open_demo(viewer)
    recon = widgets["Skull reconstruction"]
    _wait(qtbot, recon.models)
    recon.run()
    _wait(qtbot, recon)
    latent = getattr(widgets["Latent explorer"], "__wrapped__", widgets["Latent explorer"])
    qtbot.waitUntil(lambda: latent.latent is not None and latent.idle, timeout=180_000)
    assert latent.latent.model is recon.models.model and len(latent.sliders.sliders) == 32
    before = np.array(viewer.layers["skull probability"].data)
    readout_before = latent.readout.value
    latent.on_views.value = False
    top = latent.latent.directions.order[0]
    latent.sliders.sliders[top].value = 2.5
    qtbot.waitUntil(lambda: latent.idle, timeout=60_000)
    after = np.array(viewer.layers["skull probability"].data)
    assert np.sum((after > 0.5) != (before > 0.5)) > 500
    assert (
        latent.readout.value
        and latent.readout.value.startswith(recon.readout.value)
        and recon.readout.value != readout_before
    )  # the readout followed (and the explorer adds what changed against the point estimate)
    # the latent flow's density over the two top dimensions, as layers beside the
    # skull; a click on the map (3D display, oblique camera) moves the latent
    density = latent.density
    logp = density.compute()
    assert logp is not None and np.isfinite(logp).all() and logp.shape == (64, 64)
    image, point = viewer.layers["latent density"], viewer.layers["current latent"]
    assert np.array_equal(image.data, logp) and len(point.data) == 1
    skull_right = viewer.layers["skull probability"].extent.world[1][-1]
    assert image.extent.world[0][-1] > skull_right  # beside the skull, not over it
    centre = (0.0, *density.place.to_world(0.0, 0.0))  # and where the 3D camera sees it
    px = canvas_pixel(viewer, centre)
    size = viewer.window._qt_viewer.canvas.size
    assert 0 <= px[0] <= size[1] and 0 <= px[1] <= size[0], (px, size)
    i, j = density.dims
    u = latent.latent.values()
    assert np.allclose(point.data[0], density.place.to_world(u[i], u[j]))
    viewer.scene.camera.angles = (10.0, -25.0, 80.0)
    qtbot.wait(50)
    click_world(viewer, (0.0, *density.place.to_world(1.5, -1.0)))
    assert latent.latent.values()[i] == pytest.approx(1.5, abs=0.02) and latent.latent.values()[
        j
    ] == pytest.approx(-1.0, abs=0.02)
    assert latent.sliders.sliders[i].value == pytest.approx(1.5, abs=0.05)
    assert np.allclose(
        point.data[0], density.place.to_world(1.5, -1.0), atol=0.5
    )  # the point followed
    qtbot.waitUntil(
        lambda: latent.idle and density.worker is None and not density.timer.isActive(),
        timeout=60_000,
    )
    assert np.allclose(
        image.data, logp, atol=1e-4
    )  # the map's own dimensions moved: the same slice
    k = next(d for d in latent.latent.directions.order if d not in (i, j))
    latent.sliders.sliders[k].value = -2.0  # another dimension: the map follows, in a worker
    qtbot.waitUntil(
        lambda: latent.idle and density.worker is None and not density.timer.isActive(),
        timeout=60_000,
    )
    assert not np.allclose(image.data, logp, atol=1e-2)
    before = latent.latent.values().copy()
    click_world(viewer, (0.0, 0.0, skull_right / 2))  # on the skull, not the map: nothing moves
    assert np.array_equal(latent.latent.values(), before)
    point.data = np.asarray(
        [density.place.to_world(-0.5, 2.0)]
    )  # dragging the point (select mode) lands here
    assert latent.latent.values()[i] == pytest.approx(-0.5, abs=1e-3) and latent.latent.values()[
        j
    ] == pytest.approx(2.0, abs=1e-3)
    qtbot.waitUntil(
        lambda: latent.idle and density.worker is None and not density.timer.isActive(),
        timeout=60_000,
    )
    assert "log q(z)" in density.caption.value and f"z{i} = -0.50" in density.caption.value
    latent.on_views.value = (
        True  # the screenshot: conditioned on the sample's views again, the map beside the skull
    )
    latent.reset.native.click()
    qtbot.waitUntil(
        lambda: latent.idle and density.worker is None and not density.timer.isActive(),
        timeout=60_000,
    )
    assert "Dice" in latent.readout.value and np.allclose(latent.latent.values(), 0.0)
    viewer.scene.camera.angles = (0.0, 0.0, 90.0)
    viewer.reset_view()
    raise_dock(latent)
    viewer.layers["head labels"].visible = False
    shoot(viewer, qtbot, artifacts / "latent_explorer.png")


def test_missing_coronal_from_the_sample(viewer, qtbot, artifacts):
    """The demo's Missing views panel with the bundled generators: the coronal plane
    from the sample's axial and sagittal slices, against the true plane; the default
    (the anatomy drawn by the simulator) sharper than the GAN's estimate."""

    from napari_genmed.demo import open_demo

    viewer.window._qt_window.resize(1600, 1000)
    widgets = open_demo(viewer)
    panel = getattr(widgets["Missing views"], "__wrapped__", widgets["Missing views"])
    _wait(qtbot, panel.models)
    assert panel.models.model is not None and panel.models.model.kind == "mental-map-anatomy"
    assert sorted(panel.observed.value) == ["axial", "sagittal"] and panel.query.value.startswith(
        "coronal"
    )
    panel.samples.value = 8
    panel.run()
    _wait(qtbot, panel)
    s = panel.result.scores
    assert s["ssim"] > 0.5 and s["ncc"] > 0.7, s
    assert "generated coronal" in viewer.layers and "generated coronal std" in viewer.layers
    raise_dock(panel)
    for name in ("head labels", "skull surface", "coronal"):
        viewer.layers[name].visible = False
    shoot(viewer, qtbot, artifacts / "missing_views.png")
    panel.texture.value = True  # one B-mode sample above the estimate
    panel.run()
    _wait(qtbot, panel)
    assert "generated coronal B-mode" in viewer.layers and "B-mode" in panel.titles.value
    shoot(viewer, qtbot, artifacts / "missing_views_texture.png")
    panel.samples.value, panel.texture.value = 1, False  # the point estimate alone
    panel.run()
    _wait(qtbot, panel)
    drawn, a = np.asarray(viewer.layers["generated coronal"].data).copy(), panel.result.scores
    assert a["ssim"] > 0.5 and a["ncc"] > 0.7, a
    anatomy = viewer.layers["generated coronal anatomy"]  # the labels it drew, hidden
    assert not anatomy.visible and {1, 2} <= set(np.unique(anatomy.data))  # skull and brain
    assert "the labels it drew" in panel.titles.value
    panel.texture.value = True  # the panel's own tiles: generated | truth | difference | ...
    panel.run()
    _wait(qtbot, panel)
    panel.preview.native.pixmap().save(str(artifacts / "missing_views_anatomy_preview.png"))
    scroll_to(panel.preview.native)  # the README's shot: the tiles in view in the panel
    shoot(viewer, qtbot, artifacts / "missing_views_anatomy_tiles.png")
    panel.models.choice.value = "Mental map (GAN)"  # the balanced GAN on the wide prior
    panel.models.start_loading()
    _wait(qtbot, panel.models)
    assert panel.models.model.kind == "mental-map-gan"
    panel.texture.value = False
    panel.run()
    _wait(qtbot, panel)
    gan, g = np.asarray(viewer.layers["generated coronal"].data), panel.result.scores
    assert g["ssim"] > 0.5 and g["ncc"] > 0.7, g
    assert "generated coronal anatomy" not in viewer.layers  # the GAN draws no labels
    # the plane's anatomy drawn by the simulator: sharper than the GAN's grey levels
    assert hf_energy(drawn, drawn > 0.02) > 1.1 * hf_energy(gan, gan > 0.02)
    shoot(viewer, qtbot, artifacts / "missing_views_gan.png")
    panel.texture.value = True
    panel.run()
    _wait(qtbot, panel)
    tiles = panel.preview.native.pixmap()
    assert not tiles.isNull() and tiles.width() > 100 and "B-mode" in panel.titles.value
    tiles.save(str(artifacts / "missing_views_gan_preview.png"))
    scroll_to(panel.preview.native)
    shoot(viewer, qtbot, artifacts / "missing_views_gan_tiles.png")
    qtbot.waitUntil(
        lambda: (
            getattr(widgets["Latent explorer"], "__wrapped__", widgets["Latent explorer"]).worker
            is None
        ),
        timeout=120_000,
    )


def test_flow_density_over_a_generated_view(viewer, qtbot, artifacts):
    """QA: the bundled patch flow's density map over a generated missing view, and
    over the same view with a pasted noise square (flagged)."""

    from napari_genmed.demo import open_demo

    viewer.window._qt_window.resize(1600, 1000)
    widgets = open_demo(viewer)
    missing = getattr(widgets["Missing views"], "__wrapped__", widgets["Missing views"])
    density = getattr(widgets["Flow density"], "__wrapped__", widgets["Flow density"])
    for panel in (missing, density, widgets["Skull reconstruction"]):
        _wait(qtbot, panel.models)
    missing.run()
    _wait(qtbot, missing)
    assert density.target.value == "generated coronal"
    density.run()
    _wait(qtbot, density)
    clean = density.result.score.copy()
    assert clean.shape == (128, 128) and np.isfinite(clean).all()
    image = np.array(viewer.layers["axial"].data)
    from napari_genmed._qt.layers import view_image

    noisy = view_image(viewer.layers["axial"]).copy()
    noisy[50:74, 50:74] = np.random.default_rng(0).random((24, 24))
    viewer.add_image(noisy, name="axial with noise")
    density.target.value = "axial with noise"
    density.run()
    _wait(qtbot, density)
    flagged = density.result.score
    assert (
        flagged[54:70, 54:70].mean()
        > np.median(flagged[view_image(viewer.layers["axial"]) > 0.05]) + 1.0
    )
    viewer.layers.remove("axial with noise")
    viewer.layers.remove("axial with noise density")
    # a disc inpainted with a blur of its surroundings: likely under the bare NLL, red in
    # the corrected map (bare: 40% of it above the white point, measured)
    from napari_genmed.core.eval.density import corrupt

    smooth, disc = corrupt(view_image(viewer.layers["axial"]), "smooth", np.random.default_rng(0))
    viewer.add_image(smooth, name="axial, smoothed disc")
    density.target.value = "axial, smoothed disc"
    density.run()
    _wait(qtbot, density)
    assert "complexity-corrected" in density.legend_text.value  # the card's reference
    layer = viewer.layers["axial, smoothed disc density"]
    white = float(np.mean(layer.contrast_limits))  # the clean views' 95th percentile
    assert (density.result.score[disc] > white).mean() > 0.8
    viewer.reset_view()
    shoot(viewer, qtbot, artifacts / "flow_density_smoothed_disc.png")
    viewer.layers.remove("axial, smoothed disc")
    viewer.layers.remove("axial, smoothed disc density")
    assert image.shape == viewer.layers["axial"].data.shape
    raise_dock(density)
    for name in ("head labels", "skull surface", "coronal", "sagittal", "generated coronal"):
        viewer.layers[name].visible = False
    density.target.value = "axial"
    density.run()
    _wait(qtbot, density)
    viewer.scene.camera.angles = (0.0, 0.0, 90.0)  # face on to the axial plane
    viewer.reset_view()
    shoot(viewer, qtbot, artifacts / "flow_density.png")
    explorer = getattr(widgets["Latent explorer"], "__wrapped__", widgets["Latent explorer"])
    qtbot.waitUntil(
        lambda: explorer.worker is None and explorer.latent is not None, timeout=120_000
    )
    # the other target: the latent plane, through the Latent explorer
    from napari_genmed._qt.density_widget import LATENT_PLANE

    assert LATENT_PLANE in density.target.choices
    density.target.value = LATENT_PLANE
    summary = density.run()  # asked through the viewer state; the explorer answers there
    assert summary is not None and (summary.rows, summary.cols) == explorer.density.dims
    assert np.array_equal(viewer.layers["latent density"].data, explorer.density.logp)
    assert "current latent" in viewer.layers and "log q(z)" in density.readout.value
    assert f"{summary.log_q:.1f} nats" in density.readout.value
    assert density.target.value == LATENT_PLANE  # adding the layers kept the choice


def test_teaching_example_shows_the_banana(viewer, qtbot):
    """The Flow density panel's teaching example and the matching sample data."""
    viewer.open_sample("napari-genmed", "fetal_head")
    head_right = max(layer.extent.world[1][-1] for layer in viewer.layers)
    _, panel = viewer.window.add_plugin_dock_widget("napari-genmed", "Flow density")
    panel = getattr(panel, "__wrapped__", panel)
    images = panel.show_toy()
    names = ["toy flow: base N(0, I)", "toy flow: true banana", "toy flow: learnt by RealNVP"]
    assert all(name in viewer.layers for name in names) and viewer.dims.ndisplay == 2
    # beside the head, not over it, and titled
    assert min(viewer.layers[n].extent.world[0][-1] for n in names) > head_right
    titles = viewer.layers["toy flow: titles"]
    assert list(titles.features["title"]) == [n.removeprefix("toy flow: ") for n in names]
    true, learnt = images["true"], images["learnt"]
    assert np.abs(true - learnt).sum() / true.sum() < 0.15  # the learnt density is the banana
    count = len(viewer.layers)
    viewer.open_sample("napari-genmed", "toy_flow")
    assert len(viewer.layers) == count + 4  # the three densities and their titles


def test_frames_without_a_pose_are_placed_through_the_skull(viewer, qtbot, artifacts):
    """The sample's planes as bare 2D frames (an acquired frame has no pose): after a
    reconstruction each appears as "<slot> (placed)" near where it was taken, and the
    user's frames keep their data and place."""
    from napari_genmed._qt.layers import view_image
    from napari_genmed.core.nets.plane_pose import pose_error
    from napari_genmed.core.sim.geometry import VIEW_NAMES, Pose
    from napari_genmed.demo import open_demo

    from .helpers import wait_job

    viewer.window._qt_window.resize(1600, 1000)
    panel = open_demo(viewer)["Skull reconstruction"]
    _wait(qtbot, panel.models)
    truth = {}
    for slot in VIEW_NAMES:
        layer = viewer.layers[slot]
        truth[slot] = Pose.from_dict(layer.metadata["pose"])
        frame = view_image(layer)  # the posed plane's image as a bare frame
        mine = viewer.add_image(frame.copy(), name=f"{slot} frame", scale=(1.0, 1.0))
        panel.views.pick[slot].value = mine.name
    panel.run()
    wait_job(qtbot, panel, 180_000)
    for slot in VIEW_NAMES:
        placed = viewer.layers[f"{slot} (placed)"]
        mm, deg = pose_error(Pose.from_dict(placed.metadata["pose"]), truth[slot])
        assert mm < 6 and deg < 10, (slot, mm, deg)
        mine = viewer.layers[f"{slot} frame"]
        assert np.allclose(mine.affine.affine_matrix, np.diag([1.0, 1.0, 1.0]))  # untouched
    assert "placed off the standard planes" in panel.readout.value
    for slot in VIEW_NAMES:  # the bare frames and the sample's posed planes out of the way
        viewer.layers[f"{slot} frame"].visible = viewer.layers[slot].visible = False
    raise_dock(panel)
    shoot(viewer, qtbot, artifacts / "placed_frames.png")
    panel.views.pick["axial"].value = "axial"  # a posed view needs no placing
    panel.run()
    wait_job(qtbot, panel, 180_000)
    assert "axial (placed)" not in viewer.layers and "sagittal (placed)" in viewer.layers
