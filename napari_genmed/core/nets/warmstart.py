"""Warm start of a CVAE (REC-CVAE or HiREC-CVAE) from a trained TL-net.

A CVAE whose config has TL-net's ``code_dim`` holds TL-net's whole image path:
view encoder (``conditioner``) -> ``regressor`` -> code -> ``decoder``, the decoder's
seed layer reading ``[z, code]``. Copying those weights and zeroing the seed's ``z``
columns makes the CVAE decode *any* z, the prior mean included, into exactly
TL-net's reconstruction. Training the conditional ELBO from there learns what is
new (the 3D encoder, the posterior, HiREC's conditional priors, and the use of z)
and fine-tunes the rest. It is the CVAE's decoder pre-trained as TL-net's
autoencoder decoder and jointly with its image network, which a CPU can afford
where training the CVAE from scratch to the same point cannot.
"""

from __future__ import annotations

import torch

from .interface import ReconstructionModel

#: what TL-net and a CVAE share, by parameter-name prefix
SHARED = ("conditioner.", "regressor.", "decoder.")
#: the config fields that must agree for the shared weights to mean the same thing
SAME_FIELDS = (
    "grid",
    "spacing_mm",
    "view_size",
    "view_pixel_mm",
    "view_features",
    "condition_dim",
    "view_channels",
    "dec_channels",
    "output_layers",
    "code_dim",
)


def warm_start_from_tlnet(model: ReconstructionModel, tlnet: ReconstructionModel) -> list[str]:
    """Copy ``tlnet``'s view encoder, code regressor and decoder into the CVAE
    ``model`` (in place); the decoder's seed columns for z start at zero. Returns
    the names of the tensors copied. ``ValueError`` when the two do not fit."""
    if tlnet.kind != "tl-net" or model.kind not in ("rec-cvae", "hirec-cvae"):
        raise ValueError(
            f"a warm start goes from tl-net to a CVAE, not from {tlnet.kind} to {model.kind}"
        )
    for name in SAME_FIELDS:
        mine, theirs = getattr(model.config, name), getattr(tlnet.config, name)
        if mine != theirs:
            raise ValueError(
                f"the {model.kind} config does not fit the TL-net it starts from: {name} is "
                f"{mine!r} here and {theirs!r} there"
            )
    state = model.state_dict()
    copied = []
    for key, value in tlnet.state_dict().items():
        if not key.startswith(SHARED):
            continue
        if key == "decoder.seed.weight":  # reads [z, code]: z's columns first, at zero
            seed = torch.zeros_like(state[key])
            seed[:, model.latent_dim :] = value
            value = seed
        if key not in state or state[key].shape != value.shape:
            raise ValueError(
                f"TL-net tensor {key} {tuple(value.shape)} has no counterpart in this {model.kind}"
            )
        state[key] = value.to(state[key].dtype)
        copied.append(key)
    model.load_state_dict(state)
    return copied
