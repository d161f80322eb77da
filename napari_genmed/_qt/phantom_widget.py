"""Dock widget "Fetal head phantom": make a synthetic head at any GA and seed, with
its simulated standard planes placed in 3D at their poses.

Thin: the work is the core's :func:`~napari_genmed.core.sim.scan.scan_job`, run in a
napari generator worker (progress bar, Cancel); results replace the earlier
phantom layers.
"""

from __future__ import annotations

from magicgui.widgets import ComboBox, Container, FloatSlider, Label, PushButton, SpinBox

from ..core.sim.scan import scan_job
from ..layer_data import phantom_layers
from .docks import fit_dock
from .jobs import CANCEL_TIP, JobPanel, progress_bar, start_job, warm_napari_imports
from .layers import add_layers

OWNER = "phantom panel"  #: the maker of the phantom's layers


class PhantomWidget(JobPanel, Container):
    def __init__(self, napari_viewer):
        super().__init__(labels=True, scrollable=True)
        self.viewer = napari_viewer
        self.worker = None
        warm_napari_imports()  # the phantom's labels layer, off the GUI thread
        self.ga = FloatSlider(
            value=28.0,
            min=16.0,
            max=38.0,
            step=0.5,
            label="GA (weeks)",
            tooltip="gestational age: sets the head's size (Hadlock's growth curves)",
        )
        self.seed = SpinBox(
            value=0, min=0, max=2**31 - 1, label="seed", tooltip="the head's shape and speckle"
        )
        self.grid = ComboBox(
            choices=[32, 64, 96, 128],
            value=64,
            label="grid (voxels)",
            tooltip="voxels per side of the 128 mm field (64: the models' 2 mm grid)",
        )
        self.generate = PushButton(
            text="Generate head + planes",
            tooltip="a new head and its three standard planes, as new layers (an opened "
            "sample or file is kept)",
        )
        self.cancel = PushButton(text="Cancel", enabled=False, tooltip=CANCEL_TIP)
        self.progress = progress_bar(label="progress")
        self.readout = Label(value="", label="biometry")
        self.extend(
            [self.ga, self.seed, self.grid, self.generate, self.cancel, self.progress, self.readout]
        )
        self.generate.changed.connect(self.run)
        self.cancel.changed.connect(self.stop)
        self.stop_on_close()
        fit_dock(self)  # one tabbed column that fits the screen

    @property
    def spacing_mm(self) -> float:
        return 128.0 / self.grid.value  # keep the 128 mm field of view

    def run(self):
        if self.worker is not None:
            return
        self._busy(True)
        self.worker = start_job(
            scan_job,
            float(self.ga.value),
            int(self.seed.value),
            (self.grid.value,) * 3,
            self.spacing_mm,
            what="Phantom",
            on_result=self._on_done,
            on_finished=self._on_finished,
            on_progress=self._on_progress,
        )

    def start_buttons(self):
        return [self.generate]

    def _on_done(self, scan):
        # its own names: a sample or file the user opened under the same names stays
        add_layers(self.viewer, phantom_layers(scan.phantom, scan.views), OWNER)
        b = scan.phantom.biometry
        self.readout.value = (
            f"BPD {b.bpd_mm:.1f}  OFD {b.ofd_mm:.1f}  HC {b.hc_mm:.1f} mm  (GA "
            f"{b.ga_weeks:.1f} weeks)"
        )
