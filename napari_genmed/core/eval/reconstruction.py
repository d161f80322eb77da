"""Evaluation in the layout of Cerrolaza et al.'s Table 1, on held-out phantoms.

For every model and view set (3 views, axial + sagittal, axial only) the point
estimate of each test phantom is thresholded at 0.5 (``threshold``: another cut)
and compared with the true skull: Dice (DC), sensitivity (SEN), precision (PPV),
mean +- std, with the average symmetric surface distance and the 95% Hausdorff
distance in mm beside them, and the biometry error (|BPD|, |OFD|, |HC| in mm, and
the error in the gestational age that HC implies by Hadlock's formula, in weeks;
heads whose axial cross-section gives no ellipse are counted in
``biometry_failed``). Robustness rows: heads at the edges of the GA range (16-18
and 36-38 weeks) and views with stronger pose jitter (20 degrees, 10 mm), from
three views. ``split="val"`` runs the same table on
validation heads (the split whose first heads pick each run's best epoch): the
place to choose between candidate runs or loss settings without looking at the
test heads. The main scenario's rows also keep each head's Dice (``dice_per_head``),
so that :mod:`.targets` can compare two models head by head.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..data.dataset import DatasetConfig, PhantomDataset
from ..metrics.overlap import all_metrics, overlap
from ..metrics.volume_biometry import measure
from ..progress import Job, Progress
from ..sim.biometry import ga_from_hc_hadlock
from .paper import PAPER_TABLE1, VIEW_SETS

METRICS = (
    "dice",
    "sen",
    "ppv",
    "assd_mm",
    "hd95_mm",
    "bpd_err_mm",
    "ofd_err_mm",
    "hc_err_mm",
    "ga_err_wk",
    "aligned_dice",
    "nsd_2mm",
    "extent_err_z_mm",
    "extent_err_y_mm",
    "extent_err_x_mm",
)
FRAME_FREE = METRICS[-5:]  #: computed when ``frame_free`` (docs/design.md, How a model is judged)


#: the first scenario's name per split
MAIN_SCENARIO = {"test": "held-out", "val": "validation"}


def family_scenario(family: str) -> str:
    """The scenario name of a shape family's heads."""
    return f"family {family}"


def _scenarios(n: int, data: DatasetConfig, robustness: bool, split: str = "test", families=()):
    yield MAIN_SCENARIO[split], PhantomDataset(split, n, data), VIEW_SETS
    for family in families:
        yield (
            family_scenario(family),
            PhantomDataset(split, n, replace(data, families=(family,))),
            VIEW_SETS,
        )
    if robustness:
        three = {"3 views": VIEW_SETS["3 views"]}
        yield "GA 16-18", PhantomDataset(split, n, replace(data, ga_range=(16.0, 18.0))), three
        yield "GA 36-38", PhantomDataset(split, n, replace(data, ga_range=(36.0, 38.0))), three
        yield (
            "jitter 20deg/10mm",
            PhantomDataset(split, n, replace(data, max_angle_deg=20.0, max_shift_mm=10.0)),
            three,
        )


def evaluate_job(
    models: dict,
    n: int = 50,
    data: DatasetConfig = DatasetConfig(),
    robustness: bool = True,
    device: str = "cpu",
    batch_size: int = 8,
    split: str = "test",
    threshold: float = 0.5,
    families: tuple[str, ...] = (),
    frame_free: bool = True,
) -> Job[list[dict]]:
    """Evaluate ``models`` (kind -> model) on ``split`` ("test": held-out heads, the
    reported table; "val": validation heads, for choosing), each probability cut at
    ``threshold`` (0.5, the reported table; another cut shows a model's SEN / PPV
    trade); ``families``: shape families evaluated beside the main scenario (its
    rows and each family's carry the frame-free scores when ``frame_free``); returns
    one row per (scenario, model, view set)."""
    import torch

    if split not in MAIN_SCENARIO:
        raise ValueError(f"evaluate on split 'test' or 'val', not {split!r}")
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")

    for kind, model in models.items():
        c = model.config
        if (c.grid, c.spacing_mm, c.view_size) != (
            data.grid[0],
            data.spacing_mm,
            data.view_shape[0],
        ):
            raise ValueError(
                f"{kind} works on a {c.grid}^3 grid at {c.spacing_mm} mm with {c.view_size} px "
                "views; the test data differ"
            )
    scenarios = list(_scenarios(n, data, robustness, split, families))
    total = sum(len(ds) * len(models) * len(vs) for _, ds, vs in scenarios)
    done, rows = 0, []
    for scenario, dataset, view_sets in scenarios:
        per = {(k, v): {m: [] for m in METRICS} for k in models for v in view_sets}
        for start in range(0, len(dataset), batch_size):
            items = [dataset.arrays(i) for i in range(start, min(start + batch_size, len(dataset)))]
            views = torch.as_tensor(np.stack([it["views"] for it in items])).to(device)
            for kind, model in models.items():
                for vs_name, mask in view_sets.items():
                    m = torch.tensor([mask] * len(items), device=device)
                    prob, _ = model.reconstruct(views, m)
                    for p, it in zip(prob[:, 0].float().cpu().numpy(), items):
                        with_frame = frame_free and (
                            scenario == scenarios[0][0] or scenario.startswith("family ")
                        )
                        res = head_metrics(p, it, data.spacing_mm, threshold, with_frame)
                        for key in METRICS:
                            per[(kind, vs_name)][key].append(res[key])
                    done += len(items)
                    yield Progress(done, total, f"{scenario}: {kind}, {vs_name}")
        for (kind, vs_name), values in per.items():
            row = {
                "scenario": scenario,
                "model": kind,
                "views": vs_name,
                "n": len(dataset),
                "split": split,
                "threshold": float(threshold),
            }
            for key, vals in values.items():
                arr = np.asarray(vals, float)
                ok = arr[np.isfinite(arr)]  # an empty prediction has no surface: counted below
                row[key] = float(ok.mean()) if ok.size else float("nan")
                row[key + "_std"] = float(ok.std()) if ok.size else float("nan")
            row["failed"] = int(np.sum(~np.isfinite(np.asarray(values["assd_mm"], float))))
            row["biometry_failed"] = int(
                np.sum(~np.isfinite(np.asarray(values["hc_err_mm"], float)))
            )
            if scenario.startswith("family "):
                row["family"] = scenario.split(" ", 1)[1]
                row["dice_per_head"] = [float(x) for x in values["dice"]]
                row["aligned_dice_per_head"] = [float(x) for x in values["aligned_dice"]]
            if scenario in MAIN_SCENARIO.values():
                row["dice_per_head"] = [
                    float(x) for x in values["dice"]
                ]  # in the split's order: paired comparisons (core.targets)
                paper = PAPER_TABLE1.get(kind, {}).get(vs_name)
                if paper:
                    row["paper"] = paper
                    row["meets_paper"] = bool(
                        row["dice"] >= paper[0]
                        and row["sen"] >= paper[1]
                        and row["ppv"] >= paper[2]
                    )
            rows.append(row)
    return rows


def head_metrics(
    p: np.ndarray, item: dict, spacing_mm: float, threshold: float, frame_free: bool
) -> dict:
    """One head's scores: overlap, surface distances, biometry errors, and with
    ``frame_free`` Dice after the best rigid alignment, normalised surface Dice at 2 mm
    (after it) and the errors of the extents along z, y and x (NaN otherwise)."""
    from ..metrics.alignment import aligned, extents_mm, normalised_surface_dice, rigid_alignment

    truth = item["labels"] == 1
    res = all_metrics(p > threshold, truth, spacing_mm)
    bpd, ofd, hc = item["biometry"][:3]
    try:
        b = measure(p, spacing_mm, threshold)
        res |= {
            "bpd_err_mm": abs(b["bpd_mm"] - bpd),
            "ofd_err_mm": abs(b["ofd_mm"] - ofd),
            "hc_err_mm": abs(b["hc_mm"] - hc),
            "ga_err_wk": abs(b["ga_hadlock_weeks"] - float(ga_from_hc_hadlock(hc))),
        }
    except ValueError:
        res |= dict.fromkeys(("bpd_err_mm", "ofd_err_mm", "hc_err_mm", "ga_err_wk"), np.nan)
    res |= dict.fromkeys(FRAME_FREE, np.nan)
    if frame_free:
        rotation, shift = rigid_alignment(p, truth)
        moved = aligned(p, rotation, shift) > threshold
        err = np.abs(extents_mm(p > threshold, spacing_mm) - extents_mm(truth, spacing_mm))
        res |= {
            "aligned_dice": overlap(moved, truth)["dice"],
            "nsd_2mm": normalised_surface_dice(moved, truth, spacing_mm, 2.0),
            "extent_err_z_mm": err[0],
            "extent_err_y_mm": err[1],
            "extent_err_x_mm": err[2],
        }
    return res


def format_table(rows: list[dict]) -> str:
    """Rows as a Markdown table in Table 1's layout (DC / SEN / PPV, mean +- std).
    The overlap means get three decimals: at two, 0.905 would print as the paper's
    0.91 beside "not met"."""
    head = (
        "| scenario | model | views | DC | SEN | PPV | ASSD mm | HD95 mm | BPD/OFD/HC err mm | "
        "GA err wk | paper DC/SEN/PPV |"
    )
    lines = [head, "|" + "---|" * 11]
    cuts = sorted({r.get("threshold", 0.5) for r in rows} - {0.5})
    if cuts:  # say it where the numbers are: the reported table cuts at 0.5
        lines.insert(
            0,
            f"Skull probability cut at {', '.join(f'{c:g}' for c in cuts)} (the reported table: "
            "0.5)\n",
        )
    for r in rows:

        def ms(k, d=2, r=r):
            return f"{r[k]:.{d}f} +- {r[k + '_std']:.2f}"

        nofit = f" ({r['biometry_failed']} no fit)" if r.get("biometry_failed") else ""
        paper = (
            "/".join(f"{v:.2f}" for v in r["paper"]) + (" met" if r["meets_paper"] else " not met")
            if "paper" in r
            else ""
        )
        lines.append(
            f"| {r['scenario']} | {r['model']} | {r['views']} | {ms('dice', 3)} | {ms('sen', 3)} "
            f"| {ms('ppv', 3)} | "
            f"{ms('assd_mm')} | {ms('hd95_mm')} | "
            f"{r['bpd_err_mm']:.1f}/{r['ofd_err_mm']:.1f}/{r['hc_err_mm']:.1f}{nofit} | "
            f"{r.get('ga_err_wk', float('nan')):.2f} | {paper} |"
        )
    return "\n".join(lines)


def format_frame_free(rows: list[dict]) -> str:
    """The rows that carry the frame-free scores, as a Markdown table: raw Dice, Dice
    after the best rigid alignment, normalised surface Dice at 2 mm (after it), the
    extents' errors and the HC error."""
    rows = [r for r in rows if np.isfinite(r.get("aligned_dice", np.nan))]
    if not rows:
        return ""
    lines = [
        "| scenario | model | views | DC | DC aligned | NSD 2 mm | extent err z/y/x mm | HC err "
        "mm |",
        "|" + "---|" * 8,
    ]
    for r in rows:
        ext = "/".join(f"{r[f'extent_err_{a}_mm']:.1f}" for a in "zyx")
        lines.append(
            f"| {r['scenario']} | {r['model']} | {r['views']} | {r['dice']:.3f} | "
            f"{r['aligned_dice']:.3f} +- {r['aligned_dice_std']:.3f} | {r['nsd_2mm']:.3f} | {ext} "
            "| "
            f"{r['hc_err_mm']:.1f} |"
        )
    return "\n".join(lines)
