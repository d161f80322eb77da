"""The views section: assign 2D Image layers to axial / sagittal / coronal, each
with its pixel spacing (read from the layer when it carries one)."""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox

from ..core.sim.geometry import VIEW_NAMES
from ..layer_data import layer_kind, view_image
from .jobs import layer_list_events, watch

NONE = "(none)"


def is_view_layer(layer) -> bool:
    """A 2D image, a slice placed in 3D (one singleton axis), or an RGB frame."""
    if layer_kind(layer) != "image":
        return False
    shape = np.shape(layer.data)
    if getattr(layer, "rgb", False):
        return len(shape) == 3
    return len(shape) == 2 or (len(shape) == 3 and min(shape) == 1)


def layer_image(layer) -> np.ndarray:
    if getattr(layer, "rgb", False):
        return np.asarray(layer.data)
    return view_image(layer)


def layer_spacing(layer) -> float:
    meta = layer.metadata or {}
    if "pixel_spacing_mm" in meta:
        sp = meta["pixel_spacing_mm"]
        return float(np.mean(sp)) if np.ndim(sp) else float(sp)
    return float(np.mean(np.asarray(layer.scale)[-2:]))


class ViewsBox(Container):
    def __init__(self, viewer):
        super().__init__(labels=True)
        self.viewer = viewer
        self.pick = {}
        self.spacing = {}
        for name in VIEW_NAMES:
            self.pick[name] = ComboBox(choices=self._choices, label=name)
            self.spacing[name] = FloatSpinBox(
                value=1.0, min=0.01, max=20.0, step=0.05, label="  pixel mm"
            )
            self.pick[name].changed.connect(lambda value, n=name: self._on_pick(n, value))
            self.extend([self.pick[name], self.spacing[name]])
        watch(self, layer_list_events(viewer), self.refresh)
        self.auto_assign()

    def _choices(self, widget=None):
        return [NONE] + [layer.name for layer in self.viewer.layers if is_view_layer(layer)]

    def refresh(self, event=None):
        for combo in self.pick.values():
            current = combo.value
            combo.reset_choices()
            if current in combo.choices:
                combo.value = current
        self.auto_assign(only_empty=True)

    def auto_assign(self, only_empty: bool = False):
        """Assign layers whose names are the view names (the sample, extracted planes)."""
        for name, combo in self.pick.items():
            if only_empty and combo.value != NONE:
                continue
            match = [
                c
                for c in combo.choices
                if c == name or (isinstance(c, str) and c.startswith(f"{name} "))
            ]
            if match:
                combo.value = match[0]

    def _on_pick(self, name, value):
        if value not in (None, NONE) and value in self.viewer.layers:
            self.spacing[name].value = layer_spacing(self.viewer.layers[value])

    def views(self) -> dict:
        """``{view: (image, pixel mm)}`` of the assigned layers (what api.reconstruct takes)."""
        out = {}
        for name, combo in self.pick.items():
            if combo.value in (None, NONE):
                continue
            if combo.value not in self.viewer.layers:
                raise ValueError(f"the layer assigned to {name} ({combo.value!r}) is gone")
            out[name] = (
                layer_image(self.viewer.layers[combo.value]),
                float(self.spacing[name].value),
            )
        return out
