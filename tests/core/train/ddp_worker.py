"""Run by test_training under torchrun: a few data-parallel steps, then each rank
writes a digest of its own replica's weights (a straight run, or one cut and resumed)."""

import hashlib
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/core: tiny.py
from tiny import TINY_DATA, TINY_MODEL  # noqa: E402

from napari_genmed.core.nets.registry import build_model  # noqa: E402
from napari_genmed.core.progress import run  # noqa: E402
from napari_genmed.core.train.reconstruction import train_job
from napari_genmed.core.train.settings import TrainConfig


def digest(model) -> str:
    h = hashlib.sha256()
    for v in model.state_dict().values():
        h.update(v.detach().cpu().numpy().tobytes())
    return h.hexdigest()


out, mode = (
    Path(sys.argv[1]),
    sys.argv[2],
)  # one training per launch: torchrun's store serves one process group
torch.manual_seed(0)
initial = digest(build_model("rec-cvae", TINY_MODEL["rec-cvae"]))
cfg = TrainConfig(
    kind="rec-cvae",
    model=TINY_MODEL["rec-cvae"],
    data=TINY_DATA,
    train_size=16,
    val_size=2,
    epochs=1,
    batch_size=2,
    cache_dir=os.environ["GENMED_CACHE"],
)
if mode == "straight":
    result = run(train_job(cfg, out / "run", "cpu"))  # the job makes (and ends) the process group
elif mode == "cut":  # stopped after 2 of its 4 steps ...
    result = run(train_job(TrainConfig(**{**cfg.__dict__, "max_steps": 2}), out / "cut", "cpu"))
else:  # ... and resumed: every rank picks up its own random state (view masks, noise)
    result = run(train_job(cfg, out / "cut", "cpu", resume=True))
assert not dist.is_initialized()
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
(out / f"{mode}{rank}.txt").write_text(
    f"{digest(result['model'])} {world} {initial} {result['steps']}"
)
