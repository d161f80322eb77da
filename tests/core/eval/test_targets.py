"""The targets under `genmed evaluate`'s table: the paired comparison and the checks."""

import numpy as np
import pytest
from scipy.stats import ttest_rel

from napari_genmed.core.eval.targets import check_targets, format_targets, paired_difference


@pytest.mark.parametrize("shift, verdict", [(0.004, "ahead"), (-0.004, "behind"), (0.0, "a tie")])
def test_paired_difference_agrees_with_the_paired_t_test(shift, verdict):
    rng = np.random.default_rng(3)
    rec = rng.uniform(
        0.80, 0.95, 100
    )  # the heads' own difficulty varies far more than the difference
    noise = rng.normal(0, 0.005, 100)
    hirec = rec + shift + noise - (noise.mean() if shift == 0 else 0)
    d = paired_difference(hirec, rec)
    assert d["verdict"] == verdict and d["n"] == 100
    assert d["mean"] == pytest.approx(float(np.mean(hirec - rec)))
    lo, hi = d["ci95"]
    assert lo < d["mean"] < hi
    p = ttest_rel(
        hirec, rec
    ).pvalue  # the interval excludes zero exactly when the paired t test rejects at 5%
    assert (p < 0.05) == (verdict != "a tie")
    # compared apart, the two means' standard errors (about 0.004) would call every case a tie
    assert np.std(rec) / np.sqrt(100) > 2 * (hi - lo) / 3.92


def test_paired_difference_refuses_unpaired_values():
    with pytest.raises(ValueError, match="equally long"):
        paired_difference([0.9, 0.8], [0.9])
    with pytest.raises(ValueError, match="finite"):
        paired_difference([np.nan], [0.9])


def _row(model, views, dice, per_head=None, paper=(0.9, 0.9, 0.9)):
    r = {
        "scenario": "held-out",
        "model": model,
        "views": views,
        "dice": dice,
        "sen": dice,
        "ppv": dice,
        "paper": paper,
        "meets_paper": dice >= paper[0],
    }
    if per_head is not None:
        r["dice_per_head"] = per_head
    return r


def test_check_targets_lists_every_target_the_rows_can_judge():
    heads = [0.86, 0.88, 0.87, 0.85]
    rows = [
        _row("rec-cvae", "3 views", 0.92),
        _row("hirec-cvae", "3 views", 0.905),
        _row("rec-cvae", "axial+sagittal", 0.91, heads),
        _row("hirec-cvae", "axial+sagittal", 0.915, [h + 0.01 for h in heads]),
        _row("rec-cvae", "axial only", 0.87),
        _row("hirec-cvae", "axial only", 0.86),  # rows from before per-head values
        {"scenario": "GA 16-18", "model": "rec-cvae", "views": "3 views", "dice": 0.5},
    ]  # robustness rows carry no target
    checks = {c["target"]: c for c in check_targets(rows)}
    assert len(checks) == 6 + 2 + 2 + 2  # paper rows, DC >= 0.91, HiREC >= REC, more views
    more = checks["hirec-cvae, held-out: more views never worse (within 0.01)"]
    assert more["met"] and more["detail"].startswith("0.905 >= 0.915 >= 0.860")
    assert (
        checks["rec-cvae: DC >= 0.91 from three views"]["met"]
        and not checks["hirec-cvae: DC >= 0.91 from three views"]["met"]
    )
    two = checks["hirec-cvae at or above rec-cvae, axial+sagittal"]
    assert two["met"] and "+0.0100" in two["detail"] and "ahead" in two["detail"]
    one = checks["hirec-cvae at or above rec-cvae, axial only"]
    assert not one["met"] and "means only" in one["detail"]
    text = format_targets(list(checks.values()))
    assert text.startswith("Targets: 8 of 12 met") and text.count("NOT met") == 4
    assert check_targets([r for r in rows if r["model"] == "rec-cvae"]) and not any(
        "hirec" in c["target"] for c in check_targets([r for r in rows if r["model"] == "rec-cvae"])
    )
