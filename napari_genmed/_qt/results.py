"""How a reconstruction is shown: its result layers and its readout.

Both the Skull reconstruction panel and the Latent explorer put reconstructions on
screen through :func:`show_reconstruction`, then tell the viewer's state
(:meth:`~napari_genmed.state.ViewerState.show`), whose subscribers (the readouts)
follow. Layers already shown are updated in place at once; new ones are added one per
turn of the event loop, so the GUI never blocks for all of them together.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field

from napari.utils.notifications import show_error

from ..layer_data import MASK, RESULT_LAYERS, SURFACE, UNCERTAINTY_UNITS, reconstruction_layers
from .layers import layer_kind, own_layer, remove_own, set_layer, unproxied

OWNER = "reconstruction"  #: the maker of the result layers (both panels that show results)
#: the wait between two layer adds: long enough for Qt to run its timers, paints and
#: input between them (a 0 ms single shot is a posted event, which Qt runs before
#: timers, so the adds ran back to back as one freeze)
ADD_SPACING_MS = 10


def show_reconstruction(viewer, r, partial: bool = False) -> bool:
    """Show reconstruction ``r``: result layers already on screen are updated in place
    now (tens of ms); a layer not there yet is added on a later turn of the event loop,
    one per turn (each add blocks napari for about 100 ms). ``partial`` (a latent move
    a newer one supersedes) leaves the surface as it is. A newer call supersedes the
    adds still queued, so old data never lands after new. On failure no mix of old
    and new layers is left (all result layers go) and False is returned."""
    t0 = time.perf_counter()
    q = _queue(viewer)
    q.generation += 1
    generation = q.generation
    q.pending = []  # superseded adds
    q.blocks = blocks = []
    layers = reconstruction_layers(r)
    pending = []
    try:
        for data, kwargs, kind in layers:
            if own_layer(viewer, kwargs["name"], OWNER) is None:
                pending.append((data, kwargs, kind))
            else:
                _colour_bar(set_layer(viewer, data, kwargs, kind, OWNER))
    except Exception as exc:  # napari or vispy refusing the data: never half a result
        return _failed(viewer, exc)
    if not partial and r.surface is None:  # no surface at this threshold
        remove_own(viewer, SURFACE, OWNER)
    if pending:
        _add_later(viewer, pending, generation, blocks)
    blocks.append(1000.0 * (time.perf_counter() - t0))
    return True


@dataclass
class _Queue:
    """One viewer's result layers in flight."""

    generation: int = 0  #: the newest show_reconstruction call
    pending: list = field(default_factory=list)  #: the layers still to be added
    #: how long each turn of the newest call blocked the GUI (ms; napari's own work for
    #: the layers included, the paint that follows not)
    blocks: list = field(default_factory=list)


_QUEUES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _queue(viewer) -> _Queue:
    """The queue of ``viewer`` itself: napari hands each panel its own proxy of the
    viewer, and all of them must see one queue (as :func:`~..state.state_of`)."""
    real = unproxied(viewer)
    q = _QUEUES.get(real)
    if q is None:
        q = _QUEUES[real] = _Queue()
    return q


def settled(viewer) -> bool:
    """Whether every result layer :func:`show_reconstruction` queued, from any panel,
    is on screen."""
    return not _queue(viewer).pending


def blocks(viewer) -> list[float]:
    """How long each turn of the newest :func:`show_reconstruction` blocked (ms)."""
    return list(_queue(viewer).blocks)


def _add_later(viewer, pending: list, generation: int, blocks: list) -> None:
    from qtpy.QtCore import QTimer

    q = _queue(viewer)
    q.pending = pending

    def step():
        if q.generation != generation or not pending:
            return  # superseded: the newer call adds what it needs
        if _closed(viewer):  # the viewer closed meanwhile
            pending.clear()
            return
        t0 = time.perf_counter()
        item = pending.pop(0)
        try:
            if callable(item):  # a colour bar, switched on after its surface's first paint
                item()
            else:
                data, kwargs, kind = item
                layer = set_layer(viewer, data, kwargs, kind, OWNER)
                if _wants_colour_bar(layer):
                    pending.insert(0, lambda: _colour_bar(layer))
        except Exception as exc:
            _failed(viewer, exc)
            return
        blocks.append(1000.0 * (time.perf_counter() - t0))
        if pending:
            QTimer.singleShot(ADD_SPACING_MS, step)

    QTimer.singleShot(ADD_SPACING_MS, step)


def _closed(viewer) -> bool:
    """Whether ``viewer``'s window is gone (napari deletes it on close). Read on the
    viewer itself, not the proxy napari hands plugins (which warns on private names):
    napari has no public "closed" flag."""
    window = getattr(unproxied(viewer), "window", None)
    return window is None or not hasattr(window, "_qt_window")


def _wants_colour_bar(layer) -> bool:
    """Whether ``layer`` is a surface coloured by uncertainty (which carries a colour bar;
    an orange one none)."""
    return layer_kind(layer) == "surface" and bool(layer.metadata.get("genmed_coloured_by"))


def _colour_bar(layer):
    """Show or hide ``layer``'s colour bar as :func:`_wants_colour_bar` says. A new
    surface gets its bar a turn later than itself: the bar's first paint (its glyphs
    and shaders, about 200 ms under software GL) and the surface's then freeze the
    GUI one after the other, not together."""
    if layer_kind(layer) == "surface":
        layer.colorbar.visible = _wants_colour_bar(layer)
    return layer


def _failed(viewer, exc) -> bool:
    q = _queue(viewer)
    q.generation += 1  # nothing queued lands
    q.pending = []
    for name in RESULT_LAYERS:
        remove_own(viewer, name, OWNER)
    show_error(f"Could not show the reconstruction: {exc}")
    return False


def format_readout(measurements: dict) -> str:
    """Biometry, the gestational age it implies, and the overlap with the truth."""
    m = measurements
    parts = []
    if "withheld" in m:
        parts.append(m["withheld"])
    elif "bpd_mm" in m:
        parts.append(f"BPD {m['bpd_mm']:.1f}  OFD {m['ofd_mm']:.1f}  HC {m['hc_mm']:.1f} mm")
        parts.append(
            f"GA {m['ga_hadlock_weeks']:.1f} weeks (Hadlock), "
            f"{m['ga_intergrowth_weeks']:.1f} weeks (INTERGROWTH)"
        )
    else:
        parts.append("no closed skull in the axial plane: no biometry")
    if "dice" in m:
        parts.append(f"vs truth: Dice {m['dice']:.3f}  SEN {m['sen']:.3f}  PPV {m['ppv']:.3f}")
    return "\n".join(parts)


def format_plausibility(result) -> str:
    """The views the plane gate doubts or refuses, and an override in force; empty
    when every view is plausible (or none was checked)."""
    from .views_box import verdict_text

    lines = [
        f"{name}: {verdict_text(p)}" for name, p in result.plausibility.items() if not p.plausible
    ]
    if result.override and any(p.implausible for p in result.plausibility.values()):
        lines.append("override: biometry shown although a view is not a fetal head plane")
    return "<br>".join(lines)


def describes(result, truth: str | None = None) -> str:
    """Which layers a readout is about: the orange surface and the labels at the
    threshold, and the truth layer the overlap is measured against."""
    views = ", ".join(result.views_used) or "no views"
    what = (
        f"<b>{SURFACE}</b> (orange) and <b>{MASK}</b> at threshold "
        f"{result.threshold:.2f}, {result.model_kind} from {views}"
    )
    if result.spread_mm is not None and result.surface is not None:
        what += f"; its colours: {UNCERTAINTY_UNITS} (colour bar)"
    if truth and "dice" in result.measurements:
        what += f"; truth: <b>{truth}</b>"
    return what


def readout_text(result, truth: str | None = None) -> str:
    """A result's readout (rich text): the gate's warnings first, then which layers it
    describes, then biometry and overlap (against layer ``truth``)."""
    warning = format_plausibility(result)
    text = (
        describes(result, truth)
        + "<br>"
        + format_readout(result.measurements).replace("\n", "<br>")
    )
    return f"{warning}<br>{text}" if warning else text
