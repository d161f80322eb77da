import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_genmed.core.sim.geometry import Pose, jitter_pose, rotation_matrix, standard_pose

unit = st.tuples(*[st.floats(-1, 1) for _ in range(3)]).filter(lambda v: np.linalg.norm(v) > 0.2)


@settings(max_examples=200, deadline=None)
@given(
    origin=st.tuples(*[st.floats(-200, 200) for _ in range(3)]),
    row=unit,
    col=unit,
    spacing=st.floats(0.1, 4.0),
    r=st.floats(0, 127),
    c=st.floats(0, 127),
)
def test_pixels_map_into_the_volume_and_back(origin, row, col, spacing, r, c):
    if np.linalg.norm(np.cross(row, col)) < 0.2 * np.linalg.norm(row) * np.linalg.norm(col):
        return  # nearly parallel axes do not span a plane
    pose = Pose(origin, row, col, spacing)
    p = pose.points(r, c)
    back = pose.to_pixels(p)
    assert np.allclose(back, [r, c, 0.0], atol=1e-6)
    # the napari affine agrees with the pose
    assert np.allclose((pose.affine() @ np.array([0.0, r, c, 1.0]))[:3], p, atol=1e-6)
    assert np.isclose(np.linalg.norm(pose.normal), 1.0)


def test_pose_round_trips_through_json():
    pose = jitter_pose(standard_pose("coronal", (64, 64, 64)), np.random.default_rng(0))
    assert Pose.from_dict(pose.to_dict()) == pose


def test_rotation_is_orthonormal():
    m = rotation_matrix((1, 2, 3), 0.7)
    assert np.allclose(m @ m.T, np.eye(3)) and np.isclose(np.linalg.det(m), 1.0)


def test_standard_planes_follow_the_conventions():
    ax, sag, cor = (standard_pose(v, (0, 0, 0)) for v in ("axial", "sagittal", "coronal"))
    assert np.allclose(np.abs(ax.normal), (1, 0, 0))  # axial: normal along z
    assert np.allclose(np.abs(sag.normal), (0, 0, 1))  # sagittal: normal along x
    assert np.allclose(np.abs(cor.normal), (0, 1, 0))  # coronal: normal along y
