"""The latent explorer's sliders: one per latent dimension, in units of the prior's
sigma around the point estimate, the most effective first.

The top K are shown (all on request), grouped under headers when the latent has
parts (HiREC-CVAE's levels). The box emits ``moved(dim, value)`` when the user moves
a slider; :meth:`LatentSliders.show_values` puts values on them without emitting.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, Container, FloatSlider, Label, SpinBox
from psygnal import Signal
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QScrollArea

from ..core.tasks.latent import SLIDER_RANGE
from .docks import compact

MOVES_BIOMETRY_MM = 0.5  #: a slider named after a biometry moves it at least this much


def slider_label(directions, dim: int) -> str:
    """``"HC z14"``: the biometry the dimension moves most with the three views (at
    least :data:`MOVES_BIOMETRY_MM` from -2 to +2 sigma), else ``"shape z14"`` (it
    changes the skull without moving BPD, OFD or HC)."""
    most = directions.moves_most(dim)
    what = most[0] if most is not None and most[1] >= MOVES_BIOMETRY_MM else "shape"
    return f"{what} z{dim}"


def slider_tip(directions, dim: int, rank: int) -> str:
    """What the slider changes, measured (the ranking's numbers)."""
    parts = [f"rank {rank + 1}: moves {directions.effect[dim]:.0f} voxels of skull"]
    if directions.effect_views:
        parts = [
            f"rank {rank + 1}: moves {directions.effect_views[dim]:.0f} voxels of skull with "
            f"three views, {directions.effect_prior[dim]:.0f} under the prior (no views)"
        ]
    if dim < len(directions.biometry) and np.isfinite(directions.biometry[dim]).any():
        bpd, ofd, hc = directions.biometry[dim]
        parts.append(f"with three views BPD {bpd:.1f}, OFD {ofd:.1f}, HC {hc:.1f} mm")
    return "; ".join(parts) + " (for -2 to +2 sigma)"


class LatentSliders(Container):
    moved = Signal(int, float)  #: (dimension, value in sigma)

    def __init__(self):
        super().__init__(labels=False)
        self.sliders: dict[int, FloatSlider] = {}
        self.headers: dict[str, Label] = {}
        self.directions = None
        self.top_k = SpinBox(
            value=8,
            min=1,
            max=512,
            label="top K",
            tooltip="sliders shown: the K dimensions that move the skull most",
        )
        self.show_all = CheckBox(
            value=False, text="all dimensions", tooltip="a slider for every latent dimension"
        )
        self.box = Container(labels=True)
        self.extend(
            [
                Container(
                    widgets=[Label(value="top K"), self.top_k], layout="horizontal", labels=False
                ),
                self.show_all,
            ]
        )
        scroll = QScrollArea()  # magicgui's `scrollable` loses its scroll area when nested
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.box.native)
        scroll.setMinimumHeight(300)
        self.native.layout().addWidget(scroll)
        self.top_k.changed.connect(lambda _: self.filter())
        self.show_all.changed.connect(lambda _: self.filter())

    def build(self, directions, dims: int) -> None:
        """One slider per dimension of ``directions`` (a ``LatentDirections``)."""
        self.box.clear()
        self.sliders, self.headers, self.directions = {}, {}, directions
        rank = {dim: k for k, dim in enumerate(directions.order)}
        for name, group in directions.groups:
            if len(directions.groups) > 1:
                self.headers[name] = Label(value=f"<b>{name}</b>", label="")
                self.headers[name].native.setAlignment(
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
                )
                self.box.append(self.headers[name])
            for dim in sorted(group, key=rank.get):
                slider = FloatSlider(
                    value=0.0,
                    min=-SLIDER_RANGE,
                    max=SLIDER_RANGE,
                    step=0.05,
                    label=slider_label(directions, dim),
                    tooltip=slider_tip(directions, dim, rank[dim]),
                )
                slider.changed.connect(lambda v, dim=dim: self.moved.emit(dim, float(v)))
                self.sliders[dim] = slider
                self.box.append(slider)
        self.top_k.max = max(1, dims)
        compact(self.box.native)  # new sliders, as narrow as the rest of the panel
        self.filter()

    def filter(self) -> None:
        """Show the top K sliders (or all), and the headers of the groups they are in."""
        if self.directions is None:
            return
        order = self.directions.order
        shown = set(order if self.show_all.value else order[: int(self.top_k.value)])
        for dim, slider in self.sliders.items():
            slider.visible = dim in shown
        for name, group in self.directions.groups:
            if name in self.headers:
                self.headers[name].visible = bool(shown & set(group))

    def show_values(self, values: np.ndarray) -> None:
        """Put ``values`` (sigma) on the sliders without emitting ``moved``."""
        values = np.clip(values, -SLIDER_RANGE, SLIDER_RANGE)
        for dim, slider in self.sliders.items():
            with slider.changed.blocked():
                slider.value = float(values[dim])
