"""Warm starts: a CVAE (REC-CVAE or HiREC-CVAE) from a trained TL-net, and HiREC-CVAE
from a trained REC-CVAE.

A CVAE whose config has TL-net's ``code_dim`` holds TL-net's whole image path:
view encoder (``conditioner``) -> ``regressor`` -> code -> ``decoder``, the decoder's
seed layer reading ``[z, code]``. Copying those weights and zeroing the seed's ``z``
columns makes the CVAE decode *any* z, the prior mean included, into exactly
TL-net's reconstruction. Training the conditional ELBO from there learns what is
new (the 3D encoder, the posterior, HiREC's conditional priors, and the use of z)
and fine-tunes the rest. It is the CVAE's decoder pre-trained as TL-net's
autoencoder decoder and jointly with its image network, which a CPU can afford
where training the CVAE from scratch to the same point cannot.

HiREC-CVAE shares REC-CVAE's view path, 3D skull encoder and decoder when its levels
add up to REC's latent size (16 + 8 + 8 = 32): :func:`warm_start_from_rec` copies them,
and only the nested priors and posteriors start fresh (about an eighth of the lifted
HiREC's parameters). The decoder then reads the levels' concatenated z where REC's
read its one z, so the prior mean decodes to REC's z = 0 reconstruction at the start.
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


#: what REC-CVAE and HiREC-CVAE share, by parameter-name prefix
SHARED_CVAE = ("conditioner.", "regressor.", "decoder.", "skull_encoder.")


def warm_start_from_rec(model: ReconstructionModel, rec: ReconstructionModel) -> list[str]:
    """Copy ``rec``'s view path, skull encoder and decoder into the HiREC-CVAE
    ``model`` (in place; its priors and posteriors stay as they are). Returns the
    names copied. ``ValueError`` when the two do not fit."""
    if rec.kind != "rec-cvae" or model.kind != "hirec-cvae":
        raise ValueError(
            f"this warm start goes from rec-cvae to hirec-cvae, not {rec.kind} to {model.kind}"
        )
    state, theirs = model.state_dict(), rec.state_dict()
    mine = [k for k in state if k.startswith(SHARED_CVAE)]
    wrong = [k for k in mine if k not in theirs or theirs[k].shape != state[k].shape]
    if wrong or model.latent_dim != rec.latent_dim:
        raise ValueError(
            f"the hirec-cvae does not fit the rec-cvae it starts from (latent "
            f"{model.latent_dim} against {rec.latent_dim}"
            + (f"; e.g. {wrong[0]}" if wrong else "")
            + ")"
        )
    for key in mine:
        state[key] = theirs[key].to(state[key].dtype)
    model.load_state_dict(state)
    return mine
