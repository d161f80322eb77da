"""The lifted architecture: views back-projected along their planes into the grid, a
decoder with skips from them; shapes, geometry, gradients, sampling, checkpoints."""

import numpy as np
import pytest
import torch

from napari_genmed.core.nets.lifting import lift
from napari_genmed.core.nets.registry import build_model
from napari_genmed.core.sim.geometry import standard_pose

from ..tiny import TINY_MODEL, assert_seeded_sampling_and_round_trip

LIFTED = {
    k: dict(
        TINY_MODEL[k],
        lifted=True,
        lift_channels=(4, 4, 8, 8),
        lift_skips=(4, 4, 8),
        dec_channels=(8, 8, 4, 4),
    )
    for k in ("rec-cvae", "hirec-cvae")
}


@pytest.mark.parametrize("view", ["axial", "sagittal", "coronal"])
def test_lifting_puts_a_pixel_where_its_plane_passes(view):
    """A feature at map cell (r, c) lands on the voxels whose centres the standard
    plane's pixel (r, c) lies over, spread along the plane's normal."""
    g, field_mm = 8, 128.0
    cell = field_mm / g
    pose = standard_pose(view, (field_mm / 2,) * 3, shape=(g, g), spacing_mm=cell)
    for r, c in ((0, 0), (2, 5), (7, 3)):
        f = torch.zeros(1, 1, g, g)
        f[0, 0, r, c] = 1.0
        hit = np.argwhere(lift(f, view)[0, 0].numpy() > 0)
        normal_axis = int(np.argmax(np.abs(pose.normal)))
        assert len(hit) == g and len(np.unique(hit[:, normal_axis])) == g  # a line along the normal
        in_plane = [a for a in range(3) if a != normal_axis]
        voxel = pose.points(r, c) / cell - 0.5  # the pixel's position in voxel indices
        assert np.allclose(hit[0, in_plane], voxel[in_plane], atol=0.51)


@pytest.mark.parametrize("kind", ["rec-cvae", "hirec-cvae"])
def test_lifted_models_shapes_gradients_sampling_and_checkpoints(kind, tmp_path):
    torch.manual_seed(0)
    model = build_model(kind, LIFTED[kind])
    views, mask = torch.rand(2, 3, 32, 32), torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    condition = model.encode_views(views, mask)
    assert [tuple(g.shape[2:]) for g in condition["grids"]] == [(2, 2, 2), (4, 4, 4), (8, 8, 8)]
    batch = {"skull": (torch.rand(2, 1, 16, 16, 16) > 0.8).float(), "views": views, "mask": mask}
    out = model.training_loss(batch)
    out["loss"].backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert torch.isfinite(out["loss"]) and all(
        g is not None for n, g in grads.items() if "conditioner" in n
    )
    assert any(
        float(g.abs().sum()) > 0 for n, g in grads.items() if "decoder.mixes" in n
    )  # the skips learn
    assert_seeded_sampling_and_round_trip(
        model, views, mask, tmp_path / "lifted.safetensors", "lifted"
    )


def test_a_missing_view_leaves_no_trace_in_the_grids():
    torch.manual_seed(0)
    model = build_model("rec-cvae", LIFTED["rec-cvae"]).eval()
    views = torch.rand(1, 3, 32, 32)
    other = views.clone()
    other[:, 2] = torch.rand(
        1, 32, 32
    )  # a different coronal image, but the coronal view is missing
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    with torch.no_grad():
        a, b = model.encode_views(views, mask), model.encode_views(other, mask)
    assert all(torch.equal(x, y) for x, y in zip(a["grids"], b["grids"]))


def test_lifted_configs_are_checked():
    with pytest.raises(ValueError, match="code_dim"):
        build_model("rec-cvae", dict(LIFTED["rec-cvae"], code_dim=8))
    with pytest.raises(ValueError, match="twice the grid"):
        build_model("rec-cvae", dict(LIFTED["rec-cvae"], view_size=64))
