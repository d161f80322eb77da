"""How well the density maps flag what is wrong (``genmed evaluate-density``).

Test NLL in bits per dimension of patches of held-out views, under the patch flow and
under :class:`GaussianPatches` (one full-covariance Gaussian over flattened patches,
fitted to the same training patches: the baseline density). Then synthetic
corruptions (:func:`corrupt`: blanked squares, noise, flipped and shifted regions;
and the kinds a likelihood is known to miss: a disc inpainted with a smooth blur of
its surroundings, a region turned by 90 degrees or mirrored, a bright structure from
elsewhere in the view pasted in, a gain change) pasted into held-out views, and the
ROC AUC (:func:`roc_auc`, Mann-Whitney U) of the map's score on corrupted against
clean fan pixels (clean: farther than one patch from the corruption), for the
complexity-corrected score the panel shows and for the bare NLL beside it.
"""

from __future__ import annotations

import math

import numpy as np

from ..progress import Job, Progress


class GaussianPatches:
    """Baseline density: one full-covariance Gaussian over flattened patches."""

    def __init__(self, patches: np.ndarray, ridge: float = 1e-4):
        x = patches.reshape(len(patches), -1).astype(np.float64)
        self.mean = x.mean(0)
        cov = np.cov(x, rowvar=False) + ridge * np.eye(x.shape[1])
        self.chol = np.linalg.cholesky(cov)
        self.logdet = 2 * np.log(np.diag(self.chol)).sum()

    def log_prob(self, patches: np.ndarray) -> np.ndarray:
        from scipy.linalg import solve_triangular

        x = patches.reshape(len(patches), -1).astype(np.float64) - self.mean
        y = solve_triangular(self.chol, x.T, lower=True)
        d = x.shape[1]
        return -0.5 * (y**2).sum(0) - 0.5 * self.logdet - 0.5 * d * math.log(2 * math.pi)


CORRUPTIONS = (
    "blank",
    "noise",
    "flip",
    "shift",
    "smooth",
    "rotate",
    "mirror",
    "paste",
    "gain",
)


def corrupt(
    image: np.ndarray, kind: str, rng: np.random.Generator, side: int = 24
) -> tuple[np.ndarray, np.ndarray]:
    """``(corrupted image, mask of corrupted pixels)``: a ``side`` x ``side`` square
    inside the fan blanked, filled with noise, flipped upside down, replaced by the
    image 16 px away, inpainted (a disc) with a smooth blur of its surroundings,
    turned by 90 degrees, mirrored left-right, given the brightest square of the view
    elsewhere, or its gain raised by 6 dB."""
    h, w = image.shape
    fan = np.argwhere(image > 0.05)
    for _ in range(50):
        r, c = fan[rng.integers(len(fan))] - side // 2
        r, c = int(np.clip(r, 0, h - side)), int(np.clip(c, 0, w - side))
        if (image[r : r + side, c : c + side] > 0.05).mean() > 0.8:
            break
    out = image.copy()
    sq = (slice(r, r + side), slice(c, c + side))
    if kind == "blank":
        out[sq] = 0.0
    elif kind == "noise":
        out[sq] = rng.uniform(0, 1, (side, side))
    elif kind == "flip":
        out[sq] = image[sq][::-1]
    elif kind == "shift":
        r2 = int(np.clip(r + 16 * (1 if r + 16 + side <= h else -1), 0, h - side))
        out[sq] = image[r2 : r2 + side, c : c + side]
    elif kind == "smooth":
        from scipy import ndimage

        yy, xx = np.mgrid[:side, :side]
        disc = (yy - (side - 1) / 2) ** 2 + (xx - (side - 1) / 2) ** 2 <= (side / 2) ** 2
        hole = np.zeros((h, w), bool)
        hole[sq] = disc
        keep = (~hole).astype(np.float32)
        num = ndimage.gaussian_filter(image * keep, side / 3)
        den = ndimage.gaussian_filter(keep, side / 3)
        out[hole] = (num / np.maximum(den, 1e-3))[hole]
    elif kind == "rotate":
        out[sq] = np.rot90(image[sq])
    elif kind == "mirror":
        out[sq] = image[sq][:, ::-1]
    elif kind == "paste":
        from scipy import ndimage

        local = ndimage.uniform_filter(image, side)
        local[max(r - side, 0) : r + 2 * side, max(c - side, 0) : c + 2 * side] = 0  # not here
        br, bc = np.unravel_index(np.argmax(local), local.shape)
        br = int(np.clip(br - side // 2, 0, h - side))
        bc = int(np.clip(bc - side // 2, 0, w - side))
        out[sq] = image[br : br + side, bc : bc + side]
    elif kind == "gain":
        out[sq] = np.clip(image[sq] * 2.0, 0.0, 1.0)
    else:
        raise ValueError(f"unknown corruption {kind!r}; use one of {', '.join(CORRUPTIONS)}")
    mask = np.zeros_like(image, bool)
    mask[sq] = out[sq] != image[sq]
    return out.astype(np.float32), mask


def roc_auc(scores_pos: np.ndarray, scores_neg: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U), higher score = positive."""
    from scipy.stats import rankdata

    pos, neg = np.ravel(scores_pos), np.ravel(scores_neg)
    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _aucs(pos: dict, neg: dict) -> dict:
    out = {k: roc_auc(np.concatenate(pos[k]), np.concatenate(neg[k])) for k in CORRUPTIONS}
    out["all"] = roc_auc(
        np.concatenate([np.concatenate(pos[k]) for k in CORRUPTIONS]),
        np.concatenate([np.concatenate(neg[k]) for k in CORRUPTIONS]),
    )
    return out


def _percentiles(values: list) -> dict:
    fan = np.concatenate(values)
    return {
        key: float(np.percentile(fan, q))
        for key, q in (("p5", 5), ("median", 50), ("p95", 95), ("p99", 99))
    }


def evaluate_density_job(
    flow,
    n: int = 20,
    cache_dir=None,
    train_heads: int = 300,
    seed: int = 0,
    split: str = "test",
    sweep: tuple = (),
    family: str = "phantom",
) -> Job[dict]:
    """Test NLL (flow vs Gaussian baseline) and corruption-detection AUCs of the
    corrected score the maps show (``auc``) and of the bare NLL (``auc_nll``), with
    the clean views' scores in the fan (the panel's colour reference). ``sweep``:
    complexity weights to compare as well (``sweep``: AUCs per weight, with the worst
    type), on ``split`` (choose a weight on ``"val"``, report on ``"test"``), views of
    heads from shape ``family`` (the flow learnt the phantom family's views; a held-out
    family is the out-of-distribution check)."""
    import torch
    from scipy import ndimage

    from ..data.patches import random_patches, view_bank
    from ..flows.complexity import COMPLEXITY_WEIGHT
    from ..flows.glow import bits_per_dim
    from ..tasks.density import FAN_LEVEL, patch_scores

    rng = np.random.default_rng(seed)
    p = flow.config.size
    yield Progress(0, n + 2, "fitting the Gaussian baseline")
    train_x, _ = random_patches(view_bank("train", train_heads, cache_dir), 20000, p, rng)
    gauss = GaussianPatches(train_x)
    test = view_bank(split, n, cache_dir, family)
    yield Progress(1, n + 2, "test likelihoods")
    test_x, test_c = random_patches(test, 10000, p, rng)
    with torch.inference_mode():
        flow_bpd = float(
            bits_per_dim(
                flow.log_prob(torch.as_tensor(test_x), torch.as_tensor(test_c)), p * p
            ).mean()
        )
    gauss_bpd = float(bits_per_dim(torch.as_tensor(gauss.log_prob(test_x)), p * p).mean())
    weights = sorted({0.0, COMPLEXITY_WEIGHT, *map(float, sweep)})
    clean: dict = {w: [] for w in weights}  # clean views' maps in the fan: the reference
    pos: dict = {w: {k: [] for k in CORRUPTIONS} for w in weights}
    neg: dict = {w: {k: [] for k in CORRUPTIONS} for w in weights}
    for i in range(n):
        yield Progress(2 + i, n + 2, f"corrupted {split} view {i + 1} of {n}")
        image = test[3 * i + int(rng.integers(3))]
        scored = patch_scores(image, flow)
        for w in weights:
            clean[w].append(scored.map(w)[image > FAN_LEVEL])
        for kind in CORRUPTIONS:
            bad, mask = corrupt(image, kind, rng)
            scored = patch_scores(bad, flow)
            far = ~ndimage.binary_dilation(mask, iterations=p) & (image > FAN_LEVEL)
            for w in weights:
                score = scored.map(w)
                pos[w][kind].append(score[mask])
                neg[w][kind].append(score[far])
    aucs = {w: _aucs(pos[w], neg[w]) for w in weights}
    out = {
        "test_bpd_flow": flow_bpd,
        "test_bpd_gaussian": gauss_bpd,
        "score": "corrected",  #: what the maps show: NLL - complexity_weight * L
        "complexity_weight": COMPLEXITY_WEIGHT,
        "auc": aucs[COMPLEXITY_WEIGHT],
        "auc_nll": aucs[0.0],
        "n_views": n,
        "split": split,
        "family": family,
        "patch": p,
        "clean_fan_bpd": _percentiles(clean[COMPLEXITY_WEIGHT]),  #: the panel's reference
        "clean_fan_nll": _percentiles(clean[0.0]),
    }
    if sweep:
        out["sweep"] = {
            f"{w:g}": aucs[w] | {"worst": min(aucs[w][k] for k in CORRUPTIONS)} for w in weights
        }
    return out


def format_density(result: dict) -> str:
    """The evaluation as text: test NLL, then per corruption type the AUC of the
    corrected score (the panel's) and of the bare NLL, then any weight sweep."""
    kinds = [*CORRUPTIONS, "all"]
    lines = [
        f"test NLL, bits/dim ({result.get('split', 'test')} views, "
        f"{result.get('family', 'phantom')} heads): flow "
        f"{result['test_bpd_flow']:.3f}  Gaussian baseline {result['test_bpd_gaussian']:.3f}",
        "corruption detection, ROC AUC (corrupted vs clean fan pixels, "
        f"{result['n_views']} views):",
        f"{'score':<28}" + "".join(f"{k:>8}" for k in kinds),
        f"{'corrected (shown), w=' + format(result['complexity_weight'], 'g'):<28}"
        + "".join(f"{result['auc'][k]:>8.3f}" for k in kinds),
        f"{'bare NLL':<28}" + "".join(f"{result['auc_nll'][k]:>8.3f}" for k in kinds),
    ]
    for w, row in (result.get("sweep") or {}).items():
        lines.append(
            f"{'w=' + w:<28}"
            + "".join(f"{row[k]:>8.3f}" for k in kinds)
            + f"   worst {row['worst']:.3f}"
        )
    ref = result["clean_fan_bpd"]
    lines.append(
        f"clean fan, corrected score: median {ref['median']:.2f}, p95 {ref['p95']:.2f}, "
        f"p99 {ref['p99']:.2f} bits/dim (the panel's colour reference)"
    )
    return "\n".join(lines)
