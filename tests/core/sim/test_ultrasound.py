import numpy as np
import pytest

from napari_genmed.core.sim import labels as L
from napari_genmed.core.sim.geometry import VIEW_NAMES, Pose, angle_between_deg, standard_pose
from napari_genmed.core.sim.medium import Medium
from napari_genmed.core.sim.ultrasound import simulate_view, simulate_views


@pytest.fixture(scope="module")
def views(phantom28):
    return simulate_views(phantom28.labels, 2.0, seed=11)


def test_shapes_ranges_and_fan(views):
    assert set(views) == set(VIEW_NAMES)
    for v in views.values():
        assert v.image.shape == (128, 128) and v.image.dtype == np.float32
        assert v.image.min() >= 0.0 and v.image.max() <= 1.0
        assert v.image[:20, :6].max() == 0.0 and v.image[:20, -6:].max() == 0.0  # outside the fan
        assert v.image[40:110, 30:100].mean() > 0.05  # the head is seen
        assert v.pose.spacing_mm == 1.0 and v.pose.shape == (128, 128)


def test_deterministic_for_a_seed(phantom28, views):
    again = simulate_views(phantom28.labels, 2.0, seed=11)
    other = simulate_views(phantom28.labels, 2.0, seed=12)
    for name in VIEW_NAMES:
        assert np.array_equal(views[name].image, again[name].image)
        assert views[name].pose == again[name].pose
        assert not np.array_equal(views[name].image, other[name].image)


def test_expected_image_is_the_speckle_free_rendering(phantom28, views):
    v = views["axial"]
    clean = simulate_view(phantom28.labels, v.pose, seed=v.seed, speckle=False)
    assert clean.pose == v.pose

    def roughness(img):
        return np.abs(np.diff(img[30:110, 30:100], axis=1)).mean()

    assert roughness(clean.image) < 0.75 * roughness(v.image)
    # the speckled image scatters around the expected one
    inside = clean.image > 0.2
    assert np.corrcoef(clean.image[inside], v.image[inside])[0, 1] > 0.5


def test_poses_are_jittered_within_limits(phantom28, views):
    centre = Medium(phantom28.labels, 2.0).standard_centre()
    plain = simulate_views(phantom28.labels, 2.0, seed=11, jitter=False)
    for name in VIEW_NAMES:
        std = standard_pose(name, centre)
        assert plain[name].pose == std
        j = views[name].pose
        assert angle_between_deg(j.normal, std.normal) <= 10.0 + 1e-6
        assert np.linalg.norm(np.subtract(j.origin, std.origin)) <= 5.0 + 1e-6
        assert j != std


def test_skull_is_bright_and_casts_a_shadow():
    """A bone slab in uniform brain: darker behind the slab than in front of it."""
    lab = np.full((64, 64, 64), L.BRAIN, np.uint8)
    lab[:, :, 30:32] = L.BONE  # x = 60..62 mm
    pose = Pose(origin=(64.0, 64.0, 64.0), row_axis=(0, 0, 1), col_axis=(0, 1, 0))
    img = simulate_view(lab, pose, seed=0, speckle=False).image
    no_bone = simulate_view(np.full_like(lab, L.BRAIN), pose, seed=0, speckle=False).image
    slab_row = int(np.argmax(img[:, 64]))
    assert 54 <= slab_row <= 66 and img[slab_row, 64] > 0.8  # the bone echo is bright
    before, after = (
        img[slab_row - 18 : slab_row - 6, 50:78].mean(),
        img[slab_row + 6 : slab_row + 18, 50:78].mean(),
    )
    assert after < before - 0.1
    assert after < no_bone[slab_row + 6 : slab_row + 18, 50:78].mean() - 0.1


def test_shadow_behind_the_real_skull(phantom28):
    pose = standard_pose("axial", Medium(phantom28.labels).standard_centre())
    with_bone = simulate_view(phantom28.labels, pose, speckle=False).image
    softened = np.where(phantom28.labels == L.BONE, L.BRAIN, phantom28.labels).astype(np.uint8)
    without = simulate_view(softened, pose, speckle=False).image
    pts = pose.points()
    idx = np.round(pts / 2.0).astype(int).clip(0, 63)
    lab = phantom28.labels[idx[..., 0], idx[..., 1], idx[..., 2]]
    col = 64
    bone_rows = np.flatnonzero(lab[:, col] == L.BONE)
    near_end = bone_rows[np.flatnonzero(np.diff(bone_rows) > 1)[0]]  # last row of the near wall
    behind = slice(near_end + 3, near_end + 15)
    assert (
        with_bone[behind, col - 8 : col + 8].mean()
        < without[behind, col - 8 : col + 8].mean() - 0.05
    )
    # and the skull itself is the brightest structure
    assert with_bone[lab == L.BONE].mean() > with_bone[lab == L.BRAIN].mean() + 0.2


def test_boolean_mask_input(phantom28):
    out = simulate_views(phantom28.skull, 2.0, seed=1, views=("axial",))
    assert out["axial"].image.shape == (128, 128) and out["axial"].image.max() > 0.5


def test_unknown_view_is_refused(phantom28):
    with pytest.raises(ValueError, match="unknown view"):
        simulate_views(phantom28.labels, views=("transverse",))
