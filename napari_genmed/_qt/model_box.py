"""The model section of the reconstruction panel: pick a bundled model or a
``.safetensors`` file and a device, load it in a worker, show its model card."""

from __future__ import annotations

from pathlib import Path

from magicgui.widgets import ComboBox, Container, FileEdit, Label, PushButton
from napari.utils.notifications import show_info
from psygnal import Signal

from ..core.devices import accelerators_possible, available_devices
from ..core.io.bundled import FLOWS, NAMES, VIEW_GENERATORS
from .jobs import leave_a_core_for_the_gui, start_job, warm_napari_imports
from .model_card import model_card

BUNDLED = dict(zip(("REC-CVAE", "HiREC-CVAE", "TL-net"), NAMES))  #: display name -> bundled model
GENERATORS = dict(
    zip(
        ("Mental map (VAE)", "Mental map (GAN)", "Anatomy (drawn by the simulator)"),
        VIEW_GENERATORS,
    )
)  #: display name -> bundled view generator
PATCH_FLOWS = {"Patch flow (views)": FLOWS[0]}  #: display name -> bundled patch flow
FROM_FILE = "From file..."


def loaded_name(choice: str, file, kind: str) -> str:
    """What the load message calls the model: the label the user picked, or the
    file's name with the kind of model it held."""
    return f"{Path(str(file)).name} ({kind})" if choice == FROM_FILE else choice


class ModelBox(Container):
    """Emits ``loaded(model)`` when a model is ready. ``bundled`` maps display names
    to bundled models (the skull reconstruction models by default)."""

    loaded = Signal(object)

    def __init__(self, bundled: dict | None = None, default: str = "HiREC-CVAE"):
        super().__init__(labels=True)
        self.bundled = dict(bundled or BUNDLED)
        self.model = None
        self.worker = None
        self.locked = False  #: set by the panel while a reconstruction runs
        self.choice = ComboBox(
            choices=[*self.bundled, FROM_FILE],
            value=default,
            label="model",
            tooltip="a bundled model (its card below once loaded) or weights from a file",
        )
        self.file = FileEdit(
            filter="*.safetensors",
            label="weights",
            visible=False,
            tooltip="a .safetensors checkpoint this project wrote (pickles are refused)",
        )
        # torch takes a second or more to import: a CPU-only build lists cpu at once,
        # otherwise the devices are listed from a worker
        self.devices = ["cpu"]
        self.device = ComboBox(
            choices=lambda widget=None: self.devices,
            label="device",
            tooltip="where the model runs: cpu, or a GPU when torch sees one",
        )  # callable: napari re-reads choices
        self.device_worker = None
        if accelerators_possible():
            self.device_worker = start_job(
                available_devices,
                what="Listing devices",
                on_result=self._on_devices,
                on_finished=lambda: setattr(self, "device_worker", None),
                progress=False,
            )
        self.load = PushButton(
            text="Load model", tooltip="load the chosen model (in the background)"
        )
        self.card = Label(value="no model loaded", label="model card")
        self.card.native.setWordWrap(True)
        self.extend([self.choice, self.file, self.device, self.load, self.card])
        self.choice.changed.connect(lambda v: setattr(self.file, "visible", v == FROM_FILE))
        self.load.changed.connect(self.start_loading)

    def _on_devices(self, devices: list[str]):
        current = self.device.value
        self.devices = list(devices)
        self.device.reset_choices()
        self.device.value = (
            current if current in devices else devices[-1] if len(devices) > 1 else "cpu"
        )

    def source(self) -> str:
        if self.choice.value == FROM_FILE:
            return str(self.file.value)
        return self.bundled[self.choice.value]

    def start_loading(self):
        from .. import api

        if self.worker is not None:
            return
        self.load.enabled = False
        leave_a_core_for_the_gui()
        warm_napari_imports()  # the result layers' first Labels layer, off the GUI thread
        self.worker = start_job(
            api.load_model,
            self.source(),
            self.device.value,
            what="Loading the model",
            on_result=self._on_loaded,
            on_finished=self._on_finished,
            progress=False,
        )
        return self.worker

    def _on_loaded(self, model):
        self.model = model
        self.card.value = model_card(model)
        show_info(
            f"{loaded_name(self.choice.value, self.file.value, model.kind)} loaded on "
            f"{self.device.value}"
        )
        self.loaded.emit(model)

    def _on_finished(self):
        self.worker = None
        self.load.enabled = not self.locked
