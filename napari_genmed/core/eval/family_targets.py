"""The targets on shape families (issue 23), as checks over `genmed evaluate`'s rows.

On every family the product was not trained on, a reconstruction must read the skull
in the views, not recall its own family's average head:

1. REC-CVAE and HiREC-CVAE from three views: Dice after the best rigid alignment
   >= 0.85 and normalised surface Dice at 2 mm >= 0.95, on every held-out family;
2. more views never worse, for every model on every family and in family: three
   views >= axial + sagittal >= axial only, within 0.01 (on the aligned Dice, which
   a frame convention cannot spoil);
3. HiREC-CVAE at or above REC-CVAE with views missing, on every family, judged on the
   paired per-head aligned Dice (:func:`~.targets.paired_difference`).
"""

from __future__ import annotations

import numpy as np

ALIGNED_DC = 0.85  #: three-view Dice after alignment on a held-out family
SURFACE_DICE = 0.95  #: three-view normalised surface Dice at 2 mm on a held-out family
TOLERANCE = 0.01  #: "more views never worse" within this
ORDER = ("3 views", "axial+sagittal", "axial only")


def _score(row: dict) -> float:
    value = row.get("aligned_dice", float("nan"))
    return value if np.isfinite(value) else row["dice"]


def check_family_targets(rows: list[dict], held_out: tuple[str, ...]) -> list[dict]:
    from .targets import paired_difference

    out = []
    scenarios = sorted({r["scenario"] for r in rows if "family" in r or "paper" in r})
    by = {(r["scenario"], r["model"], r["views"]): r for r in rows}
    for row in rows:
        if (
            row.get("family") in held_out
            and row["views"] == "3 views"
            and row["model"] in ("rec-cvae", "hirec-cvae")
        ):
            dc, nsd = row["aligned_dice"], row["nsd_2mm"]
            out.append(
                {
                    "target": f"{row['model']}, held-out family {row['family']}: aligned DC >= "
                    f"{ALIGNED_DC} and NSD >= {SURFACE_DICE} from three views",
                    "met": bool(dc >= ALIGNED_DC and nsd >= SURFACE_DICE),
                    "detail": f"aligned DC {dc:.3f}, NSD at 2 mm {nsd:.3f} (raw DC "
                    f"{row['dice']:.3f})",
                }
            )
    for scenario in scenarios:
        for model in sorted({r["model"] for r in rows if r["scenario"] == scenario}):
            got = [by.get((scenario, model, v)) for v in ORDER]
            if any(g is None for g in got):
                continue
            s = [_score(g) for g in got]
            out.append(
                {
                    "target": f"{model}, {scenario}: more views never worse (within {TOLERANCE})",
                    "met": bool(s[0] >= s[1] - TOLERANCE and s[1] >= s[2] - TOLERANCE),
                    "detail": " >= ".join(f"{v:.3f}" for v in s) + " (3 views, a+s, axial only)",
                }
            )
    for scenario in [s for s in scenarios if s.startswith("family ")]:
        for views in ORDER[1:]:
            hi, rec = by.get((scenario, "hirec-cvae", views)), by.get((scenario, "rec-cvae", views))
            if hi is None or rec is None or "aligned_dice_per_head" not in hi:
                continue
            d = paired_difference(hi["aligned_dice_per_head"], rec["aligned_dice_per_head"])
            lo, up = d["ci95"]
            out.append(
                {
                    "target": f"hirec-cvae at or above rec-cvae, {scenario}, {views}",
                    "met": bool(d["mean"] >= 0),
                    "detail": f"aligned DC {_score(hi):.3f} against {_score(rec):.3f}; paired "
                    f"{d['mean']:+.4f} (95% CI {lo:+.4f} to {up:+.4f}): "
                    f"{d['verdict']}",
                }
            )
    return out
