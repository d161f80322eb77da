"""The reconstruction targets as checks over the rows of `genmed evaluate`.

Three kinds of target, all on the main scenario (held-out heads, or validation heads
with ``split="val"``):

1. every model at or above the paper's row (DC, SEN and PPV) for every view set: the
   ``meets_paper`` flag of each row;
2. REC-CVAE and HiREC-CVAE with DC >= 0.91 from three views;
3. HiREC-CVAE at or above REC-CVAE with views missing (axial + sagittal, axial only).

The third compares two models on the same heads, so it is judged on the paired
per-head differences ``d_i = DC(HiREC, head i) - DC(REC, head i)``: their mean, and the
95% confidence interval ``mean +- t(0.975, n - 1) * sd / sqrt(n)`` (Student's t). Each
head's own difficulty cancels in ``d_i``, so this interval is several times narrower
than the standard errors of the two means compared apart. The target as written (the
mean at or above) is met when the mean difference is >= 0; beside it the interval
says whether the two are told apart at all: "ahead" when it lies above zero, "behind"
when below, "a tie" when it holds zero.

Written here rather than taken from a library: it is the issue's list of targets;
only the t quantile comes from scipy.
"""

from __future__ import annotations

import numpy as np

from .paper import VIEW_SETS

#: the Dice every CVAE must reach from three views
CVAE_THREE_VIEW_DC = 0.91
MISSING = tuple(v for v in VIEW_SETS if v != "3 views")  #: the view sets with a view missing


def paired_difference(a: list[float], b: list[float]) -> dict:
    """Mean of ``a - b`` over paired heads, its 95% confidence interval and a verdict."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(
            f"paired values must be two equally long lists, got {a.shape} and {b.shape}"
        )
    d = a - b
    d = d[np.isfinite(d)]
    if d.size == 0:
        raise ValueError("no head has a finite Dice for both models")
    mean = float(d.mean())
    if d.size < 2:
        lo = hi = float("nan")
        verdict = "ahead" if mean > 0 else "behind" if mean < 0 else "a tie"
    else:
        from scipy.stats import t

        half = float(t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size))
        lo, hi = mean - half, mean + half
        verdict = "ahead" if lo > 0 else "behind" if hi < 0 else "a tie"
    return {"mean": mean, "ci95": (lo, hi), "n": int(d.size), "verdict": verdict}


def check_targets(rows: list[dict], held_out: tuple[str, ...] | None = None) -> list[dict]:
    """One dict per target that ``rows`` can judge: ``target`` (words), ``met`` (bool)
    and ``detail`` (the numbers); targets about a model that was not evaluated are left out.
    The shape families' targets follow (:mod:`.family_targets`; ``held_out``: the
    families no model trained on, by default the product's held-out ones)."""
    from ..sim.families import HELD_OUT
    from .family_targets import check_family_targets

    main = [r for r in rows if "paper" in r]
    by = {(r["model"], r["views"]): r for r in main}
    out = []
    for r in main:
        p, name = r["paper"], f"{r['model']}, {r['views']}"
        got = f"{r['dice']:.3f} / {r['sen']:.3f} / {r['ppv']:.3f}"
        out.append(
            {
                "target": f"{name}: at or above the paper's row",
                "met": bool(r["meets_paper"]),
                "detail": f"DC / SEN / PPV {got} against {p[0]:.2f} / {p[1]:.2f} / {p[2]:.2f}",
            }
        )
    for model in ("rec-cvae", "hirec-cvae"):
        r = by.get((model, "3 views"))
        if r is not None:
            out.append(
                {
                    "target": f"{model}: DC >= {CVAE_THREE_VIEW_DC} from three views",
                    "met": bool(r["dice"] >= CVAE_THREE_VIEW_DC),
                    "detail": f"DC {r['dice']:.3f}",
                }
            )
    for views in MISSING:
        hi, rec = by.get(("hirec-cvae", views)), by.get(("rec-cvae", views))
        if hi is None or rec is None:
            continue
        if "dice_per_head" in hi and "dice_per_head" in rec:
            d = paired_difference(hi["dice_per_head"], rec["dice_per_head"])
            lo, up = d["ci95"]
            detail = (
                f"DC {hi['dice']:.4f} against {rec['dice']:.4f}; paired difference "
                f"{d['mean']:+.4f} "
                f"(95% CI {lo:+.4f} to {up:+.4f}, {d['n']} heads): {d['verdict']}"
            )
            met = d["mean"] >= 0
        else:  # rows saved before the per-head values were kept
            detail, met = (
                f"DC {hi['dice']:.4f} against {rec['dice']:.4f} (no per-head values: means only)",
                hi["dice"] >= rec["dice"],
            )
        out.append(
            {
                "target": f"hirec-cvae at or above rec-cvae, {views}",
                "met": bool(met),
                "detail": detail,
            }
        )
    return out + check_family_targets(rows, HELD_OUT if held_out is None else held_out)


def format_targets(checks: list[dict]) -> str:
    """The checks as a short list under the table: met / NOT met, target, numbers."""
    if not checks:
        return ""
    met = sum(c["met"] for c in checks)
    lines = [f"Targets: {met} of {len(checks)} met"]
    lines += [
        f"  {'met    ' if c['met'] else 'NOT met'}  {c['target']}: {c['detail']}" for c in checks
    ]
    return "\n".join(lines)
