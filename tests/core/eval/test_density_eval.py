"""``genmed evaluate-density``'s job: both scores, the sweep, the reference, the text."""

import numpy as np
import pytest


def test_density_evaluation_reports_both_scores_and_the_sweep(tmp_path):
    import torch

    from napari_genmed.core.eval.density import (
        CORRUPTIONS,
        evaluate_density_job,
        format_density,
    )
    from napari_genmed.core.flows.complexity import COMPLEXITY_WEIGHT
    from napari_genmed.core.flows.glow import GlowConfig, PatchGlow
    from napari_genmed.core.progress import run

    torch.manual_seed(0)
    flow = PatchGlow(GlowConfig(size=8, levels=2, steps=1, hidden=8))
    flow.train()
    flow.log_prob(torch.rand(32, 1, 8, 8), torch.rand(32, 2))  # actnorm initialisation
    flow.eval()
    result = run(
        evaluate_density_job(
            flow,
            n=2,
            cache_dir=tmp_path,
            train_heads=3,
            split="val",
            sweep=(1.0,),
            family="deformed",
        )
    )
    assert result["score"] == "corrected" and result["complexity_weight"] == COMPLEXITY_WEIGHT
    assert (result["split"], result["family"]) == ("val", "deformed")
    for key in ("auc", "auc_nll"):
        assert set(result[key]) == {*CORRUPTIONS, "all"}
        assert all(0.0 <= v <= 1.0 for v in result[key].values())
    sweep = result["sweep"]
    assert set(sweep) == {"0", f"{COMPLEXITY_WEIGHT:g}", "1"}
    assert sweep["0"]["all"] == pytest.approx(result["auc_nll"]["all"])  # weight 0: bare
    assert sweep["1"]["worst"] == min(sweep["1"][k] for k in CORRUPTIONS)
    ref, bare = result["clean_fan_bpd"], result["clean_fan_nll"]
    assert ref["p5"] <= ref["median"] <= ref["p95"] <= ref["p99"]
    assert ref["median"] < bare["median"]  # the complexity term is subtracted
    text = format_density(result)
    assert "corrected (shown), w=0.35" in text and "bare NLL" in text and "deformed" in text
    assert np.isfinite(result["test_bpd_flow"])
    with pytest.raises(ValueError, match="training split"):
        run(evaluate_density_job(flow, n=1, train_heads=1, split="train", family="deformed"))
