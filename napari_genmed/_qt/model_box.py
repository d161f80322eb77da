"""The model section of the reconstruction panel: pick a bundled model or a
``.safetensors`` file and a device, load it in a worker, show its model card."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from magicgui.widgets import ComboBox, Container, FileEdit, Label, PushButton
from napari.utils.notifications import show_info
from psygnal import Signal

from ..core.devices import accelerators_possible, available_devices
from ..core.io.bundled import ALL, FLOWS, NAMES, VIEW_GENERATORS
from .jobs import leave_a_core_for_the_gui, start_job

BUNDLED = dict(zip(("REC-CVAE", "HiREC-CVAE", "TL-net"), NAMES))  #: display name -> bundled model
GENERATORS = dict(
    zip(("Mental map (VAE)", "Mental map (GAN)"), VIEW_GENERATORS)
)  #: display name -> bundled view generator
PATCH_FLOWS = {"Patch flow (views)": FLOWS[0]}  #: display name -> bundled patch flow
FROM_FILE = "From file..."


def _duration(recipe: dict) -> str:
    """How long the (last) training run took, and whether it started from earlier
    weights: another bundled model's, or a run of the README's model card by its
    folder (e.g. a CVAE warm-started from TL-net's GPU stage)."""
    start = recipe.get("init_from")
    if start in ALL:
        source = f"the bundled {start} weights"
    elif start:  # a run of the README's model card, e.g. runs/tl-net-gpu/model.safetensors
        path = PurePosixPath(str(start).replace("\\", "/"))
        run = path.parent.name if path.name == "model.safetensors" else path.stem
        source = f"the {run or path.stem} run's weights"
    return (f" in {recipe['seconds'] / 60:.0f} min" if "seconds" in recipe else "") + (
        f", from {source} (stages: README, model card)" if start else ""
    )


_TL_STAGES = (
    "autoencoder",
    "image",
    "joint",
)  #: core.tlnet.STAGES, named here so the panel does not import torch


def _tl_stage_epochs(recipe: dict) -> list | None:
    """The recipe's epochs per TL-net stage (every recipe has them; only TL-net runs them)."""
    stages = recipe.get("stage_epochs")
    return stages if isinstance(stages, list) and len(stages) == len(_TL_STAGES) else None


def _stage_epochs(recipe: dict, metrics: dict):
    """The epochs of the run the weights come from: a CVAE's, or the TL-net stage
    they were kept in (its metrics count epochs within that stage)."""
    stages = _tl_stage_epochs(recipe)
    if stages and metrics.get("stage") in _TL_STAGES:
        return stages[_TL_STAGES.index(metrics["stage"])]
    return recipe.get("epochs")


def _epochs_text(kind: str, recipe: dict) -> str:
    stages = _tl_stage_epochs(recipe)
    if kind == "tl-net" and stages:
        return " + ".join(str(e) for e in stages) + " epochs (autoencoder + image net + joint)"
    return f"{recipe.get('epochs', '?')} epochs"


def _kept(recipe: dict, metrics: dict) -> str:
    """Which epoch the weights are from when training kept an earlier one than the
    last (``model.safetensors`` holds the best validation Dice)."""
    epochs, epoch = _stage_epochs(recipe, metrics), metrics.get("epoch")
    if isinstance(epochs, int) and isinstance(epoch, int) and 0 < epoch < epochs:
        return f" (kept: epoch {epoch}, the best validation Dice)"
    return ""


def loaded_name(choice: str, file, kind: str) -> str:
    """What the load message calls the model: the label the user picked, or the
    file's name with the kind of model it held."""
    return f"{Path(str(file)).name} ({kind})" if choice == FROM_FILE else choice


def model_card(model) -> str:
    """A short, readable model card (grid, spacing, training recipe, evaluation)."""
    card = getattr(model, "card", {}) or {}
    c = model.config
    recipe = card.get("recipe", {})
    metrics = card.get("metrics", {})
    if model.kind in VIEW_GENERATORS:
        return _generator_card(model, recipe, metrics)
    if model.kind == "patch-glow":
        return _flow_card(model, recipe, metrics)
    lines = [
        f"<b>{model.kind}</b>: grid {c.grid}^3 at {c.spacing_mm:g} mm, views {c.view_size} px, latent {model.latent_dim}-D",
        ("last training stage" if recipe.get("init_from") else "trained")
        + f": {recipe.get('train_size', '?')} phantoms, "
        f"{_epochs_text(model.kind, recipe)}{_kept(recipe, metrics)}, "
        f"batch {recipe.get('batch_size', '?')}, seed {recipe.get('seed', '?')}, on {recipe.get('device', '?')}"
        + _duration(recipe),
    ]
    table = metrics.get("table")
    if table:
        for row in table:
            lines.append(
                f"{row['views']}: DC {row['dice']:.3f}  SEN {row['sen']:.3f}  PPV {row['ppv']:.3f}"
            )
    elif "val_dice" in metrics:
        lines.append(f"validation Dice (3 views): {metrics['val_dice']:.3f}")
    return "<br>".join(lines)


def _generator_card(model, recipe: dict, metrics: dict) -> str:
    c = model.config
    lines = [
        f"<b>{model.kind}</b>: {c.size} x {c.size} slices at {c.pixel_mm:g} mm, latent {c.latent_dim}-D"
        + (f", adversarial weight {c.adv_weight:g}" if c.adv_weight else ""),
        f"trained: {recipe.get('train_size', '?')} heads, {recipe.get('epochs', '?')} epochs, batch {recipe.get('batch_size', '?')}, "
        f"seed {recipe.get('seed', '?')}, on {recipe.get('device', '?')}" + _duration(recipe),
    ]
    names = {1: "axial", 2: "axial+sagittal", 3: "3 standard"}
    for row in metrics.get("view_table", []):
        if row["target"] == "clean" and row.get("queries", "unobserved") == "unobserved":
            lines.append(
                f"from {names[row['observed']]}: SSIM {row['ssim']:.2f}  NCC {row['ncc']:.2f}  PSNR {row['psnr']:.1f} dB"
            )
    if not metrics.get("view_table") and "ssim" in metrics:
        lines.append(
            f"validation (from the axial slice): SSIM {metrics['ssim']:.2f}  NCC {metrics['ncc']:.2f}"
        )
    return "<br>".join(lines)


def _flow_card(model, recipe: dict, metrics: dict) -> str:
    c = model.config
    lines = [
        f"<b>patch flow</b> (Glow): {c.size} x {c.size} patches, {c.levels} levels x {c.steps} steps, conditioned on the patch position",
        f"trained: patches of {recipe.get('heads', '?')} heads' views, {recipe.get('steps', '?')} steps, batch {recipe.get('batch_size', '?')}"
        + _duration(recipe),
    ]
    ev = metrics.get("evaluation")
    if ev:
        lines.append(
            f"test NLL {ev['test_bpd_flow']:.2f} bits/dim (Gaussian {ev['test_bpd_gaussian']:.2f}); corruption AUC {ev['auc']['all']:.2f}"
        )
    return "<br>".join(lines)


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
        self.choice = ComboBox(choices=[*self.bundled, FROM_FILE], value=default, label="model")
        self.file = FileEdit(filter="*.safetensors", label="weights", visible=False)
        # torch takes a second or more to import: a CPU-only build lists cpu at once,
        # otherwise the devices are listed from a worker
        self.devices = ["cpu"]
        self.device = ComboBox(
            choices=lambda widget=None: self.devices, label="device"
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
        self.load = PushButton(text="Load model")
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
            f"{loaded_name(self.choice.value, self.file.value, model.kind)} loaded on {self.device.value}"
        )
        self.loaded.emit(model)

    def _on_finished(self):
        self.worker = None
        self.load.enabled = not self.locked
