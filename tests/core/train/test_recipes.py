"""Every shipped recipe says why it exists and parses into the settings of its run."""

import inspect
import json
from pathlib import Path

import pytest

from napari_genmed.core.train.flows import FlowTrainConfig, train_toy_flow_job
from napari_genmed.core.train.latent_flow import train_latent_flow_job
from napari_genmed.core.train.plane_gate import GateFitConfig
from napari_genmed.core.train.plane_pose import PoseTrainConfig
from napari_genmed.core.train.settings import TrainConfig
from napari_genmed.core.train.views import ViewTrainConfig

RECIPES = Path(__file__).resolve().parents[3] / "napari_genmed" / "weights" / "recipes"


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.json")), ids=lambda p: p.name)
def test_recipe_has_a_reason_and_parses(path):
    values = json.loads(path.read_text())
    assert isinstance(values.get("why"), str) and len(values["why"]) > 20
    kind = path.name.split(".")[0]
    if kind in ("toy-flow", "latent-flow"):  # keyword arguments of the job
        job = train_toy_flow_job if kind == "toy-flow" else train_latent_flow_job
        assert set(values) - {"why"} <= set(inspect.signature(job).parameters)
    elif kind == "patch-flow":
        FlowTrainConfig.from_dict(values)
    elif kind == "plane-gate":
        assert GateFitConfig.from_dict(values).fit_size > 0
    elif kind == "plane-pose":
        assert PoseTrainConfig.from_dict(values).steps > 0
    elif kind.startswith("mental-map"):
        ViewTrainConfig.from_dict({**values, "kind": kind})
    else:
        cfg = TrainConfig.from_dict({**values, "kind": kind})
        assert cfg.kind == kind


def test_an_unknown_setting_is_still_an_error():
    with pytest.raises(ValueError, match="unknown training settings: lr_typo"):
        TrainConfig.from_dict({"why": "a reason", "lr_typo": 1.0})
