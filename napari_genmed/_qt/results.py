"""How a reconstruction is shown: its result layers and its readout.

Both the Skull reconstruction panel and the Latent explorer put reconstructions on
screen through :func:`show_reconstruction`, then tell the viewer's state
(:meth:`~napari_genmed.state.ViewerState.show`), whose subscribers (the readouts)
follow. The result layers are replaced all together or not at all.
"""

from __future__ import annotations

from napari.utils.notifications import show_error

from ..layer_data import MASK, RESULT_LAYERS, SURFACE, UNCERTAINTY, reconstruction_layers
from .layers import add_layers, layer_kind, remove_own

OWNER = "reconstruction"  #: the maker of the result layers (both panels that show results)


def show_reconstruction(viewer, r, partial: bool = False) -> bool:
    """Replace the result layers with reconstruction ``r``; ``partial`` (a latent
    move a newer one supersedes) leaves the surface as it is. On failure no mix of
    old and new layers is left (all result layers go) and False is returned."""
    layers = reconstruction_layers(r)
    try:
        shown = add_layers(viewer, layers, OWNER)
    except Exception as exc:  # napari or vispy refusing the data: never half a result
        for name in RESULT_LAYERS:
            remove_own(viewer, name, OWNER)
        show_error(f"Could not show the reconstruction: {exc}")
        return False
    for layer in shown:  # a surface coloured by uncertainty carries its colour bar
        if layer_kind(layer) == "surface":
            layer.colorbar.visible = bool(layer.metadata.get("genmed_coloured_by"))
    stale = {SURFACE, UNCERTAINTY} - {kwargs["name"] for _, kwargs, _ in layers}
    if partial:
        stale.discard(SURFACE)
    for name in stale:
        remove_own(viewer, name, OWNER)
    return True


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
    if result.uncertainty is not None and result.surface is not None:
        what += "; its colours: std of the skull probability over the samples (colour bar)"
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
