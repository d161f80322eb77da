"""The section-fit experiment bends a skull towards the sections it is given."""

import numpy as np
import pytest
import torch

from napari_genmed.dev.section_fit import fit, plane_points


def _shell(radius: float, n: int = 32) -> np.ndarray:
    """A soft skull: a model's probability is never exactly 0 or 1."""
    r = np.linalg.norm(np.indices((n,) * 3) - (n - 1) / 2, axis=0)
    return np.exp(-0.5 * ((r - radius) / 1.2) ** 2).astype(np.float32)


def _central_planes(n: int = 32) -> torch.Tensor:
    c = (n - 1) / 2
    axes = [((0, 1, 0), (0, 0, 1)), ((1, 0, 0), (0, 1, 0)), ((1, 0, 0), (0, 0, 1))]
    return torch.tensor([[c, c, c, *r, *k, 1.0] for r, k in axes], dtype=torch.float32)


def _sections(volume: np.ndarray, poses: torch.Tensor) -> torch.Tensor:
    g = plane_points(poses, 32, 32, volume.shape, 1.0).reshape(1, 1, 3 * 32, 32, 3)
    vol = torch.as_tensor(volume)[None, None]
    return torch.nn.functional.grid_sample(vol, g, align_corners=True).reshape(3, 32, 32)


def _dice(a, b) -> float:
    a, b = np.asarray(a) > 0.5, np.asarray(b) > 0.5
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def test_plane_points_sample_the_plane_they_name():
    shell, poses = _shell(10.0), _central_planes()
    sections = _sections(shell, poses)
    # the axial (z) plane through the centre is the volume's middle slice, rows y, cols x
    np.testing.assert_allclose(sections[0].numpy(), 0.5 * (shell[15] + shell[16]), atol=1e-5)
    assert sections[1].numpy() == pytest.approx(0.5 * (shell[:, :, 15] + shell[:, :, 16]), abs=1e-5)


def test_fit_bends_a_small_skull_towards_larger_sections():
    small, large, poses = _shell(9.0), _shell(11.0), _central_planes()
    target = _sections(large, poses).clamp(0, 1)
    bent = fit(torch.as_tensor(small), target, poses, 32, 1.0, grid=4, smoothness=0.1, steps=150)
    assert bent.shape == small.shape
    before, after = _dice(small, large), _dice(bent.numpy(), large)
    assert after > before + 0.2, (before, after)
