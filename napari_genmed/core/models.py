"""The registry of skull-reconstruction models: kind -> (class, config class)."""

from __future__ import annotations

import dataclasses

from .cvae import CVAEConfig, RecCVAE
from .hirec import HiRECConfig, HiRecCVAE
from .recmodel import ReconstructionModel
from .tlnet import TLNet, TLNetConfig

MODELS = {
    RecCVAE.kind: (RecCVAE, CVAEConfig),
    HiRecCVAE.kind: (HiRecCVAE, HiRECConfig),
    TLNet.kind: (TLNet, TLNetConfig),
}


def config_from_dict(kind: str, values: dict):
    """Rebuild a model's config from its JSON form (lists back to tuples); unknown
    or missing fields are a ``ValueError``."""
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known kinds are {', '.join(MODELS)}")
    cls = MODELS[kind][1]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"{kind} config has unknown fields: {', '.join(sorted(unknown))}")
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    try:
        return cls(**clean)
    except TypeError as exc:
        raise ValueError(f"bad {kind} config: {exc}") from exc


def build_model(kind: str, config=None) -> ReconstructionModel:
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known kinds are {', '.join(MODELS)}")
    cls, config_cls = MODELS[kind]
    if isinstance(config, dict):
        config = config_from_dict(kind, config)
    return cls(config or config_cls())
