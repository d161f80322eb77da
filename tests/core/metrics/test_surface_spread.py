"""The surface spread: mm of level-set movement between samples, not the voxel grid."""

import numpy as np
import pytest

from napari_genmed.core.io.meshes import surface
from napari_genmed.core.metrics.surface_spread import at_vertices, edge_position_share, spread_mm

SPACING = 2.0


def _shells(shifts_mm, edge_mm, n=48, radius_mm=30.0, thickness_mm=4.0):
    """Soft spherical shells (outer radius ``radius + shift``) as a sample stack."""
    z, y, x = (np.indices((n,) * 3) - (n - 1) / 2) * SPACING
    r = np.sqrt(z * z + y * y + x * x)
    out = []
    for d in shifts_mm:
        outer = 1 / (1 + np.exp((r - radius_mm - d) / edge_mm))
        inner = 1 / (1 + np.exp((r - radius_mm + thickness_mm - d) / edge_mm))
        out.append(outer - inner)
    return np.stack(out).astype(np.float32)


@pytest.mark.parametrize("sigma_mm", [0.5, 1.0])  # first order: spreads under the shell
def test_spread_reads_how_far_a_resolved_surface_moves(sigma_mm):
    shifts = np.random.default_rng(0).normal(0, sigma_mm, 32)
    stack = _shells(shifts, edge_mm=1.5)
    p, s = stack.mean(0), stack.std(0)
    verts, _ = surface(p, SPACING, 0.5, smooth_sigma=0.5)
    outer = np.linalg.norm(verts - verts.mean(0), axis=1) > 28  # the outer face
    values = at_vertices(spread_mm(p, s, SPACING), verts, SPACING)[outer]
    assert 0.7 * shifts.std() < np.median(values) < 1.3 * shifts.std()


def test_sharp_edges_show_the_grid_in_the_raw_std_but_not_in_the_spread():
    shifts = np.random.default_rng(1).normal(0, 0.7, 32)
    stack = _shells(shifts, edge_mm=0.3)  # an edge far sharper than the 2 mm grid
    p, s = stack.mean(0), stack.std(0)
    verts, _ = surface(p, SPACING, 0.5, smooth_sigma=0.5)
    raw = edge_position_share(at_vertices(s, verts, SPACING), verts, SPACING)
    shown = edge_position_share(
        at_vertices(spread_mm(p, s, SPACING), verts, SPACING), verts, SPACING
    )
    assert raw > 0.2 and shown < 0.08, (raw, shown)


def test_a_grid_free_field_has_no_edge_share_and_shapes_are_checked():
    p = _shells([0.0], edge_mm=1.0)[0]
    verts, _ = surface(p, SPACING, 0.5, smooth_sigma=0.5)
    radial = np.linalg.norm(verts - verts.mean(0), axis=1)
    assert edge_position_share(radial, verts, SPACING) < 0.03
    with pytest.raises(ValueError, match="one 3D grid"):
        spread_mm(p, p[0], SPACING)
