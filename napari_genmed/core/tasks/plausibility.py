"""Is a view a fetal-head standard plane? Verdicts from the plane gate's numbers.

For a view assigned to a slot (axial, sagittal or coronal) the gate gives the
conformal p-value of the view against that plane's held-out clean views and the
probabilities of the four classes (:mod:`~..nets.plane_gate`). The verdict:

- **not a fetal head plane** when ``p < P_IMPLAUSIBLE``: fewer than 1 in 100 real
  standard planes of that kind look this unusual to the gate;
- **doubtful** when the classifier is at least ``LOOKS_LIKE`` sure the view is
  another standard plane or an off-standard one;
- **plausible** otherwise.

Chosen on validation heads of the training families (not the test heads the
evaluation reports): a second, "unusual" band at ``p < 0.03`` flagged 3-6% of the
harmonic and clinical families' real planes while every input that is not a head
plane already lies beyond ``p = 0.01`` (most beyond every calibration view); one
threshold it is.

An unassigned view is judged against the plane it fits best. Reconstructions built on
a view that is not a fetal head plane withhold their biometry and gestational age
unless the user overrides (:mod:`.reconstruct`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..sim.geometry import VIEW_NAMES, check_view_name
from .viewprep import prepare_view

P_IMPLAUSIBLE = 0.01  #: below: not a fetal head plane (1% of real standard planes are)
LOOKS_LIKE = 0.8  #: the classifier's certainty that it is another kind of plane: doubtful

PLAUSIBLE, DOUBTFUL, IMPLAUSIBLE = "plausible", "doubtful", "not a fetal head plane"


@dataclass(frozen=True)
class Plausibility:
    """The gate's verdict on one view."""

    slot: str | None  #: the plane the view was assigned as (None: unassigned)
    plane: str  #: the plane it was judged against (the slot, else the best fitting)
    score: float  #: conformal p-value in (0, 1]: the share of real planes as unusual
    verdict: str  #: "plausible", "doubtful" or "not a fetal head plane"
    looks_like: str  #: axial, sagittal, coronal or off-standard (the classifier's pick)
    looks_like_probability: float
    reason: str  #: one sentence for the user

    @property
    def plausible(self) -> bool:
        return self.verdict == PLAUSIBLE

    @property
    def implausible(self) -> bool:
        return self.verdict == IMPLAUSIBLE

    def as_dict(self) -> dict:
        return asdict(self)


def _verdict(slot, plane, p, probs) -> Plausibility:
    from ..nets.plane_gate import CLASSES

    best = int(np.argmax(probs))
    looks, certainty = CLASSES[best], float(probs[best])
    odds = f"p = {p:.3f}: {_share(p)} real {plane} planes look this unusual"
    if p < P_IMPLAUSIBLE:
        verdict, reason = (
            IMPLAUSIBLE,
            f"unlike any fetal-head {plane} plane the models know ({odds})",
        )
    elif looks != plane and certainty >= LOOKS_LIKE:
        what = "a plane off the standard ones" if looks == "off-standard" else f"a {looks} plane"
        verdict, reason = DOUBTFUL, f"looks like {what} (certainty {certainty:.2f}), not {plane}"
    else:
        verdict, reason = PLAUSIBLE, f"a typical {plane} plane ({odds})"
    return Plausibility(slot, plane, float(p), verdict, looks, certainty, reason)


def _share(p: float) -> str:
    return "fewer than 1 in 100" if p < 0.01 else f"about {round(100 * p)} in 100"


def assess_prepared(gate, images: np.ndarray, slots) -> list[Plausibility]:
    """Verdicts on prepared views ``(N, H, W)`` (the model's size and pixel, values
    in [0, 1]); ``slots``: each view's plane name, or None to take the best fitting."""
    import torch

    device = gate.means.device  # the gate may sit on the model's GPU
    x = torch.as_tensor(np.asarray(images, np.float32), device=device)
    if len(slots) > 1 and None not in slots and len(set(slots)) == len(slots):
        return assess_alongside(gate, x, slots)[0]  # a reconstruction's: one pass
    out = []
    for i, slot in enumerate(slots):
        planes = range(len(VIEW_NAMES)) if slot is None else [VIEW_NAMES.index(slot)]
        results = [(k, gate(x[i : i + 1], k)) for k in planes]
        k, r = max(results, key=lambda kr: float(kr[1]["p_value"][0]))
        out.append(
            _verdict(slot, VIEW_NAMES[k], float(r["p_value"][0]), r["planes"][0].cpu().numpy())
        )
    return out


def assess_alongside(gate, views, slots, riders=None) -> tuple[list[Plausibility], object]:
    """Verdicts on ``(N, H, W)`` prepared view tensors of distinct ``slots``, in one
    pass of the gate's encoders side by side, with ``riders`` (``(stacks, images)``: a
    reconstruction model's view encoders and their inputs, see
    :meth:`~..nets.plane_gate.PlaneGate.features_side_by_side`) in the same calls; and
    the riders' maps (None without riders)."""
    planes = [VIEW_NAMES.index(s) for s in slots]
    r, maps = gate.judge_side_by_side(views, planes, riders)
    p, probs = r["p_value"].tolist(), r["planes"].cpu().numpy()
    return [_verdict(s, s, p[i], probs[i]) for i, s in enumerate(slots)], maps


def assess_view(gate, view, slot: str | None = None) -> Plausibility:
    """The verdict on one view as a user gives it (an array at 1 mm, an ``(array,
    spacing_mm)`` pair, a dict with ``image`` and ``spacing_mm`` or a simulated
    ``View``), assigned as ``slot`` or, with None, against the plane it fits best."""
    if slot is not None:
        slot = check_view_name(slot)
    c = gate.config
    image = prepare_view(slot or "view", view, c.view_size, c.view_pixel_mm)
    return assess_prepared(gate, image[None], [slot])[0]


def most_plausible(views, gate, slot: str | None) -> tuple[int, np.ndarray]:
    """The most plausible of ``views`` (``(image, pixel mm)`` pairs, e.g. a cine's
    frames) as ``slot`` by the plane gate's score (the first of equals), and every
    score."""
    scores = np.array([assess_view(gate, view, slot).score for view in views])
    if scores.size == 0:
        raise ValueError("no frames to choose from")
    return int(np.argmax(scores)), scores


def best_frame(acq, gate, slot: str | None) -> tuple[int, np.ndarray]:
    """The most plausible frame of :class:`~..io.acquired.Acquisition` ``acq`` as
    ``slot`` and every frame's score."""
    from ..io.acquired import view_of

    return most_plausible((view_of(acq, k) for k in range(acq.n_frames)), gate, slot)


_GATES: dict = {}  #: bundled gates loaded, by (name, device)


def _loaded(name: str, device: str):
    key = (name, str(device))
    if key not in _GATES:
        from ..io.checkpoint import load_model

        _GATES[key] = load_model(name, str(device))
    return _GATES[key]


def gate_for(model=None, device: str = "cpu"):
    """The bundled plane gate to judge ``model``'s views with: the one fitted on that
    model's own view encoders (``plane-gate-<kind>``) when one is bundled and the
    model still has those encoders, since it then adds no convolution to the model's
    reconstructions; else, and without a model, the default gate (``plane-gate``, on
    TL-net's encoders). Each gate is calibrated on its own features (``genmed
    evaluate-plausibility`` reports each), loaded once per device."""
    from ..io.bundled import GATES

    name = f"plane-gate-{getattr(model, 'kind', None)}"
    if model is not None and name in GATES:
        own = _loaded(name, device)
        if own.reads_with(model.view_stacks()):
            return own
    return _loaded("plane-gate", device)
