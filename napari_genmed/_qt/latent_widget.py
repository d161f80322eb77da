"""Dock widget "Latent explorer": sliders through the model's latent space.

Bound to the model and the views of the "Skull reconstruction" panel (docked too
if it is not). When a model loads, its latent dimensions are ranked (a job with
progress, cached on disk: :func:`~napari_genmed.core.tasks.latent.directions_job`) and
one slider per dimension appears, in units of the prior's sigma around the views'
point estimate, the most effective first (the top K, all on request; HiREC-CVAE's
grouped by level). Moving a slider decodes in a long-lived worker fed by a
latest-wins mailbox: stale requests are dropped, the last one is always shown, and
the result layers of the reconstruction panel are updated in place (no new layers),
with the biometry readout. Buttons: reset to the point estimate, seeded random
sample, capture A / B and interpolate, save / load the latent as JSON, and
"condition on views" off for the unconditional prior. Below, "Show latent density"
adds a 2D slice of the latent flow's density as an Image layer beside the skull,
with the current latent as a Points layer; a click on the map (or dragging the
point) moves the latent (:mod:`.latent_density`).
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, Container, FileEdit, FloatSlider, Label, PushButton, SpinBox
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Qt

from ..core.tasks.latent import SLIDER_RANGE, directions_job, latent_reconstruction
from ..core.tasks.latentstate import LatentState
from .docks import docked
from .jobs import abandon, progress_bar, start_job
from .latent_density import LatentDensity
from .mailbox import LatestOnly
from .reconstruct_widget import ReconstructWidget, format_readout

POLL_S = 0.05  #: the decoding worker checks for cancellation this often when idle


def reconstruction_panel(viewer) -> ReconstructWidget:
    """The viewer's "Skull reconstruction" panel, docked if it is not yet."""
    return docked(viewer, ReconstructWidget, "Skull reconstruction")


def decode_loop(mailbox: LatestOnly):
    """Worker body: serve the newest request until cancelled; yields ``None`` when
    idle (so Cancel is honoured) and ``(serial, reconstruction, complete)`` per
    decode (complete: with surface and biometry)."""
    while True:
        request = mailbox.take(POLL_S)
        if request is None:
            yield None
            continue
        serial, model, z, condition, views_used, threshold, truth = request
        # a newer request already waiting: show the probability and labels now and
        # skip the surface and the biometry (marching cubes costs a decode); the last
        # request of a drag always finds none waiting and gets them
        complete = not mailbox.pending
        result = latent_reconstruction(
            model,
            z,
            condition,
            views_used,
            threshold,
            truth,
            with_surface=complete,
            with_measurements=complete,
        )
        yield serial, result, complete


class LatentWidget(Container):
    def __init__(self, napari_viewer):
        super().__init__(labels=False)
        self.viewer = napari_viewer
        self.recon = reconstruction_panel(napari_viewer)
        self.state: LatentState | None = None
        self.mailbox = LatestOnly()
        self.loop = None  #: the decoding worker
        self.worker = None  #: the ranking job
        self.serial = 0  #: requests made
        self.shown = 0  #: serial of the latent on screen
        self.decodes = 0  #: decodes delivered
        self.sliders: dict[int, FloatSlider] = {}
        self.headers: dict[str, Label] = {}
        self.info = Label(value="Load a model in the Skull reconstruction panel.")
        self.info.native.setWordWrap(True)
        self.info.native.setMinimumWidth(380)
        self.progress = progress_bar(
            visible=False
        )  # shown while ranking (at model load), not during slider work
        self.cancel = PushButton(text="Cancel", visible=False)
        self.on_views = CheckBox(value=True, text="condition on views", enabled=False)
        self.top_k = SpinBox(value=8, min=1, max=512, label="top K")
        self.show_all = CheckBox(value=False, text="all dimensions")
        self.slider_box = Container(labels=True)  # in a scroll area of our own (below)
        self.reset = PushButton(text="Reset to point estimate")
        self.random = PushButton(text="Random sample")
        self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed")
        self.set_a, self.set_b = PushButton(text="Set A"), PushButton(text="Set B")
        self.t = FloatSlider(value=0.0, min=0.0, max=1.0, step=0.01, label="A -> B", enabled=False)
        self.path = FileEdit(mode="w", filter="*.json", value="latent.json", label="latent file")
        self.save_button, self.load_button = (
            PushButton(text="Save latent"),
            PushButton(text="Load latent"),
        )
        self.readout = Label(value="")
        self.status = Label(value="")
        self.density = LatentDensity(self)
        row = lambda *w: Container(widgets=list(w), layout="horizontal", labels=False)  # noqa: E731
        self.extend(
            [
                self.info,
                row(self.progress, self.cancel),
                row(self.on_views, self.show_all, Label(value="top K"), self.top_k),
                row(self.reset, self.random, Label(value="seed"), self.seed),
                row(self.set_a, self.set_b),
                Container(widgets=[self.t, self.path]),
                row(self.save_button, self.load_button),
                self.readout,
                self.status,
                Label(value="<b>Latent density</b> (a flow fitted to the aggregate posterior)"),
                self.density,
            ]
        )
        self._scroll_sliders(position=3)
        self.readout.native.setWordWrap(True)
        self.readout.native.setMinimumWidth(380)
        self.controls = [
            self.on_views,
            self.reset,
            self.random,
            self.set_a,
            self.set_b,
            self.save_button,
            self.load_button,
        ]
        self._enable(False)
        self.cancel.changed.connect(self._cancel_ranking)
        self.on_views.changed.connect(self._on_condition)
        self.top_k.changed.connect(lambda _: self._filter_sliders())
        self.show_all.changed.connect(lambda _: self._filter_sliders())
        self.reset.changed.connect(lambda: self.apply(LatentState.reset))
        self.random.changed.connect(lambda: self.apply(lambda s: s.sample(int(self.seed.value))))
        self.set_a.changed.connect(lambda: self._capture("a"))
        self.set_b.changed.connect(lambda: self._capture("b"))
        self.t.changed.connect(lambda v: self.apply(lambda s: s.interpolate(float(v))))
        self.save_button.changed.connect(self.save)
        self.load_button.changed.connect(self.load)
        self.recon.models.loaded.connect(self.bind)
        self.recon.reconstructed.connect(self._on_reconstructed)
        holder = self
        self.native.destroyed.connect(lambda *_: holder.close_workers())
        if self.recon.models.model is not None:
            self.bind(self.recon.models.model)

    def _scroll_sliders(self, position: int) -> None:
        """Put the sliders in a vertical scroll area (magicgui's ``scrollable``
        loses its scroll area when nested in another container)."""
        from qtpy.QtCore import Qt
        from qtpy.QtWidgets import QScrollArea

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.slider_box.native)
        scroll.setMinimumHeight(300)
        self.native.layout().insertWidget(position, scroll)

    # -- binding to a model -----------------------------------------------------
    def bind(self, model):
        """Rank ``model``'s latent dimensions (cached) and build its sliders."""
        self._cancel_ranking()
        self.state = None
        self._enable(False)
        self.info.value = f"{model.kind}: ranking the latent dimensions..."
        self.progress.visible = self.cancel.visible = True
        self.worker = start_job(
            lambda: (yield from directions_job(model)),
            what="Ranking latent dimensions",
            on_result=lambda d: self._on_directions(model, d),
            on_finished=self._ranking_done,
            on_progress=self._on_progress,
            progress=False,
        )
        return self.worker

    def _on_progress(self, p):
        self.progress.max, self.progress.value, self.progress.tooltip = p.total, p.step, p.message

    def _cancel_ranking(self):
        if self.worker is not None:
            self.worker.quit()

    def _ranking_done(self):
        self.worker = None
        self.progress.visible = self.cancel.visible = False

    def _on_directions(self, model, directions):
        if (
            self.worker is not None
            and self.worker.abort_requested
            or model is not self.recon.models.model
        ):
            return  # cancelled, or another model was loaded meanwhile
        try:
            self.state = LatentState(model, directions, self.recon.last_views)
        except ValueError as exc:  # the last views do not suit this model
            show_info(f"Latent explorer: {exc}; exploring the unconditional prior")
            self.state = LatentState(model, directions, None)
        self._build_sliders()
        self.density.bind(self.state)
        self._enable(True)
        self._start_loop()
        self._describe()  # nothing is decoded until a control moves: the layers keep the reconstruction
        self.readout.value = self.recon.readout.value

    def _describe(self):
        s = self.state
        views = (
            ", ".join(n for n in ("axial", "sagittal", "coronal") if s.views and n in s.views)
            or "no views"
        )
        what = (
            f"conditioned on {views}" if s.condition_on_views else "unconditional prior (no views)"
        )
        self.info.value = f"<b>{s.model.kind}</b>: {s.dims}-D latent, {what}. Sliders in prior sigma around the point estimate."

    def _build_sliders(self):
        self.slider_box.clear()
        self.sliders, self.headers = {}, {}
        d = self.state.directions
        rank = {dim: k for k, dim in enumerate(d.order)}
        for name, dims in d.groups:
            if len(d.groups) > 1:
                self.headers[name] = Label(value=f"<b>{name}</b>", label="")
                self.headers[name].native.setAlignment(
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
                )
                self.slider_box.append(self.headers[name])
            for dim in sorted(dims, key=rank.get):
                slider = FloatSlider(
                    value=0.0,
                    min=-SLIDER_RANGE,
                    max=SLIDER_RANGE,
                    step=0.05,
                    label=f"z{dim}",
                    tooltip=f"rank {rank[dim] + 1}: moves {d.effect[dim]:.0f} voxels of skull for -2 to +2 sigma",
                )
                slider.changed.connect(lambda v, dim=dim: self._on_slider(dim, v))
                self.sliders[dim] = slider
                self.slider_box.append(slider)
        self.top_k.max = max(1, self.state.dims)
        self._filter_sliders()
        self._sync_sliders()

    def _filter_sliders(self):
        if self.state is None:
            return
        shown = set(
            self.state.directions.order
            if self.show_all.value
            else self.state.directions.order[: int(self.top_k.value)]
        )
        for dim, slider in self.sliders.items():
            slider.visible = dim in shown
        for name, dims in self.state.directions.groups:
            if name in self.headers:
                self.headers[name].visible = bool(shown & set(dims))

    def _sync_sliders(self):
        """Show the state's values on the sliders without triggering decodes."""
        values = np.clip(self.state.values(), -SLIDER_RANGE, SLIDER_RANGE)
        for dim, slider in self.sliders.items():
            with slider.changed.blocked():
                slider.value = float(values[dim])

    def _enable(self, on: bool):
        for w in self.controls:
            w.enabled = on
        self.on_views.enabled = on and self.state is not None and self.state.views is not None
        self.t.enabled = (
            on and self.state is not None and self.state.a is not None and self.state.b is not None
        )

    # -- moving -----------------------------------------------------------------
    def _on_slider(self, dim: int, value: float):
        if self.state is None:
            return
        self.state.set_value(dim, float(value))
        self.request()

    def apply(self, change):
        """Apply ``change(state)``, show it on the sliders and decode it."""
        if self.state is None:
            return
        try:
            change(self.state)
        except ValueError as exc:
            show_error(f"Latent explorer: {exc}")
            return
        self._sync_sliders()
        self.request()

    def _capture(self, which: str):
        if self.state is None:
            return
        self.state.capture(which)
        self._enable(True)
        self.status.value = f"{which.upper()} captured"

    def _on_condition(self, on: bool):
        if self.state is None or on == self.state.condition_on_views:
            return
        self.apply(lambda s: s.set_condition_on_views(bool(on)))
        self._describe()

    def _on_reconstructed(self, result, views):
        """A new reconstruction: explore around its views' point estimate."""
        if self.state is None or self.recon.models.model is not self.state.model:
            return
        try:
            self.state.set_views(views)
        except ValueError as exc:
            show_error(f"Latent explorer: {exc}")
            return
        with self.on_views.changed.blocked():
            self.on_views.value = True
        self._enable(True)
        self._sync_sliders()
        self._describe()
        self.readout.value = self.recon.readout.value
        self.serial += 1  # the reconstruction on screen is this point estimate: decodes still in flight are stale
        self.shown = self.serial

    def request(self):
        """Ask the worker to decode the current latent (the newest request wins)."""
        s = self.state
        if s is None:
            return
        grid = (s.model.config.grid,) * 3
        truth = self.recon.truth_mask(grid)
        views_used = tuple(
            n
            for n in ("axial", "sagittal", "coronal")
            if s.condition_on_views and s.views and n in s.views
        )
        self.serial += 1
        self.density.redraw()
        self.mailbox.put(
            (
                self.serial,
                s.model,
                s.z.copy(),
                s.condition,
                views_used,
                float(self.recon.threshold.value),
                truth,
            )
        )
        if self.loop is None:
            self._start_loop()

    def _start_loop(self):
        if self.loop is not None:
            return
        self.loop = start_job(
            decode_loop,
            self.mailbox,
            what="Latent decoding",
            on_result=lambda _: None,
            on_finished=self._loop_finished,
            on_progress=self._on_decoded,
            progress=False,
        )

    def _loop_finished(self):
        self.loop = None

    def _on_decoded(self, item):
        if item is None:
            return
        serial, result, complete = item
        if serial < self.shown:
            return  # older than what is on screen
        self.decodes += 1
        self.shown = serial
        self.recon.show_result(result, partial=not complete)
        if complete:
            self.readout.value = format_readout(result.measurements)
        seed = "" if self.state is None or self.state.seed is None else f"  seed {self.state.seed}"
        self.status.value = f"{self.mailbox.put_count} moves, {self.decodes} decodes{seed}"

    @property
    def idle(self) -> bool:
        """Nothing waiting and the newest request on screen."""
        return not self.mailbox.pending and self.shown == self.serial

    # -- files ------------------------------------------------------------------
    def save(self):
        if self.state is None:
            show_error("Nothing to save: load a model first.")
            return None
        try:
            path = self.state.save(self.path.value)
        except OSError as exc:
            show_error(f"Could not save the latent: {exc}")
            return None
        show_info(f"saved {path}")
        return path

    def load(self):
        if self.state is None:
            show_error("Load a model first.")
            return None
        self.apply(lambda s: s.load(self.path.value))
        with self.on_views.changed.blocked():
            self.on_views.value = self.state.condition_on_views
        self._describe()
        return self.state.z

    def close_workers(self):
        abandon(self.worker)
        abandon(self.loop)
