"""Which bundled plane gate judges a model's views: its own encoders' gate, else the default."""

import numpy as np
import pytest
import torch

from napari_genmed import api
from napari_genmed.core.tasks.plausibility import assess_view, gate_for


@pytest.fixture(scope="module")
def views():
    return api.simulate_views(api.make_phantom(27.0, 4).labels, seed=4)


@pytest.mark.parametrize("kind", ["rec-cvae", "hirec-cvae"])
def test_a_cvae_is_judged_on_its_own_encoders_and_gets_the_same_verdicts(kind, views):
    model = api.load_model(kind, "cpu")
    gate = gate_for(model)
    assert gate is not gate_for(None) and gate.reads_with(model.view_stacks())
    assert not gate_for(None).reads_with(model.view_stacks())
    result = api.reconstruct(model, views)
    for slot, view in views.items():
        alone = assess_view(gate, view, slot)  # what the panel's slot check shows
        got = result.plausibility[slot]
        assert got.verdict == alone.verdict and got.score == pytest.approx(alone.score, abs=1e-6)


def test_tl_net_and_a_changed_model_take_the_default_gate():
    tl = api.load_model("tl-net", "cpu")
    assert gate_for(tl) is gate_for(None) and gate_for(tl).reads_with(tl.view_stacks())
    model = api.load_model("hirec-cvae", "cpu")
    with torch.no_grad():  # weights that are no longer the ones its gate was fitted on
        next(iter(model.view_stacks()[0].parameters())).add_(1e-3)
    assert gate_for(model) is gate_for(None)
    assert np.isfinite(
        api.reconstruct(
            model, {"axial": api.simulate_views(api.make_phantom(30.0, 2).labels, seed=2)["axial"]}
        ).probability
    ).all()
