"""The model card a panel shows: what a checkpoint says of itself, as short text.

Everything here is read from the checkpoint's card (its config, training recipe and
metrics, written at training and bundle time), never typed in: the grid and views,
how it was trained, its held-out table, and the measured figures the panels' tooltips
quote (:func:`samples_tip`: how widely a CVAE's variants spread).
"""

from __future__ import annotations

from ..core.io.bundled import ALL, TRAINABLE_VIEW_GENERATORS


def _duration(recipe: dict) -> str:
    """How long the (last) training run took, and whether it started from earlier
    weights: another bundled model's, or a run of the model card (docs/model-card.md)
    by its folder (e.g. a CVAE warm-started from TL-net's GPU stage)."""
    start = recipe.get("init_from")
    if start in ALL:
        source = f"continued from the bundled {start} weights"
    elif start:  # a run of the model card, e.g. runs/tl-net-gpu/model.safetensors
        source = "continued from an earlier training stage (all stages: docs/model-card.md)"
    return (f" in {recipe['seconds'] / 60:.0f} min" if "seconds" in recipe else "") + (
        f", {source}" if start else ""
    )


_TL_STAGES = (
    "autoencoder",
    "image",
    "joint",
)  #: core.tlnet.STAGES, named here so the panel does not import torch


def _tl_stage_epochs(recipe: dict) -> list | None:
    """The recipe's epochs per TL-net stage (every recipe has them; only TL-net runs them)."""
    stages = recipe.get("stage_epochs")
    return stages if isinstance(stages, list) and len(stages) == len(_TL_STAGES) else None


def _stage_epochs(recipe: dict, metrics: dict):
    """The epochs of the run the weights come from: a CVAE's, or the TL-net stage
    they were kept in (its metrics count epochs within that stage)."""
    stages = _tl_stage_epochs(recipe)
    if stages and metrics.get("stage") in _TL_STAGES:
        return stages[_TL_STAGES.index(metrics["stage"])]
    return recipe.get("epochs")


def _epochs_text(kind: str, recipe: dict) -> str:
    stages = _tl_stage_epochs(recipe)
    if kind == "tl-net" and stages:  # the stages this run trained, by name
        names = ("autoencoder", "image net", "joint")
        done = [f"{e} epoch{'s' * (e != 1)} {n}" for e, n in zip(stages, names) if e]
        return " + ".join(done) if done else "0 epochs"
    return f"{recipe.get('epochs', '?')} epochs"


def _kept(recipe: dict, metrics: dict) -> str:
    """Which epoch the weights are from when training kept an earlier one than the
    last (``model.safetensors`` holds the best validation Dice)."""
    epochs, epoch = _stage_epochs(recipe, metrics), metrics.get("epoch")
    if isinstance(epochs, int) and isinstance(epoch, int) and 0 < epoch < epochs:
        return f" (kept: epoch {epoch}, the best validation Dice)"
    return ""


def _heads(recipe: dict) -> str:
    """How many training heads, and of which shape families when not the phantom's alone."""
    families = (recipe.get("data") or {}).get("families") or ["phantom"]
    n = recipe.get("train_size", "?")
    if list(families) == ["phantom"]:
        return f"{n} phantoms"
    return f"{n} heads of the {', '.join(families[:-1])} and {families[-1]} families"


def _frozen(config, recipe: dict) -> str:
    """What the last stage trained when it froze the rest (``TrainConfig.freeze``)."""
    if not recipe.get("freeze"):
        return ""
    if getattr(config, "read_sections", False) and not getattr(config, "lifted", False):
        return "; only the section reader and its branches trained, the rest frozen"
    return f"; frozen: {', '.join(p.rstrip('.') for p in recipe['freeze'])}"


def model_card(model) -> str:
    """A short, readable model card (grid, spacing, training recipe, evaluation)."""
    card = getattr(model, "card", {}) or {}
    c = model.config
    recipe = card.get("recipe", {})
    metrics = card.get("metrics", {})
    if model.kind in TRAINABLE_VIEW_GENERATORS:
        return _generator_card(model, recipe, metrics)
    if model.kind == "patch-glow":
        return _flow_card(model, recipe, metrics)
    lines = [
        f"<b>{model.kind}</b>: grid {c.grid}^3 at {c.spacing_mm:g} mm, views {c.view_size} px, "
        f"latent {model.latent_dim}-D",
        ("last training stage" if recipe.get("init_from") else "trained") + f": {_heads(recipe)}, "
        f"{_epochs_text(model.kind, recipe)}{_kept(recipe, metrics)}, "
        f"batch {recipe.get('batch_size', '?')}, seed {recipe.get('seed', '?')}, on "
        f"{recipe.get('device', '?')}" + _duration(recipe) + _frozen(c, recipe),
    ]
    table = metrics.get("table")
    if table:
        for row in table:
            lines.append(
                f"{row['views']}: DC {row['dice']:.3f}  SEN {row['sen']:.3f}  PPV {row['ppv']:.3f}"
            )
    elif "val_dice" in metrics:
        lines.append(f"validation Dice (3 views): {metrics['val_dice']:.3f}")
    return "<br>".join(lines)


def _generator_card(model, recipe: dict, metrics: dict) -> str:
    c = model.config
    lines = [
        f"<b>{model.kind}</b>: {c.size} x {c.size} slices at {c.pixel_mm:g} mm, latent "
        f"{c.latent_dim}-D"
        + (f", adversarial weight {c.adv_weight:g}" if c.adv_weight else "")
        + (f", the plane's {c.classes} labels drawn by the simulator" if c.classes else "")
        + (
            f" (their probabilities at temperature {c.label_temperature:g})"
            if c.classes and getattr(c, "label_temperature", 0)
            else ""
        )
        + (
            f", the midline's logit +{c.midline_bias:g}"
            if c.classes and getattr(c, "midline_bias", 0)
            else ""
        ),
        f"trained: {recipe.get('train_size', '?')} heads, {recipe.get('epochs', '?')} epochs, "
        f"batch {recipe.get('batch_size', '?')}, "
        f"seed {recipe.get('seed', '?')}, on {recipe.get('device', '?')}" + _duration(recipe),
    ]
    average = recipe.get("average")
    if isinstance(average, dict) and "share_tuned" in average:
        lines.append(
            f"weights: {100 * (1 - average['share_tuned']):.0f}% those it started from, "
            f"{100 * average['share_tuned']:.0f}% this fine-tune (WiSE-FT average)"
        )
    names = {1: "axial", 2: "axial+sagittal", 3: "3 standard"}
    for row in metrics.get("view_table", []):
        if row["target"] == "clean" and row.get("queries", "unobserved") == "unobserved":
            lines.append(
                f"from {names[row['observed']]}: SSIM {row['ssim']:.2f}  NCC {row['ncc']:.2f}  "
                f"PSNR {row['psnr']:.1f} dB"
            )
    if not metrics.get("view_table") and "ssim" in metrics:
        lines.append(
            f"validation (from the axial slice): SSIM {metrics['ssim']:.2f}  NCC "
            f"{metrics['ncc']:.2f}"
        )
    return "<br>".join(lines)


def _flow_card(model, recipe: dict, metrics: dict) -> str:
    c = model.config
    lines = [
        f"<b>patch flow</b> (Glow): {c.size} x {c.size} patches, {c.levels} levels x {c.steps} "
        "steps, conditioned on the patch position",
        f"trained: patches of {recipe.get('heads', '?')} heads' views, {recipe.get('steps', '?')} "
        f"steps, batch {recipe.get('batch_size', '?')}" + _duration(recipe),
    ]
    ev = metrics.get("evaluation")
    if ev:
        lines.append(
            f"test NLL {ev['test_bpd_flow']:.2f} bits/dim (Gaussian "
            f"{ev['test_bpd_gaussian']:.2f}); corruption AUC {ev['auc']['all']:.2f}"
        )
    return "<br>".join(lines)


SAMPLES_BASE = (
    "1: the point estimate. More: variants drawn from the model's latent prior; their mean "
    "is shown and their voxel-wise std colours the reconstructed surface (colour bar). The "
    "colours show where the variants differ, not how much the skull is undetermined"
)


def samples_tip(model) -> str:
    """The samples control's tooltip, with the measured spread of this model's
    variants when its card has it (``variant_spread``: `genmed ceiling --models`,
    the variants' summed voxel-wise std against a reader as accurate as the model)."""
    if not getattr(model, "can_sample", True):
        kind = getattr(model, "kind", "this model")
        return f"{kind} is deterministic: one reconstruction, no variants, no uncertainty layer"
    spread = ((getattr(model, "card", {}) or {}).get("metrics", {}) or {}).get("variant_spread")
    if not spread:
        return SAMPLES_BASE + "."
    parts = [
        f"{100 * s['variants'] / s['reader']:.0f}% ({views})"
        for views, s in spread.items()
        if s.get("reader")
    ]
    return (
        SAMPLES_BASE + f": these weights' variants spread {', '.join(parts)} as widely as the "
        "skull is left open for a reader as accurate as the model (genmed ceiling --models)."
    )
