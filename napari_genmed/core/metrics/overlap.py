"""Overlap and surface metrics of binary volumes (Table 1 of Cerrolaza et al. 2018).

Dice (DC) = 2|A & B| / (|A| + |B|), sensitivity (SEN) = |A & B| / |B| and precision
(PPV) = |A & B| / |A| for a prediction A and truth B; the average symmetric surface
distance (ASSD) and the 95% Hausdorff distance (HD95, the larger of the two directed
95th percentiles) in mm, from Euclidean distance transforms with the voxel spacing.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def overlap(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    inter = float(np.logical_and(pred, truth).sum())
    p, t = float(pred.sum()), float(truth.sum())
    return {
        "dice": 2 * inter / (p + t) if p + t else 1.0,
        "sen": inter / t if t else 1.0,
        "ppv": inter / p if p else (1.0 if not t else 0.0),
    }


def _surface(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask, border_value=0)


def surface_distances(
    pred: np.ndarray, truth: np.ndarray, spacing_mm: float = 1.0
) -> dict[str, float]:
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    if not pred.any() or not truth.any():
        return {"assd_mm": float("inf"), "hd95_mm": float("inf")}
    sp, st = _surface(pred), _surface(truth)
    to_truth = ndimage.distance_transform_edt(~st, sampling=spacing_mm)[sp]
    to_pred = ndimage.distance_transform_edt(~sp, sampling=spacing_mm)[st]
    return {
        "assd_mm": float((to_truth.sum() + to_pred.sum()) / (to_truth.size + to_pred.size)),
        "hd95_mm": float(max(np.percentile(to_truth, 95), np.percentile(to_pred, 95))),
    }


def all_metrics(pred: np.ndarray, truth: np.ndarray, spacing_mm: float = 1.0) -> dict[str, float]:
    return overlap(pred, truth) | surface_distances(pred, truth, spacing_mm)
