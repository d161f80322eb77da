"""The Latent explorer's difference overlay and its account of what the views leave
open.

``latent change`` is a labels layer of the voxels the current latent adds to (1,
green) or removes from (2, magenta) the point estimate's skull at the threshold,
updated in place on every decode. :func:`left_open` words the ranking's measurements
(:class:`~napari_genmed.core.tasks.latent_ranking.LatentDirections`): what the top
slider moves with three views, with the axial view alone and under the prior.
"""

from __future__ import annotations

import numpy as np

from .latent_density import OWNER
from .layers import set_layer

CHANGE = "latent change"  #: the difference overlay's layer
CHANGE_COLORS = {None: (0, 0, 0, 0), 0: (0, 0, 0, 0), 1: (0.2, 0.9, 0.3, 1), 2: (0.95, 0.2, 0.8, 1)}


def left_open(s) -> str:
    """How much the views leave open, from the ranking: what the top slider moves with
    these views, with the axial view alone and under the prior (voxels, -2 to +2
    sigma)."""
    d = s.directions
    if not d.effect_views:
        return ""
    top = d.order[0]
    axial = dict(d.effect_axial).get(top)
    text = (
        f"The top slider moves about {d.effect_views[top]:.0f} voxels with three views"
        + (f", {axial:.0f} with the axial view alone" if axial is not None else "")
        + f" and {d.effect_prior[top]:.0f} under the prior"
    )
    if s.condition_on_views and s.views and len(s.views) == 3:
        text += ": three views leave little open, so little moves"
    return text + "."


def show_change(viewer, reference, result) -> str:
    """Show ``result``'s change against the point estimate's skull probability
    ``reference`` as the ``latent change`` layer; returns its readout line ("" when
    there is no reference of the same grid)."""
    if reference is None or reference.shape != result.probability.shape:
        return ""
    ref = reference > result.threshold
    now = result.probability > result.threshold
    change = np.zeros(now.shape, np.uint8)
    change[now & ~ref], change[ref & ~now] = 1, 2
    kwargs = {
        "name": CHANGE,
        "scale": (result.spacing_mm,) * 3,
        "colormap": CHANGE_COLORS,
        "opacity": 0.9,
        "blending": "translucent",
        "metadata": {"genmed_latent_change": True},
    }
    set_layer(viewer, change, kwargs, "labels", OWNER)
    added, removed = int((change == 1).sum()), int((change == 2).sum())
    return (
        f"vs the point estimate: +{added} voxels (green), -{removed} (magenta) of {int(ref.sum())}"
    )
