"""``genmed evaluate-views``: generated missing views against the truth.

On held-out scenes (test seeds, never trained on) each method sees 1 (axial), 2
(axial + sagittal) or 3 (all standard) observed slices and generates every other
slice of the scene: the standard planes not observed and two oblique planes (rows
``unobserved``), and, so that 1, 2 and 3 observed slices answer the same questions,
the two oblique planes alone (rows ``oblique``). Each
generated image is compared with the simulator's speckle-free rendering of the true
plane and with the speckled B-mode image, on the generators' 64 x 64 grid of 2 mm
pixels: SSIM, NCC and PSNR, mean +- std. The baseline route reconstructs the skull
with a reconstruction model (from the full-resolution standard views) and renders
the query plane through it with a generic probe (seed 0).
"""

from __future__ import annotations

import numpy as np

from ..progress import Job, Progress

OBSERVED = {1: (0,), 2: (0, 1), 3: (0, 1, 2)}  #: observed slices: axial; + sagittal; + coronal
TARGETS = ("clean", "speckled")
QUERIES = (
    "unobserved",
    "oblique",
)  #: every plane not observed; only the two oblique planes (the same for every k)


def evaluate_views_job(
    generators: dict, recon_model=None, n: int = 20, cache_dir=None
) -> Job[list[dict]]:
    """Rows ``{method, observed, target, queries, ssim, ncc, psnr (mean, std), n}``."""
    from ..data.dataset import PhantomDataset
    from ..data.scenes import SceneDataset, pose_from_vector
    from ..metrics.similarity import similarity
    from ..sim.geometry import VIEW_NAMES
    from ..tasks.viewgen import baseline, generate

    if not 1 <= int(n) <= 10_000:
        raise ValueError(f"n must lie in 1..10000, got {n}")
    scenes, heads = (
        SceneDataset("test", n, cache_dir),
        PhantomDataset("test", n, cache_dir=cache_dir),
    )
    methods = list(generators) + (
        ["baseline (reconstruct + simulate)"] if recon_model is not None else []
    )
    scores: dict = {}
    for i in range(n):
        yield Progress(i, n, f"held-out scene {i + 1} of {n}")
        scene, head = scenes[i], heads.arrays(i)
        poses = [pose_from_vector(v, (64, 64)) for v in scene["poses"]]
        for k, observed in OBSERVED.items():
            obs = [(scene["speckled"][j], poses[j]) for j in observed]
            views = {VIEW_NAMES[j]: (head["views"][j], 1.0) for j in observed}
            for q in (q for q in range(len(poses)) if q not in observed):
                for method in methods:
                    if method in generators:
                        out = generate(generators[method], obs, poses[q]).native
                    else:
                        out = baseline(recon_model, views, poses[q]).native
                    for target in TARGETS:
                        for metric, value in similarity(out, scene[target][q]).items():
                            scores.setdefault((method, k, target, metric, "unobserved"), []).append(
                                value
                            )
                            if q >= len(
                                VIEW_NAMES
                            ):  # the oblique planes: the same queries for every k
                                scores.setdefault(
                                    (method, k, target, metric, "oblique"), []
                                ).append(value)
    yield Progress(n, n, "done")
    rows = []
    for queries in QUERIES:
        for method in methods:
            for k in OBSERVED:
                for target in TARGETS:
                    key = (method, k, target)
                    row = {
                        "method": method,
                        "observed": k,
                        "target": target,
                        "queries": queries,
                        "n": len(scores[(*key, "ssim", queries)]),
                    }
                    for metric in ("ssim", "ncc", "psnr"):
                        v = np.asarray(scores[(*key, metric, queries)])
                        row[metric], row[f"{metric}_std"] = float(v.mean()), float(v.std())
                    rows.append(row)
    return rows


def format_view_table(rows: list[dict]) -> str:
    lines = [
        "| queries | method | observed | vs | SSIM | NCC | PSNR dB |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {1: "axial", 2: "axial+sagittal", 3: "3 standard"}
    for r in rows:
        lines.append(
            f"| {r.get('queries', 'unobserved')} | {r['method']} | {names[r['observed']]} | "
            f"{r['target']} | {r['ssim']:.2f} +- {r['ssim_std']:.2f} | "
            f"{r['ncc']:.2f} +- {r['ncc_std']:.2f} | {r['psnr']:.1f} +- {r['psnr_std']:.1f} |"
        )
    return "\n".join(lines)
