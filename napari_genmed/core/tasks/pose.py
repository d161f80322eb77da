"""Where the acquired views lie in the reconstructed head.

Each view's slot names the standard plane it is meant to be. Its *nominal* pose is
that plane through the reconstruction's standard centre (:func:`skull_centre`: the
height of the widest axial cross-section of the skull's inside and the middle of its
extent across, as :func:`~..sim.geometry.standard_centre` defines it for a head);
the plane pose net (:mod:`~..nets.plane_pose`) reads from the image how far the
plane is off it. :func:`place_views` gives both, so the 3D view can show each frame
through the skull where it belongs.

The skull's inside per axial slice is the convex hull of that slice's skull voxels
(scipy's Qhull): a fetal vault is convex within its sutures, and an open skull base
or a suture gap does not empty it as hole filling would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sim.geometry import VIEW_NAMES, Pose, standard_pose

WIDEST = 0.995  #: slices this close to the widest one share the centre's height


def _hull_area(points: np.ndarray) -> float:
    from scipy.spatial import ConvexHull, QhullError

    if len(points) < 3:
        return 0.0
    try:
        return float(ConvexHull(points).volume)  # in 2D Qhull's "volume" is the area
    except QhullError:  # collinear: no area
        return 0.0


def skull_centre(probability: np.ndarray, spacing_mm: float, threshold: float = 0.5):
    """The standard centre (mm, z y x) of a reconstructed skull (see the module
    docstring); a ``ValueError`` when there is no skull at ``threshold``."""
    mask = np.asarray(probability) > threshold
    if not mask.any():
        raise ValueError(f"no skull above {threshold:g} in the reconstruction: nothing to place")
    area = np.array([_hull_area(np.argwhere(s)) for s in mask])
    z = np.flatnonzero(area >= area.max() * WIDEST).mean()
    ys, xs = np.flatnonzero(mask.any(axis=(0, 2))), np.flatnonzero(mask.any(axis=(0, 1)))
    return np.array([z, (ys[0] + ys[-1]) / 2, (xs[0] + xs[-1]) / 2]) * float(spacing_mm)


@dataclass(frozen=True)
class PlacedView:
    """Where one view lies: the net's pose and the nominal pose it started from."""

    name: str
    pose: Pose  #: the refined pose (of the prepared view: the model's size and pixel)
    nominal: Pose
    offset: tuple[float, ...]  #: shift (mm, row/col/normal) and rotation vector (rad)

    def for_image(self, shape, pixel_mm: float) -> Pose:
        """The refined pose for the view's own image: same centre and axes, the
        image's shape and pixel size (the prepared view is centred on the image)."""
        p = self.pose
        return Pose(p.origin, p.row_axis, p.col_axis, float(pixel_mm), tuple(shape), p.name)


def place_views(
    net, views: dict, probability: np.ndarray, spacing_mm: float, threshold: float = 0.5
) -> dict[str, PlacedView]:
    """Each of ``views`` (as :func:`~.reconstruct.reconstruct` takes them) placed in
    the reconstruction ``probability`` (on its grid of ``spacing_mm``)."""
    import torch

    from ..nets.plane_pose import offset_pose
    from .viewprep import prepare_views

    c = net.config
    images, mask = prepare_views(views, c.view_size, c.view_pixel_mm)
    centre = skull_centre(probability, spacing_mm, threshold)
    planes = [k for k in range(len(VIEW_NAMES)) if mask[k]]
    device = next(net.parameters()).device
    with torch.no_grad():
        x = torch.as_tensor(images[planes], device=device)
        offsets = net(x, torch.as_tensor(planes, device=device)).cpu().numpy() * net.scales()
    out = {}
    for k, offset in zip(planes, offsets):
        name = VIEW_NAMES[k]
        nominal = standard_pose(name, centre, (c.view_size,) * 2, c.view_pixel_mm)
        out[name] = PlacedView(name, offset_pose(nominal, offset), nominal, tuple(offset))
    return out


def subject_poses(arrays: dict, spacing_mm: float) -> tuple[list[Pose], list[Pose]]:
    """A dataset subject's (:class:`~..data.dataset.PhantomDataset` arrays) three
    views' true poses and their nominal poses: the standard planes through its head's
    standard centre (the pose net's training targets lie between the two)."""
    from ..sim import labels as L
    from ..sim.geometry import standard_centre

    centre = standard_centre(L.head_mask(arrays["labels"]), spacing_mm)
    true, nominal = [], []
    for name, v in zip(VIEW_NAMES, arrays["poses"]):
        shape, mm = tuple(arrays["views"].shape[1:]), float(v[9])
        true.append(Pose(tuple(v[:3]), tuple(v[3:6]), tuple(v[6:9]), mm, shape, name))
        nominal.append(standard_pose(name, centre, shape, mm))
    return true, nominal


def placing_job(job, net, views: dict, slots):
    """Run reconstruction ``job``, then place the views of ``slots`` in its result:
    returns ``(result, {view: PlacedView}, note)``, the note saying why a view was not
    placed: no skull to place it in, or a view the plane gate refuses (a heart echo
    through a skull would look right), unless the result carries the override."""
    result = yield from job
    refused = [s for s in slots if s in result.plausibility and result.plausibility[s].implausible]
    if result.override:
        refused = []
    chosen = {s: views[s] for s in slots if s in views and s not in refused}
    note = (
        f"{' and '.join(refused)}: not a fetal head plane (override to place anyway)"
        if refused
        else ""
    )
    if not chosen:
        return result, {}, note
    try:
        placed = place_views(net, chosen, result.probability, result.spacing_mm, result.threshold)
    except ValueError as exc:
        return result, {}, str(exc)
    return result, placed, note
