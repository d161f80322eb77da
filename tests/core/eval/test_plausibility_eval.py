"""``genmed evaluate-plausibility`` as a job: every set has its row, the held-out
appearances among the planes that should pass, and the targets read from the rows."""

from napari_genmed import api
from napari_genmed.core.eval.plausibility import evaluate_plausibility_job, format_plausibility
from napari_genmed.core.progress import run


def test_the_rows_cover_families_appearances_and_inputs_that_are_no_heads():
    gate = api.load_model("plane-gate", "cpu")
    result = run(
        evaluate_plausibility_job(
            gate, n_heads=1, families=("phantom",), appearances=("convolution",)
        )
    )
    rows = {r["set"]: r for r in result["rows"]}
    own = rows["phantom family (trained on), test heads"]
    other = rows["convolution appearance (held out), phantom test heads"]
    assert own["kind"] == other["kind"] == "accept" and own["n"] == other["n"] == 3
    assert own["accepted"] == 1.0  # a training family's planes pass the bundled gate
    assert 0 <= other["accepted"] <= 1
    pooled = rows["all inputs that are not standard planes"]
    assert pooled["kind"] == "flag" and pooled["flagged"] > 0.9
    targets = {t["target"]: t for t in result["targets"]}
    assert any("convolution appearance" in t for t in targets)
    assert "convolution appearance" in format_plausibility(result)
