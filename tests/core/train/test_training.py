"""Training, resume, data parallelism and evaluation, on tiny configs."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from napari_genmed.core.eval.reconstruction import evaluate_job, format_table
from napari_genmed.core.eval.targets import check_targets
from napari_genmed.core.io.checkpoint import load_checkpoint
from napari_genmed.core.progress import Progress, run
from napari_genmed.core.train.reconstruction import train_job
from napari_genmed.core.train.settings import TrainConfig

from ..tiny import TINY_DATA, TINY_DATASET, TINY_MODEL


def _cfg(kind, cache, **kw):
    return TrainConfig(
        kind=kind,
        model=TINY_MODEL[kind],
        data=TINY_DATA,
        train_size=8,
        val_size=4,
        epochs=2,
        stage_epochs=(1, 1, 1),
        batch_size=4,
        cache_dir=str(cache),
        **kw,
    )


def _digest(model) -> str:
    h = hashlib.sha256()
    for v in model.state_dict().values():
        h.update(v.numpy().tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.mark.parametrize("kind", ["rec-cvae", "hirec-cvae", "tl-net"])
def test_training_yields_progress_and_saves(kind, cache, tmp_path):
    job = train_job(_cfg(kind, cache), tmp_path, "cpu")
    events = []
    while True:
        try:
            events.append(next(job))
        except StopIteration as stop:
            result = stop.value
            break
    assert all(isinstance(e, Progress) for e in events)
    assert any("val_dice" in (e.partial or {}) for e in events)  # validation Dice per epoch
    assert result["steps"] == events[-1].step > 0
    model, card = load_checkpoint(tmp_path / "model.safetensors")
    assert model.kind == kind and 0.0 <= card["metrics"]["val_dice"] <= 1.0
    assert card["recipe"]["kind"] == kind and card["recipe"]["device"] == "cpu"
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history) == (3 if kind == "tl-net" else 2)


def test_same_seed_same_weights_and_resume_continues_exactly(cache, tmp_path):
    cfg = _cfg("rec-cvae", cache)
    run(train_job(cfg, tmp_path / "a", "cpu"))
    run(train_job(cfg, tmp_path / "b", "cpu"))
    a = load_checkpoint(tmp_path / "a" / "last.safetensors")[0]
    b = load_checkpoint(tmp_path / "b" / "last.safetensors")[0]
    assert _digest(a) == _digest(b)
    # stop in the middle of the first epoch, then after the first epoch; resume each:
    # the same weights as the straight run
    for stop_at in (1, 2, 3):
        first = TrainConfig(**{**cfg.__dict__, "max_steps": stop_at})
        run(train_job(first, tmp_path / f"c{stop_at}", "cpu"))
        run(train_job(cfg, tmp_path / f"c{stop_at}", "cpu", resume=True))
        c = load_checkpoint(tmp_path / f"c{stop_at}" / "last.safetensors")[0]
        assert _digest(c) == _digest(a), stop_at


def test_preloaded_split_trains_the_same_weights(cache, tmp_path):
    """Holding the split in memory is a speed setting: the same steps, the same
    weights; resuming with or without it continues the same run."""
    cfg = _cfg("hirec-cvae", cache)
    run(train_job(cfg, tmp_path / "read", "cpu"))
    held = TrainConfig(**{**cfg.__dict__, "preload": True})
    run(train_job(held, tmp_path / "held", "cpu"))
    read = load_checkpoint(tmp_path / "read" / "last.safetensors")[0]
    assert _digest(load_checkpoint(tmp_path / "held" / "last.safetensors")[0]) == _digest(read)
    run(train_job(TrainConfig(**{**held.__dict__, "max_steps": 2}), tmp_path / "mixed", "cpu"))
    run(train_job(cfg, tmp_path / "mixed", "cpu", resume=True))
    assert _digest(load_checkpoint(tmp_path / "mixed" / "last.safetensors")[0]) == _digest(read)


def test_cli_resume_takes_the_settings_the_run_started_with(cache, tmp_path, capsys):
    """`genmed train KIND --resume --out DIR` without --config continues the run to
    the end of its recorded recipe: the same weights as the run straight through."""
    from napari_genmed.cli import main

    cfg = _cfg("tl-net", cache)
    run(train_job(cfg, tmp_path / "straight", "cpu"))
    run(train_job(TrainConfig(**{**cfg.__dict__, "max_steps": 2}), tmp_path / "cut", "cpu"))
    assert (
        main(
            [
                "train",
                "tl-net",
                "--resume",
                "--out",
                str(tmp_path / "cut"),
                "--device",
                "cpu",
                "--quiet",
            ]
        )
        == 0
    )
    straight = load_checkpoint(tmp_path / "straight" / "last.safetensors")
    resumed = load_checkpoint(tmp_path / "cut" / "last.safetensors")
    assert resumed[1]["metrics"]["step"] == straight[1]["metrics"]["step"] > 2
    assert _digest(resumed[0]) == _digest(straight[0])
    capsys.readouterr()
    assert (
        main(["train", "rec-cvae", "--resume", "--out", str(tmp_path / "cut"), "--device", "cpu"])
        == 2
    )
    assert "tl-net run, not rec-cvae" in capsys.readouterr().err
    assert (
        main(["train", "tl-net", "--resume", "--out", str(tmp_path / "nothing"), "--device", "cpu"])
        == 2
    )
    assert "nothing to resume" in capsys.readouterr().err


def test_resume_refuses_changed_settings_and_missing_state(cache, tmp_path):
    cfg = _cfg("tl-net", cache, max_steps=1)
    run(train_job(cfg, tmp_path, "cpu"))
    other = TrainConfig(**{**cfg.__dict__, "lr": 0.5, "max_steps": None})
    with pytest.raises(ValueError, match="lr"):
        run(train_job(other, tmp_path, "cpu", resume=True))
    with pytest.raises(ValueError, match="nothing to resume"):
        run(train_job(cfg, tmp_path / "empty", "cpu", resume=True))


def test_cancel_stops_within_one_step(cache, tmp_path):
    job = train_job(_cfg("tl-net", cache), tmp_path, "cpu")
    first = next(job)
    job.close()  # what a worker's quit does at the next yield
    assert first.step == 1
    assert job.gi_frame is None  # the job is over: no more steps run


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_cpu_processes_keep_identical_replicas(cache, tmp_path):
    script = Path(__file__).with_name("ddp_worker.py")
    env = dict(os.environ, GENMED_CACHE=str(cache), OMP_NUM_THREADS="1")
    digests = {}
    for mode in ("straight", "cut", "resume"):
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nproc_per_node=2",
                f"--master_port={_free_port()}",
                str(script),
                str(tmp_path),
                mode,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert res.returncode == 0, mode + res.stdout[-2000:] + res.stderr[-4000:]
        digests[mode] = [(tmp_path / f"{mode}{r}.txt").read_text().split() for r in range(2)]
    run0, run1 = digests["straight"]
    assert run0[0] == run1[0]  # identical replicas
    assert run0[1] == "2" and run1[1] == "2"  # two processes
    assert run0[0] != run0[2]  # and they did train
    assert run0[3] == "4"  # 16 heads, 2 per process and step
    # cut after 2 steps and resumed: each rank continues its own random streams, the same weights
    assert digests["cut"][0][3] == "2" and digests["resume"][0][3] == "4"
    assert digests["resume"][0][0] == digests["resume"][1][0] == run0[0]


def test_evaluate_on_a_tiny_config():
    from napari_genmed.core.nets.registry import build_model

    torch.manual_seed(0)
    models = {k: build_model(k, TINY_MODEL[k]).eval() for k in TINY_MODEL}
    rows = run(evaluate_job(models, n=2, data=TINY_DATASET, robustness=True))
    assert len(rows) == 3 * 3 + 3 * 3  # 3 view sets held-out + 3 robustness rows, per model
    for r in rows:
        assert 0.0 <= r["dice"] <= 1.0 and r["n"] == 2 and np.isfinite(r["sen"])
    for r in rows:  # a head without an axial ellipse has no biometry: counted, not averaged
        assert 0 <= r["biometry_failed"] <= 2 and np.isnan(r["ga_err_wk"]) == (
            r["biometry_failed"] == 2
        )
    table = format_table(rows)
    assert (
        "axial only" in table
        and "GA 36-38" in table
        and "paper" in table.splitlines()[0]
        and "GA err wk" in table
    )
    # each held-out head's Dice, in order, for the paired comparisons of the targets; robustness
    # rows have none
    assert all(
        len(r["dice_per_head"]) == 2 and np.mean(r["dice_per_head"]) == pytest.approx(r["dice"])
        for r in rows
        if r["scenario"] == "held-out"
    )
    assert not any("dice_per_head" in r for r in rows if r["scenario"] != "held-out")
    # 9 paper rows, two CVAEs' three-view Dice, HiREC against REC with two view sets, and
    # each model's "more views never worse" on the held-out heads
    checks = check_targets(rows)
    assert len(checks) == 16 and sum("paired difference" in c["detail"] for c in checks) == 2
    assert sum("more views never worse" in c["target"] for c in checks) == 3
    # the same table on validation heads: other phantoms, labelled as such, never the test heads
    val = run(
        evaluate_job(
            {"tl-net": models["tl-net"]}, n=2, data=TINY_DATASET, robustness=False, split="val"
        )
    )
    test = [r for r in rows if r["model"] == "tl-net" and r["scenario"] == "held-out"]
    assert [r["scenario"] for r in val] == ["validation"] * 3 and all(
        r["split"] == "val" and "paper" in r for r in val
    )
    assert [r["dice"] for r in val] != [r["dice"] for r in test]
    with pytest.raises(ValueError, match="split"):
        run(evaluate_job(models, n=2, data=TINY_DATASET, split="train"))
    # another cut: a lower threshold keeps every voxel the higher one kept, so SEN never falls and
    # PPV may
    low = run(evaluate_job(models, n=2, data=TINY_DATASET, robustness=False, threshold=0.3))
    held_out = [r for r in rows if r["scenario"] == "held-out"]
    assert [(a["model"], a["views"]) for a in low] == [(b["model"], b["views"]) for b in held_out]
    assert all(
        a["threshold"] == 0.3 and b["threshold"] == 0.5 and a["sen"] >= b["sen"]
        for a, b in zip(low, held_out)
    )
    assert any(a["sen"] > b["sen"] for a, b in zip(low, held_out))  # the cut did something
    assert format_table(low).startswith("Skull probability cut at 0.3 (the reported table: 0.5)")
    assert format_table(rows).startswith("| scenario")
    with pytest.raises(ValueError, match="threshold"):
        run(evaluate_job(models, n=2, data=TINY_DATASET, threshold=1.0))


def test_evaluate_shape_families_with_frame_free_scores():
    """Beside the phantom heads, heads of other shape families; their rows and the main
    ones carry the aligned Dice, the surface Dice and the extents, and the family
    targets judge them (the held-out family's thresholds, more views never worse,
    HiREC against REC on the aligned per-head Dice)."""
    from napari_genmed.core.eval.reconstruction import format_frame_free
    from napari_genmed.core.nets.registry import build_model

    torch.manual_seed(0)
    models = {k: build_model(k, TINY_MODEL[k]).eval() for k in TINY_MODEL}
    rows = run(
        evaluate_job(
            models, n=2, data=TINY_DATASET, robustness=False, families=("harmonic", "deformed")
        )
    )
    assert {r["scenario"] for r in rows} == {"held-out", "family harmonic", "family deformed"}
    for r in rows:
        assert 0.0 <= r["aligned_dice"] <= 1.0 and 0.0 <= r["nsd_2mm"] <= 1.0
        assert r["aligned_dice"] >= r["dice"] - 0.05  # the best alignment rarely loses overlap
        assert all(np.isfinite(r[f"extent_err_{a}_mm"]) for a in "zyx")
    family = [r for r in rows if r["scenario"] == "family deformed"]
    assert all(r["family"] == "deformed" and len(r["aligned_dice_per_head"]) == 2 for r in family)
    checks = check_targets(rows)
    held = [c for c in checks if "held-out family deformed" in c["target"]]
    assert len(held) == 2 and all("aligned DC" in c["detail"] for c in held)  # REC and HiREC
    assert (
        sum("more views never worse" in c["target"] for c in checks) == 9
    )  # 3 scenarios x 3 models
    assert (
        sum(c["target"].startswith("hirec-cvae at or above rec-cvae, family") for c in checks) == 4
    )
    table = format_frame_free(rows)
    assert "DC aligned" in table.splitlines()[0] and "family deformed" in table
    quick = run(evaluate_job(models, n=2, data=TINY_DATASET, robustness=False, frame_free=False))
    assert all(np.isnan(r["aligned_dice"]) for r in quick) and format_frame_free(quick) == ""


def test_nested_view_masks_follow_the_clinical_order_and_leave_old_recipes_alone():
    """``nested_views_p`` gives that share of samples axial, axial + sagittal or all
    three views; at 0 the masks are exactly the plain view dropout's."""
    from napari_genmed.core.train.batches import view_masks

    plain = view_masks(4000, TrainConfig(), torch.Generator().manual_seed(1))
    again = view_masks(4000, TrainConfig(nested_views_p=0.0), torch.Generator().manual_seed(1))
    assert torch.equal(plain, again)
    nested = view_masks(4000, TrainConfig(nested_views_p=1.0), torch.Generator().manual_seed(1))
    prefixes = {(1.0, 0.0, 0.0), (1.0, 1.0, 0.0), (1.0, 1.0, 1.0)}
    rows = [tuple(r.tolist()) for r in nested]
    assert set(rows) == prefixes
    assert min(rows.count(p) for p in prefixes) > 1200  # about a third each
    half = view_masks(4000, TrainConfig(nested_views_p=0.5), torch.Generator().manual_seed(1))
    axial_only = (half == torch.tensor([1.0, 0.0, 0.0])).all(1).float().mean()
    plain_axial = (plain == torch.tensor([1.0, 0.0, 0.0])).all(1).float().mean()
    assert axial_only > 2.5 * plain_axial  # the hierarchy's subsets are seen far more often
