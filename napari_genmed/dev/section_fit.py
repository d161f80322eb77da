"""Experiment: bend a reconstructed skull until its sections match what the views show.

A test-time fit, kept as a research tool (docs/research-log.md, session 28), not a
product step. A model's skull probability ``p`` on its grid is warped by a smooth
displacement ``u`` (a coarse ``grid``^3 lattice of 3D vectors, trilinearly
interpolated; its mean removed so that it bends and does not move the skull),
``p'(x) = p(x + u(x))``, so that on each view's plane the warped skull's section
matches a target section (the bone probability that the REC-CVAE's section readers see
in the view, or the true section):

    min_u  BCE(p'(plane points), target) + smoothness * (|D u|^2 + 0.1 |u|^2)

Only the planes' points are sampled while fitting (``p`` at ``x + u(x)``), so a step
costs a few milliseconds; the whole volume is warped once at the end. Where the planes
lie is the question: ``true`` (the poses the views were simulated at), ``placed`` (the
plane-pose net's poses in the reconstruction, what a real study has) or ``joint``
(placed, each view's shift and rotation refined with the displacement under a Gaussian
prior of 3 mm and 5 degrees). Scores: Dice as output, Dice after the best rigid
alignment, normalised surface Dice at 2 mm (``core/metrics/alignment.py``).

    python -m napari_genmed.dev.section_fit --family deformed --poses joint --n 12

Written here: no library fits a deformation to planar sections of a probability volume.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np


def plane_points(poses, view_px: int, side: int, grid_shape, spacing_mm: float):
    """Each pose's ``side`` x ``side`` sampling points, ``(V, side, side, 3)``: the
    sampling of :func:`~..core.nets.sections.true_sections`."""
    from ..core.nets.sections import plane_grid

    return plane_grid(poses, view_px, side, grid_shape, spacing_mm)


def rotate(w, v):
    """Rodrigues: vectors ``v`` (V, 3) rotated by the rotation vectors ``w`` (V, 3)."""
    import torch

    angle = w.norm(dim=1, keepdim=True).clamp(min=1e-8)
    k = w / angle
    return (
        v * torch.cos(angle)
        + torch.cross(k, v, dim=1) * torch.sin(angle)
        + k * (k * v).sum(1, keepdim=True) * (1 - torch.cos(angle))
    )


def fit(p, target, poses, view_px, spacing_mm, grid=6, smoothness=1.0, steps=300, joint=False):
    """The warped probability ``(D, H, W)`` of ``p`` (torch, ``(D, H, W)``) fitted to the
    ``target`` sections ``(V, s, s)`` on ``poses`` ``(V, 10)``."""
    import torch
    from torch import nn

    vol = p[None, None]
    v, side = target.shape[0], target.shape[-1]
    disp = torch.zeros(1, 3, grid, grid, grid, requires_grad=True)
    shift = torch.zeros(v, 3, requires_grad=True)
    turn = torch.zeros(v, 3, requires_grad=True)
    groups = [{"params": [disp], "lr": 0.01}]
    if joint:
        groups += [{"params": [shift], "lr": 0.1}, {"params": [turn], "lr": 0.005}]
    opt = torch.optim.Adam(groups)

    def field():
        return disp - disp.mean((2, 3, 4), keepdim=True)

    for _ in range(steps):
        moved = torch.cat(
            [poses[:, :3] + shift, rotate(turn, poses[:, 3:6]), rotate(turn, poses[:, 6:9])], 1
        )
        g = plane_points(torch.cat([moved, poses[:, 9:]], 1), view_px, side, p.shape, spacing_mm)
        g = g.reshape(1, 1, v * side, side, 3)
        u = nn.functional.grid_sample(field(), g, align_corners=True)[0, :, 0]
        s = nn.functional.grid_sample(vol, g + u.permute(1, 2, 0)[None, None], align_corners=True)
        s = s.reshape(v, side, side).clamp(1e-4, 1 - 1e-4)
        loss = nn.functional.binary_cross_entropy(s, target)
        loss = loss + 0.01 * (((shift / 3.0) ** 2).mean() + ((turn / 0.087) ** 2).mean())
        smooth = sum((disp.diff(dim=d) ** 2).mean() for d in (2, 3, 4))
        loss = loss + smoothness * (smooth + 0.1 * (field() ** 2).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        axes = [torch.linspace(-1, 1, n) for n in p.shape]
        base = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).flip(-1)[None]
        full = nn.functional.interpolate(
            field(), size=p.shape, mode="trilinear", align_corners=True
        )
        return nn.functional.grid_sample(
            vol, base + full.permute(0, 2, 3, 4, 1), align_corners=True
        )[0, 0]


def scores(p: np.ndarray, truth: np.ndarray, spacing_mm: float) -> tuple[float, float, float]:
    from ..core.metrics.alignment import aligned, normalised_surface_dice, rigid_alignment
    from ..core.metrics.overlap import overlap

    rotation, shift = rigid_alignment(p, truth)
    moved = aligned(p, rotation, shift) > 0.5
    return (
        overlap(p > 0.5, truth)["dice"],
        overlap(moved, truth)["dice"],
        normalised_surface_dice(moved, truth, spacing_mm),
    )


def main(argv=None) -> None:
    import torch

    from ..core.data.dataset import DatasetConfig, PhantomDataset
    from ..core.io.checkpoint import load_model
    from ..core.nets.sections import true_sections
    from ..core.sim.geometry import VIEW_NAMES
    from ..core.tasks.pose import place_views

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", default="deformed")
    ap.add_argument("--n", type=int, default=12, help="validation heads")
    ap.add_argument("--poses", choices=("true", "placed", "joint"), default="joint")
    ap.add_argument("--sections", choices=("read", "true"), default="read")
    ap.add_argument("--views", default="111", help="axial, sagittal, coronal present (1/0)")
    ap.add_argument("--grid", type=int, default=6)
    ap.add_argument("--smoothness", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--cache", help="dataset cache folder")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    data = replace(DatasetConfig(), families=(a.family,))
    heads = PhantomDataset("val", a.n, data, cache_dir=a.cache)
    model, pose_net = load_model("rec-cvae", "cpu"), load_model("plane-pose", "cpu")
    sp, present = data.spacing_mm, [k for k in range(3) if a.views[k] == "1"]
    rows = []
    for i in range(a.n):
        it = heads.arrays(i)
        views = torch.as_tensor(it["views"])[None]
        mask = torch.tensor([[a.views[k] == "1" for k in range(3)]])
        with torch.no_grad():
            p = model.reconstruct(views * mask[..., None, None], mask)[0][0, 0].float()
            read = model.sections.read(views)
        view_px, truth = views.shape[-1], it["labels"] == 1
        if a.sections == "true":
            labels, true_poses = torch.as_tensor(it["labels"])[None], torch.as_tensor(it["poses"])
            target = true_sections(labels, true_poses[None].float(), view_px, 64, sp)[0, :, 0]
        else:
            target = torch.stack([torch.sigmoid(logits[0, 0]) for logits, _ in read])
        target = target[present].clamp(0, 1)
        if a.poses == "true":
            poses = torch.as_tensor(it["poses"])[present].float()
        else:
            chosen = {VIEW_NAMES[k]: (it["views"][k], 1.0) for k in present}
            placed = place_views(pose_net, chosen, p.numpy(), sp)
            vectors = [placed[VIEW_NAMES[k]].pose.as_vector() for k in present]
            poses = torch.tensor(np.stack(vectors)).float()
        fitted = fit(
            p, target, poses, view_px, sp, a.grid, a.smoothness, a.steps, a.poses == "joint"
        )
        rows.append((scores(p.numpy(), truth, sp), scores(fitted.numpy(), truth, sp)))
        before, after = (" ".join(f"{x:.3f}" for x in r) for r in rows[-1])
        print(i, f"DC / aligned / NSD: {before} -> {after}")
    before, after = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    print(f"{a.family} ({a.n} heads, poses {a.poses}, sections {a.sections}, views {a.views}):")
    print("  before", before.mean(0).round(3), "after", after.mean(0).round(3))


if __name__ == "__main__":
    main()
