"""Dock widget "Latent explorer": sliders through the model's latent space.

It explores the model of the viewer's state (loaded in the Skull reconstruction
panel, which it docks if nothing is loaded) around the point estimate of the views
of the last reconstruction. When a model loads, its latent dimensions are ranked (a
job with progress, cached on disk: :func:`~napari_genmed.core.tasks.latent.directions_job`)
and one slider per dimension appears (:mod:`.latent_sliders`). Moving one decodes in a
long-lived worker (:mod:`.latent_decoder`); the result layers are updated in place
and the state's result follows, with the biometry readout. Buttons: reset to the
point estimate, seeded random sample, capture A / B and interpolate, save / load the
latent as JSON, and "condition on views" off for the unconditional prior. Below,
"Show latent density" (:mod:`.latent_density`).
"""

from __future__ import annotations

import contextlib

from magicgui.widgets import CheckBox, Container, FileEdit, FloatSlider, Label, PushButton, SpinBox
from napari.utils.notifications import show_error, show_info

from ..core.sim.geometry import VIEW_NAMES
from ..core.tasks.latent_ranking import directions_job
from ..core.tasks.latentstate import LatentState
from ..state import state_of
from .docks import docked, fit_dock
from .jobs import CANCEL_TIP, abandon, progress_bar, start_job, watch
from .latent_change import CHANGE, OWNER, left_open, show_change
from .latent_decoder import LatentDecoder
from .latent_density import LatentDensity
from .latent_sliders import LatentSliders
from .layers import assigned_views, remove_own, truth_mask
from .results import readout_text, settled, show_reconstruction


def _row(*widgets) -> Container:
    return Container(widgets=list(widgets), layout="horizontal", labels=False)


class LatentWidget(Container):
    def __init__(self, napari_viewer):
        super().__init__(labels=False, scrollable=True)
        self.viewer = napari_viewer
        self.state = state = state_of(napari_viewer)
        self.latent: LatentState | None = None  #: where the explorer stands
        self.worker = None  #: the ranking job
        self.decoder = LatentDecoder(self._on_decoded)
        self.reference = None  #: the point estimate's skull probability (difference overlay)
        self.info = Label(value="Load a model in the Skull reconstruction panel.")
        self.info.native.setWordWrap(True)
        self.progress = progress_bar(visible=False)  # while ranking, not during slider work
        self.cancel = PushButton(text="Cancel", visible=False, tooltip=CANCEL_TIP)
        tip = "off: the model's unconditional prior (no views)"
        self.on_views = CheckBox(value=True, text="condition on views", tooltip=tip)
        self.on_views.enabled = False
        self.sliders = LatentSliders()
        self.reset = PushButton(text="Reset", tooltip="back to the views' point estimate")
        self.random = PushButton(text="Random", tooltip="a latent drawn from the prior, seeded")
        self.seed = SpinBox(
            value=0, min=0, max=2**31 - 1, label="seed", tooltip="seed of the random sample"
        )
        self.set_a = PushButton(text="Set A", tooltip="remember this latent as A")
        self.set_b = PushButton(text="Set B", tooltip="remember this latent as B")
        tip = "interpolate from A (0) to B (1)"
        self.t = FloatSlider(value=0.0, max=1.0, step=0.01, label="A -> B", tooltip=tip)
        self.t.enabled = False
        self.path = FileEdit(mode="w", filter="*.json", value="latent.json", label="latent file")
        self.save_button = PushButton(text="Save latent", tooltip="the latent as JSON")
        self.load_button = PushButton(text="Load latent", tooltip="a latent saved for this model")
        self.readout = Label(value="")
        self.readout.native.setWordWrap(True)
        self.status = Label(value="")
        self.density = LatentDensity(self)
        self.extend(
            [
                self.info,
                _row(self.progress, self.cancel),
                self.on_views,
                self.sliders,
                _row(self.reset, self.random),
                _row(Label(value="seed"), self.seed),
                _row(self.set_a, self.set_b),
                Container(widgets=[self.t, self.path]),
                _row(self.save_button, self.load_button),
                self.readout,
                self.status,
                Label(value="<b>Latent density</b> (a flow fitted to the aggregate posterior)"),
                self.density,
            ]
        )
        self.controls = [self.on_views, self.reset, self.random, self.set_a, self.set_b]
        self.controls += [self.save_button, self.load_button]
        self._enable(False)
        self.cancel.changed.connect(self._cancel_ranking)
        self.on_views.changed.connect(self._on_condition)
        self.sliders.moved.connect(self._on_slider)
        self.reset.changed.connect(lambda: self.apply(LatentState.reset))
        self.random.changed.connect(lambda: self.apply(lambda s: s.sample(int(self.seed.value))))
        self.set_a.changed.connect(lambda: self._capture("a"))
        self.set_b.changed.connect(lambda: self._capture("b"))
        self.t.changed.connect(lambda v: self.apply(lambda s: s.interpolate(float(v))))
        self.save_button.changed.connect(self.save)
        self.load_button.changed.connect(self.load)
        watch(self, [state.model_changed], self.bind)
        watch(self, [state.reconstructed], self._on_reconstructed)
        holder = self
        self.native.destroyed.connect(lambda *_: holder.close_workers())
        if state.model is not None:
            self.bind(state.model)
        else:
            docked(napari_viewer, "Skull reconstruction")
        fit_dock(self)  # one tabbed column that fits the screen

    @property
    def idle(self) -> bool:
        """Nothing waiting and the newest latent on screen (its layers added too)."""
        return self.decoder.idle and settled(self.viewer)

    # -- binding to a model -----------------------------------------------------
    def bind(self, model):
        """Rank ``model``'s latent dimensions (cached) and build its sliders."""
        self._cancel_ranking()
        self.latent = None
        self.state.set_latent(None)
        self._enable(False)
        if model is None:
            return None
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
        cancelled = self.worker is not None and self.worker.abort_requested
        if cancelled or model is not self.state.model:
            return  # cancelled, or another model was loaded meanwhile
        views = self.state.source_views  # the last reconstruction's views, else the assigned
        if views is None:
            with contextlib.suppress(ValueError):
                views = assigned_views(self.viewer, self.state) or None
        try:
            self.latent = LatentState(model, directions, views)
        except ValueError as exc:  # the last views do not suit this model
            show_info(f"Latent explorer: {exc}; exploring the unconditional prior")
            self.latent = LatentState(model, directions, None)
        self.sliders.build(directions, self.latent.dims)
        self.sliders.show_values(self.latent.values())
        self.density.bind(self.latent)
        self._enable(True)
        self.decoder.start()
        self._describe()  # nothing is decoded until a control moves: the layers keep the result
        result = self.state.result
        self.readout.value = readout_text(result, self.state.truth) if result is not None else ""
        self.reference = None if result is None else result.probability  # the point estimate
        self.state.set_latent(self.latent)

    def _describe(self):
        s = self.latent
        views = ", ".join(n for n in VIEW_NAMES if s.views and n in s.views) or "no views"
        what = (
            f"conditioned on {views}" if s.condition_on_views else "unconditional prior (no views)"
        )
        self.info.value = (
            f"<b>{s.model.kind}</b>: {s.dims}-D latent, {what}. "
            "Sliders in prior sigma around the point estimate. " + left_open(s)
        )

    def _enable(self, on: bool):
        for w in self.controls:
            w.enabled = on
        s = self.latent
        self.on_views.enabled = on and s is not None and s.views is not None
        self.t.enabled = on and s is not None and s.a is not None and s.b is not None

    # -- moving -----------------------------------------------------------------
    def _on_slider(self, dim: int, value: float):
        if self.latent is not None:
            self.latent.set_value(dim, value)
            self.request()

    def apply(self, change):
        """Apply ``change(latent)``, show it on the sliders and decode it."""
        if self.latent is None:
            return
        try:
            change(self.latent)
        except ValueError as exc:
            show_error(f"Latent explorer: {exc}")
            return
        self.sliders.show_values(self.latent.values())
        self.request()

    def _capture(self, which: str):
        if self.latent is not None:
            self.latent.capture(which)
            self._enable(True)
            self.status.value = f"{which.upper()} captured"

    def _on_condition(self, on: bool):
        if self.latent is None or on == self.latent.condition_on_views:
            return
        self.apply(lambda s: s.set_condition_on_views(bool(on)))
        self._describe()

    def _on_reconstructed(self, result, views):
        """A new reconstruction: explore around its views' point estimate."""
        if self.latent is None or self.state.model is not self.latent.model:
            return
        try:
            self.latent.set_views(views)
        except ValueError as exc:
            show_error(f"Latent explorer: {exc}")
            return
        with self.on_views.changed.blocked():
            self.on_views.value = True
        self._enable(True)
        self.sliders.show_values(self.latent.values())
        self._describe()
        self.readout.value = readout_text(result, self.state.truth)
        self.reference = result.probability
        remove_own(self.viewer, CHANGE, OWNER)  # at the point estimate: no change
        self.decoder.supersede()  # the reconstruction on screen is this point estimate
        self.state.set_latent(self.latent)

    def request(self):
        """Ask the worker to decode the current latent (the newest request wins)."""
        s = self.latent
        if s is None:
            return
        truth = truth_mask(self.viewer, self.state.truth, (s.model.config.grid,) * 3)
        views_used = tuple(
            n for n in VIEW_NAMES if s.condition_on_views and s.views and n in s.views
        )
        self.density.redraw()
        self.decoder.request(
            s.model, s.z.copy(), s.condition, views_used, self.state.threshold, truth
        )

    def _on_decoded(self, result, complete: bool):
        shown = self.state.result  # decoded from the same views: their verdicts carry over
        if result.views_used and shown is not None and shown.plausibility:
            result = result.judged(shown.plausibility, shown.override)
        if show_reconstruction(self.viewer, result, partial=not complete):
            self.state.show(result, partial=not complete)
        change = show_change(self.viewer, self.reference, result)  # against the point estimate
        if complete:
            self.readout.value = readout_text(result, self.state.truth) + (
                f"<br>{change}" if change else ""
            )
        seed = getattr(self.latent, "seed", None)
        moves, decodes = self.decoder.mailbox.put_count, self.decoder.decodes
        self.status.value = f"{moves} moves, {decodes} decodes" + (
            f"  seed {seed}" if seed is not None else ""
        )

    # -- files ------------------------------------------------------------------
    def save(self):
        if self.latent is None:
            show_error("Nothing to save: load a model first.")
            return None
        try:
            path = self.latent.save(self.path.value)
        except OSError as exc:
            show_error(f"Could not save the latent: {exc}")
            return None
        show_info(f"saved {path}")
        return path

    def load(self):
        if self.latent is None:
            show_error("Load a model first.")
            return None
        self.apply(lambda s: s.load(self.path.value))
        with self.on_views.changed.blocked():
            self.on_views.value = self.latent.condition_on_views
        self._describe()
        return self.latent.z

    def close_workers(self):
        abandon(self.worker)
        self.decoder.close()
