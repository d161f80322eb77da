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

Beside them, what a blob of the right size cannot fake (:mod:`~..metrics.structure`,
against the speckle-free truth): SSIM and NCC inside the true head only, the Dice of
the bright echoes (skull ring, midline), the high-frequency energy over the true
speckled plane's (realism: 1 is a scanner's texture) and, for the standard planes, the
share of generated planes the plane gate accepts as the plane asked for. Two
predictors that know nothing of the head are in every table
(:mod:`~..tasks.view_references`: a template head and a head-sized blob, rendered at the
query pose). ``family`` picks the scenes' shape family: the targets are on a held-out
one. ``appearance`` renders the observed slices in an evaluation-only appearance
(:func:`~.appearance.held_out_appearances`: another scanner's image of the same planes)
while the truth stays the project's own speckle-free rendering: what is asked is the
anatomy of the unseen plane, whatever scanner showed the seen ones.
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


#: predictors that know nothing of the head, the true speckled plane itself (what a
#: scanner shows: the realism metrics' own reading) and the true speckle-free plane (a
#: perfect estimate of the expected image: what the realism metrics give the best
#: possible point estimate)
REFERENCES = ("template head", "head-sized blob", "truth (speckled plane)", "truth (clean plane)")
BASELINE = "baseline (reconstruct + simulate)"
TEXTURE = " + B-mode texture"  #: a method's or the blob's image with one B-mode sample drawn
TEXTURED_BLOB = "head-sized blob" + TEXTURE  #: what texture alone earns at the gate
STRUCTURE = ("ssim_head", "ncc_head", "echo_dice")  #: against the clean truth
#: against the speckled truth; the gate's acceptance on the 2 mm grid and, for images
#: drawn at the views' own 1 mm (textured ones, the truth), there
REALISM = ("hf_ratio", "gate", "gate_1mm")


def _structure(out, scene, q, head, echo) -> dict:
    """The structure and realism metrics of one generated plane ``out`` for query ``q``."""
    from ..metrics.structure import echo_dice, hf_energy, in_region_similarity

    inside = in_region_similarity(out, scene["clean"][q], head)
    true_hf = hf_energy(scene["speckled"][q], head)
    return {
        "clean": {
            "ssim_head": inside["ssim"],
            "ncc_head": inside["ncc"],
            "echo_dice": echo_dice(out, scene["clean"][q], echo),
        },
        "speckled": {"hf_ratio": hf_energy(out, head) / true_hf if true_hf > 0 else np.nan},
    }


def _observed_images(scene, head, render, spacing_mm) -> dict:
    """The standard planes a method may observe: ``views`` at the views' own 1 mm (the
    baseline route's input) and ``grid`` on the generators' 2 mm grid; the scene's own
    B-mode images, or with ``render`` (an appearance of
    :func:`~.appearance.held_out_appearances`) that appearance's at the same poses."""
    from ..data.scenes import downsample
    from ..sim.geometry import VIEW_NAMES
    from .appearance import subject_poses

    if render is None:
        return {"views": list(head["views"]), "grid": list(scene["speckled"][: len(VIEW_NAMES)])}
    images = render(head["labels"], spacing_mm, subject_poses(head), int(head["seed"]))
    views = [np.asarray(images[name], np.float32) for name in VIEW_NAMES]
    return {"views": views, "grid": [downsample(v) for v in views]}


def _fine_pose(pose):
    """The plane of a scene's 64 x 64 pose of 2 mm pixels on the views' own grid
    (128 x 128 of 1 mm), as the scenes render their truth before averaging it."""
    from ..sim.geometry import Pose

    return Pose(pose.origin, pose.row_axis, pose.col_axis, pose.spacing_mm / 2, (128, 128))


def _textured(image, fine, seed: int):
    """A 2 mm image with one B-mode sample drawn at ``fine``'s 1 mm: ``(the sample
    averaged back to 2 mm, as the scenes' speckled truth is made; the sample)``."""
    from ..data.scenes import downsample
    from ..sim.texture import bmode_sample
    from ..tasks.viewgen import from_grid

    sample = bmode_sample(from_grid(image, fine), fine.spacing_mm, seed)
    return downsample(sample), sample


def evaluate_views_job(
    generators: dict,
    recon_model=None,
    n: int = 20,
    cache_dir=None,
    family: str = "phantom",
    gate=None,
    references: bool = True,
    texture: bool = False,
    split: str = "test",
    samples: int = 1,
    appearance: str | None = None,
) -> Job[list[dict]]:
    """Rows ``{method, observed, target, queries, ssim, ncc, psnr (mean, std), n}``,
    with, against the clean truth, ``ssim_head``, ``ncc_head`` and ``echo_dice`` and,
    against the speckled truth, ``hf_ratio`` and (standard-plane queries, given a
    ``gate``) ``gate``: the share the gate accepts as the plane asked for.

    ``texture`` adds, for every generator and for the head-sized blob, the same image
    with one B-mode sample drawn at the views' 1 mm (:mod:`~..sim.texture`), scored
    averaged back to the 2 mm grid as the scenes' speckled truth is, and at 1 mm by
    the gate (``gate_1mm``, beside the true plane rendered there).

    ``split`` "val" scores validation scenes instead of the test ones, to choose
    between training runs without looking at the reported heads.

    ``samples`` > 1 scores each generator's mean of that many latent draws (what the
    Missing views panel shows with Samples > 1) instead of the decoded prior mean.

    ``appearance`` (a name of :func:`~.appearance.held_out_appearances`) renders the
    observed slices, and the baseline route's views, in that evaluation-only appearance;
    references and truths are unchanged."""
    from ..data.dataset import DatasetConfig, PhantomDataset
    from ..data.scenes import SceneDataset, pose_from_vector, slice_seed
    from ..metrics.similarity import similarity
    from ..metrics.structure import head_regions
    from ..sim.geometry import VIEW_NAMES
    from ..sim.labels import labels_on_plane
    from ..sim.ultrasound import simulate_view
    from ..tasks.plausibility import assess_view
    from ..tasks.view_references import head_blob, render_reference, template_head
    from ..tasks.viewgen import baseline, generate

    if not 1 <= int(n) <= 10_000:
        raise ValueError(f"n must lie in 1..10000, got {n}")
    config = DatasetConfig(families=(family,))
    if split not in ("test", "val"):
        raise ValueError(f"split must be test or val, not {split!r}")
    render = None
    if appearance is not None:
        from .appearance import held_out_appearances

        known = held_out_appearances()
        if appearance not in known:
            raise ValueError(f"unknown appearance {appearance!r}; known: {sorted(known)}")
        render = known[appearance]
    scenes, heads = (
        SceneDataset(split, n, cache_dir, config),
        PhantomDataset(split, n, config, cache_dir=cache_dir),
    )
    methods = list(generators) + ([BASELINE] if recon_model is not None else [])
    textured = [m + TEXTURE for m in generators] if texture else []
    refs = list(REFERENCES) if references else []
    if texture and references:
        refs.append(TEXTURED_BLOB)
    template = template_head(config.grid, config.spacing_mm) if references else None
    scores: dict = {}

    def add(method, k, target, metric, q, value):
        scores.setdefault((method, k, target, metric, "unobserved"), []).append(value)
        if q >= len(VIEW_NAMES):  # the oblique planes: the same queries for every k
            scores.setdefault((method, k, target, metric, "oblique"), []).append(value)

    for i in range(n):
        yield Progress(i, n, f"held-out scene {i + 1} of {n}")
        scene, head = scenes[i], heads.arrays(i)
        poses = [pose_from_vector(v, (64, 64)) for v in scene["poses"]]
        seed = int(scene["seed"])
        blob = head_blob(*map(float, head["biometry"][:2]), config.grid, config.spacing_mm)
        fine = {q: _fine_pose(pose) for q, pose in enumerate(poses)}
        seen = _observed_images(scene, head, render, config.spacing_mm)
        regions, reference_images, truth_1mm = {}, {}, {}
        for q, pose in enumerate(poses):
            regions[q] = head_regions(labels_on_plane(head["labels"], config.spacing_mm, pose))
            s = slice_seed(seed, q)  # the truth's own seed: the same maternal wall
            if refs:
                reference_images[q] = {
                    "template head": render_reference(template, pose, s, config.spacing_mm),
                    "head-sized blob": render_reference(blob, pose, s, config.spacing_mm),
                    "truth (speckled plane)": scene["speckled"][q],
                    "truth (clean plane)": scene["clean"][q],
                }
            if refs and texture:  # once per plane: the same for every observed set
                reference_images[q][TEXTURED_BLOB] = _textured(
                    reference_images[q]["head-sized blob"], fine[q], seed + q
                )
                if gate is not None and q < len(VIEW_NAMES):  # the gate reads them at 1 mm
                    truth_1mm[q] = {
                        f"truth ({kind} plane)": simulate_view(
                            head["labels"],
                            fine[q],
                            config.spacing_mm,
                            s,
                            speckle=kind == "speckled",
                        ).image
                        for kind in ("speckled", "clean")
                    }

        for k, observed in OBSERVED.items():
            obs = [(seen["grid"][j], poses[j]) for j in observed]
            views = {VIEW_NAMES[j]: (seen["views"][j], 1.0) for j in observed}
            for q in (q for q in range(len(poses)) if q not in observed):
                generated = {
                    m: generate(g, obs, poses[q], n_samples=samples).native
                    for m, g in generators.items()
                }
                for method in methods + textured + refs:
                    at_1mm = None
                    if method in generators:
                        out = generated[method]
                    elif method in textured:
                        out, at_1mm = _textured(
                            generated[method[: -len(TEXTURE)]], fine[q], seed + q
                        )
                    elif method == BASELINE:
                        out = baseline(recon_model, views, poses[q]).native
                    elif method == TEXTURED_BLOB:
                        out, at_1mm = reference_images[q][TEXTURED_BLOB]
                    else:
                        out = reference_images[q][method]
                    if method in truth_1mm.get(q, {}):
                        at_1mm = truth_1mm[q][method]
                    for target in TARGETS:
                        for metric, value in similarity(out, scene[target][q]).items():
                            add(method, k, target, metric, q, value)
                    for target, values in _structure(out, scene, q, *regions[q]).items():
                        for metric, value in values.items():
                            add(method, k, target, metric, q, value)
                    if gate is not None and q < len(VIEW_NAMES):
                        verdict = assess_view(gate, (out, scene["poses"][q][9]), VIEW_NAMES[q])
                        add(method, k, "speckled", "gate", q, float(verdict.plausible))
                        if at_1mm is not None:
                            verdict = assess_view(gate, (at_1mm, fine[q].spacing_mm), VIEW_NAMES[q])
                            add(method, k, "speckled", "gate_1mm", q, float(verdict.plausible))
    yield Progress(n, n, "done")
    rows = []
    for queries in QUERIES:
        for method in methods + textured + refs:
            for k in OBSERVED:
                for target in TARGETS:
                    key = (method, k, target)
                    row = {
                        "method": method,
                        "observed": k,
                        "target": target,
                        "queries": queries,
                        "family": family,
                        "appearance": appearance or "own",
                        "n": len(scores[(*key, "ssim", queries)]),
                    }
                    extra = STRUCTURE if target == "clean" else REALISM
                    for metric in ("ssim", "ncc", "psnr", *extra):
                        if (*key, metric, queries) not in scores:
                            continue
                        v = np.asarray(scores[(*key, metric, queries)], float)
                        row[metric] = float(np.nanmean(v))
                        row[f"{metric}_std"] = float(np.nanstd(v))
                    rows.append(row)
    return rows


def format_view_table(rows: list[dict]) -> str:
    """One line per queries, method and observed views: whole-image SSIM / NCC and PSNR
    against the clean truth, in-head SSIM / NCC, echo Dice, and against the speckled
    truth the high-frequency ratio and the gate's acceptance."""
    looks = sorted({r.get("appearance", "own") for r in rows})
    lines = (
        [] if looks == ["own"] else [f"observed slices in the {', '.join(looks)} appearance", ""]
    )
    lines += [
        "| queries | method | observed | SSIM all / head | NCC all / head | echo Dice | "
        "HF ratio | gate accepts (2 mm / 1 mm) | PSNR dB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = {1: "axial", 2: "axial+sagittal", 3: "3 standard"}
    speckled = {
        (r["queries"], r["method"], r["observed"]): r for r in rows if r["target"] == "speckled"
    }

    def num(r, key, fmt="{:.2f}"):
        v = r.get(key)
        return "-" if v is None or not np.isfinite(v) else fmt.format(v)

    for r in rows:
        if r["target"] != "clean":
            continue
        sp = speckled.get((r["queries"], r["method"], r["observed"]), {})
        gate = "-" if sp.get("gate") is None else f"{100 * sp['gate']:.0f}%"
        if sp.get("gate_1mm") is not None:
            gate += f" / {100 * sp['gate_1mm']:.0f}%"
        lines.append(
            f"| {r.get('queries', 'unobserved')} | {r['method']} | {names[r['observed']]} | "
            f"{num(r, 'ssim')} / {num(r, 'ssim_head')} | {num(r, 'ncc')} / {num(r, 'ncc_head')} | "
            f"{num(r, 'echo_dice')} | {num(sp, 'hf_ratio')} | "
            f"{gate} | {num(r, 'psnr', '{:.1f}')} |"
        )
    return "\n".join(lines)
