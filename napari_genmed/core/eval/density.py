"""How well the density maps flag what is wrong (``genmed evaluate-density``).

Test NLL in bits per dimension of patches of held-out views, under the patch flow and
under :class:`GaussianPatches` (one full-covariance Gaussian over flattened patches,
fitted to the same training patches: the baseline density). Then synthetic
corruptions (:func:`corrupt`: blanked squares, noise, flipped and shifted regions;
and the kinds a likelihood is known to miss: a disc inpainted with a smooth blur of
its surroundings, a region turned by 90 degrees or mirrored, a bright structure from
elsewhere in the view pasted in, a gain change) pasted into held-out views, and the
ROC AUC (:func:`roc_auc`, Mann-Whitney U) of the map's score on corrupted against
clean fan pixels (clean: farther than one patch from the corruption).
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


def evaluate_density_job(
    flow, n: int = 20, cache_dir=None, train_heads: int = 300, seed: int = 0
) -> Job[dict]:
    """Test NLL (flow vs Gaussian baseline) and corruption-detection AUCs."""
    import torch
    from scipy import ndimage

    from ..data.patches import random_patches, view_bank
    from ..flows.glow import bits_per_dim
    from ..tasks.density import FAN_LEVEL, density_map

    rng = np.random.default_rng(seed)
    p = flow.config.size
    yield Progress(0, n + 2, "fitting the Gaussian baseline")
    train_x, _ = random_patches(view_bank("train", train_heads, cache_dir), 20000, p, rng)
    gauss = GaussianPatches(train_x)
    test = view_bank("test", n, cache_dir)
    yield Progress(1, n + 2, "test likelihoods")
    test_x, test_c = random_patches(test, 10000, p, rng)
    with torch.inference_mode():
        flow_bpd = float(
            bits_per_dim(
                flow.log_prob(torch.as_tensor(test_x), torch.as_tensor(test_c)), p * p
            ).mean()
        )
    gauss_bpd = float(bits_per_dim(torch.as_tensor(gauss.log_prob(test_x)), p * p).mean())
    clean: list[np.ndarray] = []  # each clean view's map inside the fan: the scale's reference
    pos: dict = {k: [] for k in CORRUPTIONS}
    neg: dict = {k: [] for k in CORRUPTIONS}
    for i in range(n):
        yield Progress(2 + i, n + 2, f"corrupted held-out view {i + 1} of {n}")
        image = test[3 * i + int(rng.integers(3))]
        clean.append(density_map(image, flow)[image > FAN_LEVEL])
        for kind in CORRUPTIONS:
            bad, mask = corrupt(image, kind, rng)
            score = density_map(bad, flow)
            far = ~ndimage.binary_dilation(mask, iterations=p) & (image > FAN_LEVEL)
            pos[kind].append(score[mask])
            neg[kind].append(score[far])
    aucs = {k: roc_auc(np.concatenate(pos[k]), np.concatenate(neg[k])) for k in CORRUPTIONS}
    aucs["all"] = roc_auc(
        np.concatenate([np.concatenate(pos[k]) for k in CORRUPTIONS]),
        np.concatenate([np.concatenate(neg[k]) for k in CORRUPTIONS]),
    )
    fan = np.concatenate(clean)
    reference = {
        key: float(np.percentile(fan, q))
        for key, q in (("p5", 5), ("median", 50), ("p95", 95), ("p99", 99))
    }
    return {
        "test_bpd_flow": flow_bpd,
        "test_bpd_gaussian": gauss_bpd,
        "auc": aucs,
        "n_views": n,
        "patch": p,
        "clean_fan_bpd": reference,  #: how clean held-out views score in the fan
    }
