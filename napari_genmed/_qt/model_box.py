"""The model section of the reconstruction panel: pick a bundled model or a
``.safetensors`` file and a device, load it in a worker, show its model card."""

from __future__ import annotations

from magicgui.widgets import ComboBox, Container, FileEdit, Label, PushButton
from napari.utils.notifications import show_info
from psygnal import Signal

from ..core.bundled import NAMES
from ..core.devices import available_devices
from .jobs import leave_a_core_for_the_gui, start_job

BUNDLED = dict(zip(("REC-CVAE", "HiREC-CVAE", "TL-net"), NAMES))  #: display name -> bundled model
FROM_FILE = "From file..."


def model_card(model) -> str:
    """A short, readable model card (grid, spacing, training recipe, evaluation)."""
    card = getattr(model, "card", {}) or {}
    c = model.config
    recipe = card.get("recipe", {})
    metrics = card.get("metrics", {})
    lines = [
        f"<b>{model.kind}</b>: grid {c.grid}^3 at {c.spacing_mm:g} mm, views {c.view_size} px, latent {model.latent_dim}-D",
        f"trained: {recipe.get('train_size', '?')} phantoms, "
        f"{recipe.get('stage_epochs') if model.kind == 'tl-net' else recipe.get('epochs', '?')} epochs, "
        f"batch {recipe.get('batch_size', '?')}, seed {recipe.get('seed', '?')}, on {recipe.get('device', '?')}"
        + (f" in {recipe['seconds'] / 60:.0f} min" if "seconds" in recipe else ""),
    ]
    table = metrics.get("table")
    if table:
        for row in table:
            lines.append(f"{row['views']}: DC {row['dice']:.3f}  SEN {row['sen']:.3f}  PPV {row['ppv']:.3f}")
    elif "val_dice" in metrics:
        lines.append(f"validation Dice (3 views): {metrics['val_dice']:.3f}")
    return "<br>".join(lines)


class ModelBox(Container):
    """Emits ``loaded(model)`` when a model is ready."""

    loaded = Signal(object)

    def __init__(self):
        super().__init__(labels=True)
        self.model = None
        self.worker = None
        self.locked = False  #: set by the panel while a reconstruction runs
        self.choice = ComboBox(choices=[*BUNDLED, FROM_FILE], value="HiREC-CVAE", label="model")
        self.file = FileEdit(filter="*.safetensors", label="weights", visible=False)
        self.device = ComboBox(choices=available_devices(), label="device")
        self.load = PushButton(text="Load model")
        self.card = Label(value="no model loaded", label="model card")
        self.card.native.setWordWrap(True)
        self.extend([self.choice, self.file, self.device, self.load, self.card])
        self.choice.changed.connect(lambda v: setattr(self.file, "visible", v == FROM_FILE))
        self.load.changed.connect(self.start_loading)

    def source(self) -> str:
        if self.choice.value == FROM_FILE:
            return str(self.file.value)
        return BUNDLED[self.choice.value]

    def start_loading(self):
        from .. import api

        if self.worker is not None:
            return
        self.load.enabled = False
        leave_a_core_for_the_gui()
        self.worker = start_job(api.load_model, self.source(), self.device.value, what="Loading the model",
                                on_result=self._on_loaded, on_finished=self._on_finished, progress=False)
        return self.worker

    def _on_loaded(self, model):
        self.model = model
        self.card.value = model_card(model)
        show_info(f"{model.kind} loaded on {self.device.value}")
        self.loaded.emit(model)

    def _on_finished(self):
        self.worker = None
        self.load.enabled = not self.locked

