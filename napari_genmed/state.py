"""What one viewer's panels share: a plain model with events, no Qt.

The split of napari-animation: :class:`ViewerState` knows nothing of widgets or
layers (it holds layer *names* and core objects); the panels under ``_qt/`` write to
it and subscribe to its signals (psygnal), so no panel reads another panel's
attributes. One state per viewer (:func:`state_of`).

What it holds, and who writes it:

- ``model``: the loaded reconstruction model (the Skull reconstruction panel).
- ``views``: the layer assigned to each view slot, each an explicit user choice:
  ``None`` ("(none)") stays None, and nothing fills a slot by itself; ``pixel_mm``
  the pixel spacing of each slot; ``frame`` the frame a slot takes of a cine layer
  (0, the first, until the user moves it or asks for the most plausible).
- ``truth``: the layer a result is scored against, ``None`` unless the user picks one.
- ``threshold``: where the skull probability is cut.
- ``result``: the reconstruction on screen (a reconstruction from views, or a latent
  the explorer decoded); ``source_views``: the views (arrays) the last reconstruction
  from views was made from, which the latent explorer conditions on.
- ``planes``: the Plane picker's planes (view -> pose), which the Missing views
  panel may query.
- ``latent``: the latent explorer's :class:`~.core.tasks.latentstate.LatentState`,
  and ``latent_map``: its density map's summary (:class:`LatentMap`).

Setters validate and emit only on a change; a removed layer is forgotten
(:meth:`ViewerState.forget_layer`) so no slot points at what is gone.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from psygnal import Signal

from .core.sim.geometry import VIEW_NAMES

_DEFAULT_PIXEL_MM = 1.0  #: the simulated views' pixel size, until a layer says otherwise


@dataclass(frozen=True)
class LatentMap:
    """A summary of the latent density map on screen: its two dimensions, where the
    current latent is on them (prior sigma) and its log density (nats)."""

    rows: int
    cols: int
    here: tuple[float, float]
    log_q: float
    span_sigma: float

    def describe(self) -> str:
        """The map's caption: where the latent is and how likely it is."""
        return (
            f"here z{self.rows} = {self.here[0]:+.2f}, z{self.cols} = {self.here[1]:+.2f} sigma: "
            f"log q(z) {self.log_q:.1f} nats (map: z{self.rows} up, z{self.cols} right, "
            f"+-{self.span_sigma:g} sigma; click the map or drag the point to move)"
        )


class ViewerState:
    """The shared state of one viewer's panels (see the module docstring)."""

    model_changed = Signal(object)  #: the reconstruction model, or None
    views_changed = Signal(dict)  #: slot -> layer name or None
    truth_changed = Signal(object)  #: layer name or None
    threshold_changed = Signal(float)
    #: a new reconstruction from views: (Reconstruction, the views as given to it)
    reconstructed = Signal(object, object)
    #: the result on screen changed: (Reconstruction, partial); partial results (a
    #: latent move that a newer one supersedes) carry no surface or biometry
    result_changed = Signal(object, bool)
    planes_changed = Signal(dict)  #: the Plane picker's planes: view -> Pose
    latent_changed = Signal(object)  #: the explorer's LatentState, or None
    latent_map_requested = Signal()  #: someone asks for the latent density map
    latent_map_changed = Signal(object)  #: a LatentMap, or None

    def __init__(self) -> None:
        self.model: Any = None
        self.views: dict[str, str | None] = dict.fromkeys(VIEW_NAMES)
        self.pixel_mm: dict[str, float] = dict.fromkeys(VIEW_NAMES, _DEFAULT_PIXEL_MM)
        self.frame: dict[str, int] = dict.fromkeys(VIEW_NAMES, 0)
        self.truth: str | None = None
        self.threshold: float = 0.5
        self.result: Any = None
        self.source_views: dict | None = None
        self.planes: dict = {}
        self.latent: Any = None
        self.latent_map: LatentMap | None = None

    # -- the model and the views ----------------------------------------------
    def set_model(self, model) -> None:
        """A newly loaded model: results of the old one stay on screen until replaced."""
        if model is not self.model:
            self.model = model
            self.model_changed.emit(model)

    def assign(self, slot: str, layer: str | None, pixel_mm: float | None = None) -> None:
        """Assign ``layer`` (a layer name, or None for "(none)") to view ``slot``."""
        if slot not in self.views:
            raise ValueError(f"unknown view {slot!r}; the views are {', '.join(VIEW_NAMES)}")
        if layer is not None and not isinstance(layer, str):
            raise ValueError(f"a view is assigned by layer name, got {type(layer).__name__}")
        changed = self.views[slot] != layer
        if pixel_mm is not None:
            self.set_pixel_mm(slot, pixel_mm)
        if changed:
            self.views[slot] = layer
            self.frame[slot] = 0  # another layer: its first frame until the user moves it
            self.views_changed.emit(dict(self.views))

    def set_frame(self, slot: str, frame: int) -> None:
        """The frame slot ``slot`` takes of its cine layer."""
        if slot not in self.frame:
            raise ValueError(f"unknown view {slot!r}")
        if int(frame) < 0:
            raise ValueError(f"frames count from 0, got {frame}")
        if self.frame[slot] != int(frame):
            self.frame[slot] = int(frame)
            self.views_changed.emit(dict(self.views))

    def set_pixel_mm(self, slot: str, pixel_mm: float) -> None:
        if slot not in self.pixel_mm:
            raise ValueError(f"unknown view {slot!r}")
        if not 0.01 <= float(pixel_mm) <= 100.0:
            raise ValueError(f"pixel spacing must lie in 0.01-100 mm, got {pixel_mm}")
        self.pixel_mm[slot] = float(pixel_mm)

    def assigned(self) -> dict[str, str]:
        """The slots that hold a layer: slot -> layer name."""
        return {slot: name for slot, name in self.views.items() if name is not None}

    def set_truth(self, layer: str | None) -> None:
        if layer != self.truth:
            self.truth = layer
            self.truth_changed.emit(layer)

    def forget_layer(self, name: str) -> None:
        """A layer left the viewer: the slots and the truth that held it become None."""
        for slot, held in self.views.items():
            if held == name:
                self.assign(slot, None)
        if self.truth == name:
            self.set_truth(None)

    # -- results ----------------------------------------------------------------
    def set_threshold(self, threshold: float) -> None:
        t = float(threshold)
        if not 0.0 < t < 1.0:
            raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
        if t != self.threshold:
            self.threshold = t
            self.threshold_changed.emit(t)

    def set_reconstruction(self, result, views: dict) -> None:
        """A new reconstruction from ``views``: it goes on screen, and the latent
        explorer re-centres on its views."""
        self.source_views = views
        self.show(result)
        self.reconstructed.emit(result, views)

    def show(self, result, partial: bool = False) -> None:
        """Put ``result`` on screen; a partial one (no surface, no biometry) leaves
        ``result`` as the last complete one, which a new threshold re-cuts."""
        if not partial:
            self.result = result
        self.result_changed.emit(result, bool(partial))

    def set_planes(self, planes: dict) -> None:
        """The Plane picker's planes (view -> Pose); an empty dict when it has no volume."""
        if planes != self.planes:
            self.planes = dict(planes)
            self.planes_changed.emit(dict(planes))

    # -- the latent -------------------------------------------------------------
    def set_latent(self, latent) -> None:
        self.latent = latent
        self.latent_changed.emit(latent)

    def request_latent_map(self) -> None:
        self.latent_map_requested.emit()

    def set_latent_map(self, summary: LatentMap | None) -> None:
        self.latent_map = summary
        self.latent_map_changed.emit(summary)


_STATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def state_of(viewer) -> ViewerState:
    """The one :class:`ViewerState` of ``viewer`` (made on first use, gone with the
    viewer). napari hands plugins proxies of the viewer: the viewer itself is the key."""
    real = getattr(viewer, "__wrapped__", viewer)
    state = _STATES.get(real)
    if state is None:
        state = _STATES[real] = ViewerState()
    return state
