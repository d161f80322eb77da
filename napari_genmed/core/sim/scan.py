"""A simulated scan: one phantom head and its standard planes, as a job.

This is what the sample data, the phantom panel and the CLI produce: a
:class:`~.phantom.Phantom` and its three simulated views, each with its pose.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..progress import Job, Progress
from .geometry import VIEW_NAMES, scan_poses
from .medium import Medium
from .phantom import Phantom, make_phantom
from .ultrasound import View, simulate_view, view_seed


@dataclass
class Scan:
    phantom: Phantom
    views: dict[str, View]


def scan_job(
    ga_weeks: float,
    seed: int,
    grid=(64, 64, 64),
    spacing_mm: float = 2.0,
    views=VIEW_NAMES,
    jitter: bool = True,
) -> Job[Scan]:
    """Make a phantom and simulate its views (as :func:`~.ultrasound.simulate_views`
    does), yielding progress after each step."""
    total = 2 + len(views)
    yield Progress(0, total, "building the head")
    phantom = make_phantom(ga_weeks, seed, grid, spacing_mm)
    yield Progress(1, total, "acoustic properties")
    medium = Medium(phantom.labels, spacing_mm)
    poses = scan_poses(medium.standard_centre(), seed, views, jitter)
    out: dict[str, View] = {}
    for k, (name, pose) in enumerate(poses.items()):
        yield Progress(2 + k, total, f"simulating the {name} plane")
        out[name] = simulate_view(medium, pose, seed=view_seed(seed, name), name=name)
    yield Progress(total, total, "done")
    return Scan(phantom, out)
