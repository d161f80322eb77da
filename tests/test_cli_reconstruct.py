"""``genmed reconstruct``: one study from files, and a batch folder in which one study
is corrupt, one a real cine that is not a fetal head, one ambiguous."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from napari_genmed.cli import main
from napari_genmed.core.io.meshes import read_mesh
from napari_genmed.core.io.nifti import read_nifti

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
PYDICOM = Path(pydicom.__file__).parent / "data" / "test_files"


def test_one_study_writes_its_outputs_and_never_over_them(tmp_path, capsys):
    out = tmp_path / "study"
    args = [f"--{n}={SAMPLE / f'{n}.png'}" for n in ("axial", "sagittal", "coronal")]
    assert main(["reconstruct", *args, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    truth = json.loads((SAMPLE / "planes.json").read_text())["biometry"]
    assert abs(summary["biometry"]["bpd_mm"] - truth["bpd_mm"]) < 5
    assert summary["model"] == "hirec-cvae" and summary["withheld"] is None
    assert summary["surface_spread_mm"] is None  # one sample: nothing to spread
    assert all(v["verdict"] == "plausible" for v in summary["views"].values())
    prob = read_nifti(out / "probability.nii.gz")
    skull = read_nifti(out / "skull.nii.gz")
    assert prob.data.dtype == np.float32 and prob.data.min() >= 0 and prob.data.max() <= 1
    assert skull.is_labels and np.array_equal(skull.data > 0, prob.data > 0.5)
    verts, faces = read_mesh(out / "surface.stl")
    assert len(faces) > 1000 and verts.max() <= prob.data.shape[0] * prob.spacing_mm[0]
    assert json.loads((out / "result.json").read_text()) == summary
    before = (out / "skull.nii.gz").stat().st_mtime_ns
    assert main(["reconstruct", *args, "--out", str(out)]) == 2  # a clear error, nothing over
    assert "not written over" in capsys.readouterr().err
    assert (out / "skull.nii.gz").stat().st_mtime_ns == before


def test_batch_runs_every_study_and_reports_the_bad_ones(tmp_path, capsys):
    batch = tmp_path / "studies"
    for name in ("good", "cine", "corrupt", "twice", "empty"):
        (batch / name).mkdir(parents=True)
    for n in ("axial", "sagittal"):
        shutil.copy(SAMPLE / f"{n}.png", batch / "good" / f"{n.upper()}_1.png")  # any case
    shutil.copy(PYDICOM / "examples_ybr_color.dcm", batch / "cine" / "axial.dcm")  # an echo
    data = (PYDICOM / "examples_palette.dcm").read_bytes()
    (batch / "corrupt" / "axial.dcm").write_bytes(data[: len(data) // 3])
    shutil.copy(SAMPLE / "axial.png", batch / "twice" / "axial-a.png")
    shutil.copy(SAMPLE / "axial.png", batch / "twice" / "axial-b.png")
    (batch / "empty" / "notes.txt").write_text("no views here")
    out = tmp_path / "out"
    assert main(["reconstruct", "--batch", str(batch), "--out", str(out), "--samples", "4"]) == 1
    err = capsys.readouterr().err
    assert "studies" in err and "5/5" in err  # the progress bar ran to the end
    rows = {r["study"]: r for r in csv.DictReader((out / "summary.csv").open())}
    assert set(rows) == {"good", "cine", "corrupt", "twice", "empty"}
    assert rows["good"]["status"] == "ok" and float(rows["good"]["bpd_mm"]) > 60
    assert (out / "good" / "surface.stl").exists()
    spread = json.loads((out / "good" / "result.json").read_text())["surface_spread_mm"]
    assert 0 < spread["median"] <= spread["p95"] < 10  # mm the surface moves between samples
    cine = rows["cine"]
    assert cine["status"] == "ok" and cine["frames"].endswith("/30")  # the gate's best frame
    assert "not a fetal head plane" in cine["verdicts"] and cine["withheld"] and not cine["bpd_mm"]
    scores = json.loads((out / "cine" / "result.json").read_text())["views"]["axial"]
    assert len(scores["frame_scores"]) == 30
    assert rows["corrupt"]["status"] == "failed" and "truncated" in rows["corrupt"]["error"]
    assert rows["twice"]["status"] == "failed" and "more than one file" in rows["twice"]["error"]
    assert rows["empty"]["status"] == "failed" and "no view file" in rows["empty"]["error"]
    assert not (out / "corrupt").exists() and not (out / "twice").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "x"], "give the view files"),
        (["--axial", "a.png", "--batch", "b", "--out", "x"], "give the view files"),
        (["--axial", "a.png", "--frame", "last", "--out", "x"], "--frame takes"),
    ],
)
def test_bad_arguments_are_clear_errors(args, message, capsys):
    assert main(["reconstruct", *args]) == 2
    assert message in capsys.readouterr().err
