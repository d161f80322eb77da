"""The views section: assign 2D Image layers to axial / sagittal / coronal, each with
its pixel spacing (read from the layer when it carries one).

Every assignment is the user's: a slot set to "(none)" stays empty, and nothing
fills a slot by itself (not the sample's planes, not a layer added later). The
assignments live in the viewer's state (:class:`~napari_genmed.state.ViewerState`);
this box shows and edits them. "Assign by name" is the one shortcut, on request: the
layers named after the views go to their slots.

Under each slot the plane gate's verdict on its image (:mod:`~..core.tasks.plausibility`):
whether it looks like a fetal-head plane of that kind, before anything is built on it.

A cine layer's slot shows a frame slider (the slot takes that frame; napari's own
slider follows it to show it), and "Most plausible frames" sets every cine slot to
the frame the plane gate finds most plausible as that plane (in a worker; on
request, never by itself).
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox, Label, PushButton, Slider

from ..core.sim.geometry import VIEW_NAMES
from .jobs import layer_list_events, start_job, watch
from .layers import (
    NONE,
    assigned_views,
    is_cine,
    is_view_layer,
    layer_spacing,
    model_image,
    n_frames,
)

COLOURS = {"plausible": "#5fbf5f", "doubtful": "#e0a030", "not a fetal head plane": "#e05050"}


def verdict_text(p) -> str:
    """A verdict as a short coloured line for a slot (the reason goes in its tooltip)."""
    extra = f", looks {p.looks_like}" if p.verdict == "doubtful" else ""
    return f"<span style='color:{COLOURS[p.verdict]}'>{p.verdict}</span> (p {p.score:.3f}{extra})"


_BUNDLED: dict = {}


def bundled(name: str):
    """A small bundled model the panels share (the plane gate, the plane pose net),
    loaded on first use (tens of ms) on the CPU."""
    if name not in _BUNDLED:
        from ..core.io.checkpoint import load_model

        _BUNDLED[name] = load_model(name, "cpu")
    return _BUNDLED[name]


class ViewsBox(Container):
    def __init__(self, viewer, state):
        super().__init__(labels=True)
        self.viewer, self.state = viewer, state
        self.pick: dict[str, ComboBox] = {}
        self.spacing: dict[str, FloatSpinBox] = {}
        self.check: dict[str, Label] = {}
        self.frame: dict[str, Slider] = {}
        self._checked: dict[str, tuple] = {}
        self._syncing = False
        self.worker = None  #: the most-plausible-frames job
        for name in VIEW_NAMES:
            self.pick[name] = ComboBox(
                choices=self._choices,
                value=NONE,
                label=name,
                tooltip=f"the 2D image layer acquired as the {name} plane, or (none)",
            )
            self.spacing[name] = FloatSpinBox(
                value=state.pixel_mm[name],
                min=0.01,
                max=20.0,
                step=0.05,
                label="  pixel mm",
                tooltip=f"pixel size of the {name} image (read from the layer when it says)",
            )
            self.pick[name].changed.connect(lambda value, n=name: self._on_pick(n, value))
            self.spacing[name].changed.connect(lambda v, n=name: state.set_pixel_mm(n, v))
            self.check[name] = Label(value="", label="  check")
            self.check[name].tooltip = (
                "the plane gate's verdict: does this image look like a fetal-head "
                f"{name} plane? (a reconstruction on an image that is not withholds biometry)"
            )
            self.frame[name] = Slider(
                value=0,
                min=0,
                max=1,
                label="  frame",
                visible=False,
                tooltip=f"the frame of the cine the {name} slot takes",
            )
            self.frame[name].changed.connect(lambda v, n=name: self._on_frame(n, v))
            self.extend([self.pick[name], self.spacing[name], self.frame[name], self.check[name]])
        self.by_name = PushButton(
            text="Assign by name",
            tooltip="put the layers named axial, sagittal and coronal in those slots",
        )
        self.by_name.changed.connect(self.assign_by_name)
        self.best = PushButton(
            text="Most plausible frames",
            visible=False,
            tooltip="set each cine slot to the frame the plane gate finds most like its plane",
        )
        self.best.changed.connect(self.pick_best_frames)
        self.extend([self.by_name, self.best])
        watch(self, [state.views_changed, state.model_changed], self._show_state)
        watch(self, layer_list_events(viewer), self.refresh)
        self._show_state()

    def _choices(self, widget=None):
        return [NONE] + [layer.name for layer in self.viewer.layers if is_view_layer(layer)]

    def refresh(self, event=None):
        """The layer list changed: new choices; a slot whose layer is gone becomes empty."""
        for name in [n for n in self.state.assigned().values() if n not in self.viewer.layers]:
            self.state.forget_layer(name)
        self._syncing = True
        try:
            for combo in self.pick.values():
                combo.reset_choices()
        finally:
            self._syncing = False
        self._show_state()

    def _show_state(self, *_):
        """Show the state's assignments (the combos never choose by themselves)."""
        self._syncing = True
        try:
            for name, combo in self.pick.items():
                held = self.state.views[name]
                combo.value = held if held in combo.choices else NONE
                self.spacing[name].value = self.state.pixel_mm[name]
                self._show_frame(name)
        finally:
            self._syncing = False
        self.best.visible = any(self.frame[n].visible for n in VIEW_NAMES)
        for name in VIEW_NAMES:
            self._check_slot(name)

    def _cine(self, slot):
        name = self.state.views[slot]
        if name is None or name not in self.viewer.layers:
            return None
        layer = self.viewer.layers[name]
        return layer if is_cine(layer) else None

    def _show_frame(self, slot):
        """The slot's frame slider: shown for a cine, at the state's frame."""
        layer, slider = self._cine(slot), self.frame[slot]
        slider.visible = layer is not None
        if layer is not None:
            slider.max = n_frames(layer) - 1
            slider.value = min(self.state.frame[slot], slider.max)

    def _on_frame(self, slot, value):
        if self._syncing:
            return
        self.state.set_frame(slot, int(value))
        layer = self._cine(slot)
        if layer is not None:  # napari's slider shows the frame the slot takes
            self.viewer.dims.set_current_step(self.viewer.dims.ndim - 4, int(value))

    def pick_best_frames(self):
        """Every cine slot to its most plausible frame (a worker scores the frames)."""
        from ..core.tasks.plausibility import gate_for, most_plausible

        slots = {n: self._cine(n) for n in VIEW_NAMES if self._cine(n) is not None}
        if not slots or self.worker is not None:
            return None
        gate = gate_for(self.state.model)
        jobs = {
            n: ([model_image(layer, k) for k in range(n_frames(layer))], self.state.pixel_mm[n])
            for n, layer in slots.items()
        }

        def score():
            return {
                n: most_plausible(((im, mm) for im in images), gate, n)[0]
                for n, (images, mm) in jobs.items()
            }

        def done(best):
            for n, k in best.items():
                if self.state.views[n] is not None:
                    self.state.set_frame(n, k)
                    self._on_frame(n, k)

        self.best.enabled = False
        self.worker = start_job(
            score, what="Scoring the frames", on_result=done, on_finished=self._best_done
        )
        return self.worker

    def _best_done(self):
        self.worker = None
        self.best.enabled = True

    def _check_slot(self, slot):
        """The gate's verdict on the slot's image (again only when image or spacing changed)."""
        from ..core.tasks.plausibility import assess_view, gate_for

        name = self.state.views[slot]
        if name is None or name not in self.viewer.layers:
            self._checked.pop(slot, None)
            self.check[slot].value = ""
            return
        layer, frame = self.viewer.layers[name], self.state.frame[slot]
        gate = gate_for(self.state.model)  # the gate the model's results are judged by
        key = (name, id(layer.data), frame, float(self.state.pixel_mm[slot]), id(gate))
        if self._checked.get(slot) == key:
            return
        self._checked[slot] = key
        try:
            image = model_image(layer, frame)
            verdict = assess_view(gate, (np.asarray(image), key[3]), slot)
            self.check[slot].value = verdict_text(verdict)
            self.check[slot].tooltip = verdict.reason
        except ValueError as exc:  # an image the models cannot take: the reason on hover
            self.check[slot].value = f"<span style='color:{COLOURS['doubtful']}'>not checked</span>"
            self.check[slot].tooltip = str(exc)

    def _on_pick(self, slot, value):
        if self._syncing:
            return
        layer = None if value in (None, NONE) else value
        spacing = layer_spacing(self.viewer.layers[layer]) if layer in self.viewer.layers else None
        self.state.assign(slot, layer, spacing)
        if spacing is not None:
            self.spacing[slot].value = self.state.pixel_mm[slot]

    def assign_by_name(self):
        """Assign the layers named after the views (the sample's planes, say)."""
        for slot in VIEW_NAMES:
            if slot in self.viewer.layers and is_view_layer(self.viewer.layers[slot]):
                self.state.assign(slot, slot, layer_spacing(self.viewer.layers[slot]))
        self._show_state()

    def views(self) -> dict:
        """``{view: (image, pixel mm)}`` of the assigned layers (what the models take)."""
        return assigned_views(self.viewer, self.state)
