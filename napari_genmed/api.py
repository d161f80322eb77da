"""The public facade of napari-genmed: what scripts, notebooks, the CLI and the
widgets call. Every entry point validates its input and raises a clear
``ValueError`` for bad input. Importing this module does not import torch or napari.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from .core.sim.biometry import Biometry
from .core.sim.geometry import VIEW_NAMES, Pose
from .core.sim.phantom import Phantom
from .core.sim.ultrasound import Probe, View
from .core.tasks.latentstate import LatentState

if TYPE_CHECKING:
    from torch import nn

    from .core.tasks.latent_ranking import LatentDirections
    from .core.tasks.reconstruct import Reconstruction
    from .core.tasks.viewgen import GeneratedView

__all__ = [
    "make_phantom",
    "simulate_views",
    "simulate_view",
    "load_model",
    "reconstruct",
    "decode",
    "latent_directions",
    "generate_view",
    "density_map",
    "plausibility",
    "place_views",
    "LatentState",
    "Pose",
    "View",
    "Phantom",
    "Biometry",
    "Probe",
    "VIEW_NAMES",
    "BUNDLED_MODELS",
    "BUNDLED_VIEW_GENERATORS",
]

from .core.io.bundled import NAMES as BUNDLED_MODELS  # noqa: E402  (rec-cvae, hirec-cvae, tl-net)

# noqa: E402  (mental-map, mental-map-gan, mental-map-anatomy)
from .core.io.bundled import VIEW_GENERATORS as BUNDLED_VIEW_GENERATORS

MAX_VOXELS = 512**3  #: refuse volumes larger than this (memory safety)


def _check_spacing(spacing_mm) -> float:
    if (
        isinstance(spacing_mm, bool)
        or not isinstance(spacing_mm, numbers.Real)
        or not np.isfinite(spacing_mm)
        or spacing_mm <= 0
    ):
        raise ValueError(f"spacing_mm must be a finite number > 0, got {spacing_mm!r}")
    return float(spacing_mm)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_volume(labels_or_mask) -> np.ndarray:
    if isinstance(labels_or_mask, Phantom):
        labels_or_mask = labels_or_mask.labels
    arr = np.asarray(labels_or_mask)
    if arr.ndim != 3:
        raise ValueError(
            f"expected a 3D label volume or skull mask (z, y, x), got an array of shape {arr.shape}"
        )
    if arr.size == 0 or arr.size > MAX_VOXELS:
        raise ValueError(f"volume of {arr.size} voxels is outside 1..{MAX_VOXELS}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                "the volume holds NaN or infinite values; labels must be integers (or a boolean "
                "mask)"
            )
        if not np.all(arr == np.round(arr)):
            raise ValueError(
                "the volume holds fractional values; pass integer labels or a boolean skull mask"
            )
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "biu":
        raise ValueError(f"labels must be integers or booleans, got dtype {arr.dtype}")
    if arr.dtype.kind != "b" and not (arr.min() >= 0 and arr.max() <= 1):  # not a 0/1 mask
        from .core.sim.labels import check_layout

        check_layout(arr, need_skull=True)
    return arr


def make_phantom(
    ga_weeks: float, seed: int, shape=(64, 64, 64), spacing_mm: float = 2.0
) -> Phantom:
    """A procedural fetal head at ``ga_weeks`` (16-38), reproducible from ``(seed,
    ga_weeks)``: ``.labels`` (uint8), ``.skull`` (bool), ``.spacing_mm``, ``.biometry``
    (``bpd_mm``, ``ofd_mm``, ``hc_mm``, ``ga_weeks``)."""
    from .core.sim.phantom import make_phantom as _make

    if (
        isinstance(ga_weeks, bool)
        or not isinstance(ga_weeks, numbers.Real)
        or not np.isfinite(ga_weeks)
    ):
        raise ValueError(f"ga_weeks must be a finite number, got {ga_weeks!r}")
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"shape must be three integers, got {shape!r}") from exc
    return _make(float(ga_weeks), _check_seed(seed), shape, _check_spacing(spacing_mm))


def simulate_views(
    labels_or_mask,
    spacing_mm: float = 2.0,
    seed: int = 0,
    views=VIEW_NAMES,
    jitter: bool = True,
    speckle: bool = True,
) -> dict[str, View]:
    """B-mode images of the standard planes (``axial``, ``sagittal``, ``coronal``):
    a dict name -> :class:`View` with ``.image`` (128 x 128 float32 in [0, 1], 1 mm
    pixels) and ``.pose``. With ``jitter`` the planes are perturbed (up to ~10
    degrees, ~5 mm); ``speckle=False`` renders the expected (speckle-free) image."""
    from .core.sim.ultrasound import simulate_views as _sim

    return _sim(
        _check_volume(labels_or_mask),
        _check_spacing(spacing_mm),
        _check_seed(seed),
        views,
        bool(jitter),
        bool(speckle),
    )


def simulate_view(
    labels_or_mask, pose: Pose, spacing_mm: float = 2.0, seed: int = 0, speckle: bool = True
) -> View:
    """B-mode image of any plane ``pose`` (a :class:`Pose` or its dict form)."""
    from .core.sim.ultrasound import simulate_view as _sim

    if isinstance(pose, dict):
        pose = Pose.from_dict(pose)
    if not isinstance(pose, Pose):
        raise ValueError(f"pose must be a Pose (or its dict form), got {type(pose).__name__}")
    if pose.shape[0] * pose.shape[1] > 2048**2:
        raise ValueError(f"view of {pose.shape} pixels is too large")
    return _sim(
        _check_volume(labels_or_mask),
        pose,
        _check_spacing(spacing_mm),
        _check_seed(seed),
        bool(speckle),
    )


def load_model(name_or_path, device: str = "auto") -> nn.Module:
    """A model: a bundled name (reconstruction: ``rec-cvae``, ``hirec-cvae``,
    ``tl-net``; view generators: ``mental-map``, ``mental-map-gan``,
    ``mental-map-anatomy``; flows:
    ``patch-flow``, ``toy-flow``, ``latent-flow``; SHA-256 verified) or a
    ``.safetensors`` checkpoint path. The model is in eval mode on ``device``
    (``auto``: CUDA, then MPS, then CPU); its model card (config, recipe, metrics)
    is ``model.card``."""
    from .core.io.checkpoint import load_model as _load

    return _load(name_or_path, device)


def reconstruct(
    model,
    views: dict,
    n_samples: int = 1,
    seed: int = 0,
    check: bool = True,
    allow_implausible: bool = False,
) -> Reconstruction:
    """Reconstruct the 3D skull from a dict of any subset of views (``View``
    objects, 2D arrays at 1 mm, ``(array, pixel_spacing_mm)`` pairs or dicts with
    ``image`` and ``spacing_mm``). Returns ``.probability`` (on the model's grid),
    ``.uncertainty`` (std over ``n_samples`` prior samples, else None; always None
    for TL-net, which is deterministic and draws no samples), ``.spread_mm`` (what
    that std means for the surface: how far it moves between the samples, mm),
    ``.spacing_mm``,
    ``.measurements`` (biometry and GA) and ``.plausibility`` (each view's verdict
    from the bundled plane gate for this model, :func:`plausibility`; ``check=False``
    skips it).
    When a view is not a fetal head plane the biometry is withheld
    (``.measurements["withheld"]`` says why) unless ``allow_implausible``. At least
    one view is needed (the prior alone: :func:`decode`). Same inputs and seed, same
    volume."""
    from .core.tasks.reconstruct import reconstruct as _rec

    if not hasattr(model, "reconstruct") or not hasattr(model, "config"):
        raise ValueError("model must be a loaded reconstruction model (see load_model)")
    from .core.tasks.plausibility import gate_for

    gate = gate_for(model, str(next(model.parameters()).device)) if check else None
    return _rec(
        model,
        views,
        n_samples=n_samples,
        seed=_check_seed(seed),
        gate=gate,
        allow_implausible=bool(allow_implausible),
    )


def plausibility(view, slot: str | None = None, gate=None):
    """Is ``view`` a fetal-head standard plane? ``view`` as :func:`reconstruct` takes
    one; ``slot``: the plane it is meant to be (axial, sagittal, coronal), or None to
    judge it against the plane it fits best. Returns a ``Plausibility``: ``score``
    (the share of real standard planes that look at least as unusual), ``verdict``
    ("plausible", "doubtful", "not a fetal head plane"), ``looks_like`` and ``reason``.
    ``gate``: a loaded plane gate, else the bundled one."""
    from .core.tasks.plausibility import assess_view, gate_for

    return assess_view(gate if gate is not None else gate_for(), view, slot)


def place_views(result, views: dict, net=None) -> dict:
    """Where each of ``views`` (as :func:`reconstruct` took them) lies in ``result``:
    its slot's standard plane through the reconstructed head, refined by the plane
    pose net (``net``: a loaded ``plane-pose``, else the bundled one). Returns
    ``{view: PlacedView}`` with ``.pose`` (refined), ``.nominal`` and
    ``.for_image(shape, pixel_mm)`` (the pose for the view's own image)."""
    from .core.tasks.pose import place_views as _place

    if not hasattr(result, "probability") or not hasattr(result, "spacing_mm"):
        raise ValueError("result must be a reconstruction (see reconstruct)")
    net = net if net is not None else load_model("plane-pose", "cpu")
    if getattr(net, "kind", None) != "plane-pose":
        raise ValueError("net must be a loaded plane pose net (load_model('plane-pose'))")
    return _place(net, views, result.probability, result.spacing_mm, result.threshold)


def _check_model(model) -> None:
    if (
        not hasattr(model, "decode")
        or not hasattr(model, "config")
        or not hasattr(model, "latent_dim")
    ):
        raise ValueError("model must be a loaded reconstruction model (see load_model)")


def decode(model, z, views: dict | None = None) -> np.ndarray:
    """Decode latent ``z`` (``latent_dim`` values, or a ``(B, latent_dim)`` batch)
    into the skull probability on the model's grid, conditioned on ``views`` (a dict
    as for :func:`reconstruct`) or, with ``views=None``, on no view: the model's
    unconditional prior. ``z = reference`` (the prior mean, see
    :func:`latent_directions`) gives the point estimate of :func:`reconstruct`."""
    from .core.tasks import latent

    _check_model(model)
    arr = np.asarray(z)
    if arr.dtype.kind not in "fiu" or arr.ndim not in (1, 2) or arr.shape[-1] != model.latent_dim:
        raise ValueError(
            f"z must hold {model.latent_dim} numbers (or a (B, {model.latent_dim}) batch), got "
            f"shape {arr.shape} of {arr.dtype}"
        )
    if arr.ndim == 2 and not 1 <= arr.shape[0] <= 256:
        raise ValueError(f"a batch of z must hold 1..256 latents, got {arr.shape[0]}")
    return latent.decode(model, arr, latent.condition_of(model, views))


def latent_directions(model, n_reference: int = 4) -> LatentDirections:
    """The model's latent dimensions ranked by how much they change the decoded
    skull (``.order``, ``.effect`` in voxels, ``.groups`` e.g. HiREC's levels,
    ``.code_sigma`` for TL-net). Computed once per set of weights (seconds at 64^3)
    and cached on disk."""
    from .core.tasks.latent_ranking import latent_directions as _rank

    _check_model(model)
    if (
        isinstance(n_reference, bool)
        or not isinstance(n_reference, numbers.Integral)
        or not 1 <= n_reference <= 64
    ):
        raise ValueError(f"n_reference must be an integer in 1..64, got {n_reference!r}")
    return _rank(model, int(n_reference))


def generate_view(
    model, observations, query_pose, n_samples: int = 1, seed: int = 0, texture: bool = False
) -> GeneratedView:
    """The slice at ``query_pose`` (a :class:`Pose` or its dict form) generated by a
    view generator (``load_model("mental-map-anatomy")``, ``"mental-map"`` or
    ``"mental-map-gan"``) from
    ``observations``: none to a few observed slices with their poses (``View``
    objects, e.g. from :func:`simulate_views`, or ``(image, Pose)`` pairs; a list or
    dict). Returns ``.image`` on the query's grid, ``.std`` over ``n_samples`` (else
    None), ``.pose`` and ``.native`` (the generator's 64 x 64, 2 mm image); with
    ``texture``, ``.bmode``: one B-mode sample around ``.image``, the speckle a
    scanner would show (``.image`` stays the estimate). Same inputs and seed, same
    image."""
    from .core.nets.registry import VIEW_GENERATOR_KINDS
    from .core.tasks.viewgen import generate

    if getattr(model, "kind", None) not in VIEW_GENERATOR_KINDS:
        raise ValueError(
            f"model must be a loaded view generator ({', '.join(VIEW_GENERATOR_KINDS)}); see "
            "load_model"
        )
    if isinstance(query_pose, dict):
        query_pose = Pose.from_dict(query_pose)
    if not isinstance(query_pose, Pose):
        raise ValueError(
            f"query_pose must be a Pose (or its dict form), got {type(query_pose).__name__}"
        )
    return generate(model, observations, query_pose, n_samples, _check_seed(seed), bool(texture))


def density_map(
    image, model=None, spacing_mm: float = 1.0, stride: int = 4, score: str = "corrected"
) -> np.ndarray:
    """Per-pixel score, in bits per dimension, of a 2D view under a patch flow trained
    on simulated standard-plane views (``model``: a loaded ``patch-flow``; None loads
    the bundled one): overlapping patches scored at their positions, each patch's
    negative log-likelihood less 0.35 times its compressed length in bits
    (``score="corrected"``; ``"nll"``: the bare likelihood, blind to smooth or blank
    regions), each pixel the worst of the patches covering it. High values flag what
    looks unlike the simulated ultrasound. The map has the image's shape."""
    from .core.tasks.density import density_map as _map

    if model is None:
        model = load_model("patch-flow", "cpu")
    if getattr(model, "kind", None) != "patch-glow":
        raise ValueError("model must be a loaded patch flow (load_model('patch-flow'))")
    if (
        isinstance(stride, bool)
        or not isinstance(stride, numbers.Integral)
        or not 1 <= stride <= model.config.size
    ):
        raise ValueError(f"stride must be an integer in 1..{model.config.size}, got {stride!r}")
    return _map(image, model, _check_spacing(spacing_mm), int(stride), score=score)
