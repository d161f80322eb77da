import numpy as np
import pytest

from napari_genmed import api


def test_phantom_object():
    head = api.make_phantom(30.0, 2)
    assert head.labels.dtype == np.uint8 and head.skull.dtype == bool
    assert head.spacing_mm == 2.0 and head.biometry.ga_weeks == 30.0
    assert {"bpd_mm", "ofd_mm", "hc_mm", "ga_weeks"} <= set(head.biometry.to_dict())


@pytest.mark.parametrize(
    "volume, kwargs, message",
    [
        (np.zeros((64, 64)), {}, "3D"),
        (np.full((8, 8, 8), np.nan), {}, "NaN"),
        (np.full((8, 8, 8), 0.5), {}, "fractional"),
        (np.zeros((8, 8, 8), complex), {}, "dtype"),
        (np.zeros((8, 8, 8), np.uint8), {"spacing_mm": 0.0}, "spacing"),
        (np.zeros((8, 8, 8), np.uint8), {"spacing_mm": float("nan")}, "spacing"),
        (np.zeros((8, 8, 8), np.uint8), {"views": ("axial", "transverse")}, "unknown view"),
        (np.zeros((8, 8, 8), np.uint8), {"seed": -1}, "seed"),
    ],
)
def test_simulate_views_refuses_bad_input(volume, kwargs, message):
    with pytest.raises(ValueError, match=message):
        api.simulate_views(volume, **kwargs)


def test_simulate_view_refuses_a_bad_pose():
    with pytest.raises(ValueError, match="pose"):
        api.simulate_view(np.zeros((8, 8, 8), np.uint8), "axial")
    with pytest.raises(ValueError):
        api.Pose((0, 0, 0), (1, 0, 0), (1, 0, 0))  # parallel axes span no plane
    with pytest.raises(ValueError):
        api.make_phantom(float("nan"), 0)


def test_place_views_puts_each_view_near_where_it_was_taken():
    from napari_genmed import api
    from napari_genmed.core.nets.plane_pose import pose_error

    ph = api.make_phantom(27.0, 11)
    views = api.simulate_views(ph, seed=5)
    model = api.load_model("hirec-cvae", "cpu")
    result = api.reconstruct(model, views)
    placed = api.place_views(result, {k: (v.image, 1.0) for k, v in views.items()})
    errors = [pose_error(placed[k].pose, v.pose) for k, v in views.items()]
    assert np.median([mm for mm, _ in errors]) < 4.0 and max(deg for _, deg in errors) < 12
    with pytest.raises(ValueError, match="reconstruction"):
        api.place_views("not a result", views)
    with pytest.raises(ValueError, match="plane pose net"):
        api.place_views(result, views, net=model)
