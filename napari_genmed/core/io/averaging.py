"""Weight averaging of a fine-tune with the weights it started from.

``(1 - share) * start + share * tuned``, tensor by tensor, for two checkpoints of one
network: the same tensors and shapes, and configs that differ at most in their loss
weights (``*_weight`` fields, which shape training, not the net): a fine-tune keeps
its start's network even where it trains it under another loss or kind (the view GAN
is the mental map trained further against a discriminator). Wortsman et al., "Robust
fine-tuning of zero-shot models" (WiSE-FT, CVPR 2022): when a fine-tune starts from a model and
moves it towards new data, the straight line between the two often keeps most of the
start's scores on its own data and most of the fine-tune's on the new. Written here
(a few lines over :mod:`.checkpoint`) rather than taken from a library: torch's
``swa_utils`` averages along one run, not two end points.
"""

from __future__ import annotations

from pathlib import Path


def average_checkpoints(start, tuned, share: float, out) -> Path:
    """Write ``(1 - share) * start + share * tuned`` to ``out`` (checkpoint paths or
    bundled names); the card keeps ``tuned``'s recipe with ``average`` added (both
    sources and the share). Integer tensors (counters) are taken from ``tuned``."""
    import torch

    from .checkpoint import load_model, save_checkpoint

    share = float(share)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must lie within 0..1, not {share}")
    a, b = load_model(str(start), "cpu"), load_model(str(tuned), "cpu")
    sa, sb = a.state_dict(), b.state_dict()
    if _network(a.config_dict()) != _network(b.config_dict()) or {
        k: v.shape for k, v in sa.items()
    } != {k: v.shape for k, v in sb.items()}:
        raise ValueError(
            f"{start} and {tuned} are not one architecture ({a.kind} against {b.kind}; "
            "their networks differ): only a fine-tune and its start can be averaged"
        )
    with torch.no_grad():
        b.load_state_dict(
            {k: torch.lerp(sa[k], v, share) if v.is_floating_point() else v for k, v in sb.items()}
        )
    recipe = dict(b.card.get("recipe", {})) | {
        "average": {"start": str(start), "tuned": str(tuned), "share_tuned": share}
    }
    return save_checkpoint(out, b, recipe, b.card.get("metrics", {}))


def _network(config: dict) -> dict:
    """A config less its loss weights: what fixes the network itself."""
    return {k: v for k, v in config.items() if not k.endswith("_weight")}
