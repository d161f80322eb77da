import re
from pathlib import Path

import numpy as np
import pytest

from napari_genmed import api

ROOT = Path(__file__).resolve().parents[1]


def test_readme_snippet_runs_as_written():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["axial"].image.shape == (128, 128)
    assert scope["clean"].pose == scope["axial"].pose
    assert set(scope["mask_views"]) == {"axial"}
    assert (
        scope["rec"].probability.shape == (64, 64, 64) and scope["variants"].uncertainty is not None
    )
    assert scope["moved"].shape == scope["prior_skull"].shape == (64, 64, 64)
    assert not np.array_equal(scope["moved"], scope["rec"].probability)


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
