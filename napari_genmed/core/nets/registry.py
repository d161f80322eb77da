"""The registry of models: kind -> (class, config class). Skull reconstruction
(REC-CVAE, HiREC-CVAE, TL-net), view generators (mental maps, plain and GAN) and
normalizing flows (the patch Glow, zuko's vector flows), the plane gate and the plane
pose net."""

from __future__ import annotations

import dataclasses

from ..flows.glow import GlowConfig, PatchGlow
from ..flows.vectorflows import VectorFlow, VectorFlowConfig
from .anatomy import MentalMapAnatomy
from .cvae import CVAEConfig, RecCVAE
from .hirec import HiRECConfig, HiRecCVAE
from .interface import ReconstructionModel
from .mentalmap import MentalMap, MentalMapConfig, MentalMapGAN
from .plane_gate import PlaneGate, PlaneGateConfig
from .plane_pose import PlanePoseConfig, PlanePoseNet
from .tlnet import TLNet, TLNetConfig

MODELS = {
    RecCVAE.kind: (RecCVAE, CVAEConfig),
    HiRecCVAE.kind: (HiRecCVAE, HiRECConfig),
    TLNet.kind: (TLNet, TLNetConfig),
    MentalMap.kind: (MentalMap, MentalMapConfig),  # view generators (missing views)
    MentalMapGAN.kind: (MentalMapGAN, MentalMapConfig),
    MentalMapAnatomy.kind: (MentalMapAnatomy, MentalMapConfig),
    PatchGlow.kind: (PatchGlow, GlowConfig),  # normalizing flows (density maps, latent densities)
    VectorFlow.kind: (VectorFlow, VectorFlowConfig),
    PlaneGate.kind: (PlaneGate, PlaneGateConfig),  # is a view a fetal-head standard plane?
    PlanePoseNet.kind: (PlanePoseNet, PlanePoseConfig),  # where a view lies in the head
}
RECONSTRUCTION_KINDS = (RecCVAE.kind, HiRecCVAE.kind, TLNet.kind)
VIEW_GENERATOR_KINDS = (MentalMap.kind, MentalMapGAN.kind, MentalMapAnatomy.kind)


def config_from_dict(kind: str, values: dict):
    """Rebuild a model's config from its JSON form (lists back to tuples). Unknown
    fields and badly typed values are a ``ValueError``; missing fields take their
    defaults (checkpoints from before a field existed), and the weights' check on
    loading catches any that would change the architecture."""
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known kinds are {', '.join(MODELS)}")
    if not isinstance(values, dict):
        raise ValueError(f"{kind} config must be a JSON object, not {type(values).__name__}")
    cls = MODELS[kind][1]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"{kind} config has unknown fields: {', '.join(sorted(unknown))}")
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    for name, value in clean.items():
        _check_field(kind, name, value, fields[name].default)
    try:
        return cls(**clean)
    except TypeError as exc:
        raise ValueError(f"bad {kind} config: {exc}") from exc


MAX_SIZE = 512  #: largest grid, view or channel width a config may ask for


def _check_field(kind: str, name: str, value, default) -> None:
    """Types and ranges of config values (a config from a file is untrusted)."""

    def bad(why):
        raise ValueError(f"{kind} config field {name}={value!r}: {why}")

    if isinstance(default, tuple):
        if not isinstance(value, tuple) or not 1 <= len(value) <= 8:
            bad("must be a list of 1-8 integers")
        for v in value:
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_SIZE:
                bad(f"entries must be integers in 1..{MAX_SIZE}")
    elif isinstance(default, bool):
        if not isinstance(value, bool):
            bad("must be true or false")
    elif isinstance(default, int):
        low = 0 if default == 0 else 1  # e.g. a flow's context size: 0 means unconditional
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_SIZE:
            bad(f"must be an integer in {low}..{MAX_SIZE}")
    elif isinstance(default, str):
        if not isinstance(value, str) or len(value) > 64:
            bad("must be a short string")
    elif isinstance(default, float):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not (0 <= float(value) < 1e6)
        ):
            bad("must be a finite number >= 0")
        if name.endswith("_mm") and float(value) <= 0:
            bad("must be > 0")
        if name == "fp_weight" and not 0 < float(value) < 1:
            bad("must lie strictly between 0 and 1 (0.5 is soft Dice)")


def build_model(kind: str, config=None) -> ReconstructionModel:
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known kinds are {', '.join(MODELS)}")
    cls, config_cls = MODELS[kind]
    if isinstance(config, dict):
        config = config_from_dict(kind, config)
    return cls(config or config_cls())
