"""Fixtures of the napari tests: a shown viewer, the notifications it raised, and
tiny (untrained) weights that load in milliseconds."""

import pytest

from napari_genmed.core.io.checkpoint import save_checkpoint
from napari_genmed.core.nets.registry import build_model

from ..core.tiny import TINY_MODEL


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer(show=True)


@pytest.fixture
def notes():
    from napari.utils.notifications import notification_manager

    seen = []
    notification_manager.notification_ready.connect(lambda n: seen.append(str(n.message)))
    return seen


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    return save_checkpoint(
        tmp_path_factory.mktemp("w") / "tiny.safetensors",
        build_model("hirec-cvae", TINY_MODEL["hirec-cvae"]),
        metrics={"val_dice": 0.5},
    )
