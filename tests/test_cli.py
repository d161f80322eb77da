import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from napari_genmed.cli import main
from napari_genmed.core.io.nifti import read_nifti


def test_phantom_command_writes_files(tmp_path, capsys):
    assert (
        main(
            [
                "phantom",
                "--ga",
                "24",
                "--seed",
                "3",
                "--grid",
                "32",
                "--spacing",
                "4",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert "BPD" in capsys.readouterr().out
    vol = read_nifti(tmp_path / "labels.nii.gz")
    assert vol.data.shape == (32, 32, 32) and vol.spacing_mm == (4.0, 4.0, 4.0) and vol.is_labels
    meta = json.loads((tmp_path / "planes.json").read_text())
    assert set(meta["views"]) == {"axial", "sagittal", "coronal"}
    assert all((tmp_path / v["file"]).exists() for v in meta["views"].values())


def test_bad_arguments_give_a_clear_error(tmp_path, capsys):
    assert main(["phantom", "--ga", "50", "--out", str(tmp_path)]) == 2
    assert "gestational age" in capsys.readouterr().err


def test_sample_data_command_reproduces_the_committed_files(tmp_path):
    root = Path(__file__).resolve().parents[1] / "sample_data"
    assert main(["sample-data", "--out", str(tmp_path)]) == 0
    assert np.array_equal(
        read_nifti(tmp_path / "fetal_head_labels.nii.gz").data,
        read_nifti(root / "fetal_head_labels.nii.gz").data,
    )
    assert json.loads((tmp_path / "planes.json").read_text()) == json.loads(
        (root / "planes.json").read_text()
    )


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "genmed"
    res = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "sample-data" in res.stdout


def test_bench_reports_subjects_per_second(capsys):
    assert main(["bench", "--repeats", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = [r["name"] for r in out["rows"]]
    assert "subject: skull + 3 views" in names
    assert all(r["p50_ms"] > 0 or r["note"].startswith("skipped") for r in out["rows"]), [
        r for r in out["rows"] if not r["p50_ms"] > 0
    ]
    for expected in (
        "hirec-cvae: latent slider move, 64^3",
        "mental-map: generate a missing view from 2 slices",
        "density map, 128 x 128 view (patch flow)",
        "rec-cvae: training step, batch 8",
        "decoder forward at 128^3 (one volume)",
        "hirec-cvae (lifted, untrained): reconstruct, 3 views, 64^3",
        "rec-cvae (lifted, untrained): latent slider move, 64^3",
        "plane gate: plausibility of one 128x128 view",
        "rec-cvae: reconstruct, 3 views, with the gate",
    ):
        assert expected in names


def test_data_command_fills_the_training_cache_once(tmp_path, capsys):
    import json

    args = ["data", "--cache", str(tmp_path), "--train", "2", "--val", "1", "--workers", "2"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["made"] == {"train": 2, "val": 1}
    assert len(list(tmp_path.rglob("*.npz"))) == 3
    assert main(args) == 0  # a second call finds everything made
    assert json.loads(capsys.readouterr().out)["made"] == {"train": 0, "val": 0}


def test_evaluate_command_prints_table_one(capsys):
    """`genmed evaluate` end to end with the bundled TL-net on one held-out head, then
    with the other shape families beside it (the default)."""
    base = ["evaluate", "--n", "1", "--no-robustness", "--models", "tl-net", "--device", "cpu"]
    assert main([*base, "--families", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["model"], r["views"]) for r in rows] == [
        ("tl-net", v) for v in ("3 views", "axial+sagittal", "axial only")
    ]
    assert rows[0]["dice"] > 0.85 and rows[0]["biometry_failed"] == 0 and rows[0]["ga_err_wk"] < 1.5
    assert rows[0]["aligned_dice"] >= rows[0]["dice"] - 0.01 and rows[0]["nsd_2mm"] > 0.9
    assert main(base) == 0
    table, frame_free, targets = capsys.readouterr().out.split("\n\n")
    assert table.startswith("| scenario") and "GA err wk" in table
    assert table.count("tl-net") == 3 * 4  # the phantom heads and three other families
    assert "DC aligned" in frame_free and "family deformed" in frame_free
    assert targets.startswith("Targets: ")
    # TL-net's three paper rows and its "more views never worse" in each of four
    # scenarios; nothing about the models not evaluated
    assert re.match(r"Targets: \d+ of 7 met\n", targets) and "hirec" not in targets


def test_check_command_flags_a_real_echo_and_passes_the_sample(capsys):
    from pydicom.data import get_testdata_file

    cli = main
    root = Path(__file__).resolve().parents[1] / "sample_data"
    echo = get_testdata_file("examples_ybr_color.dcm")
    assert cli(["check", str(root / "axial.png"), "--slot", "axial", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["verdict"] == "plausible"
    assert cli(["check", echo, "--frame", "3", "--slot", "axial"]) == 1  # refused: exit 1
    assert "frame 3: not a fetal head plane" in capsys.readouterr().out
    assert cli(["check", echo, "--frame", "30"]) == 2
    assert "there is no frame 30" in capsys.readouterr().err


def test_prefer_reader_sets_and_undoes_naparis_preference(tmp_path):
    import os

    import yaml

    env = {**os.environ, "NAPARI_CONFIG": str(tmp_path / "settings.yaml")}

    def run(*args):
        cmd = [sys.executable, "-m", "napari_genmed.cli", "prefer-reader", *args]
        subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        saved = yaml.safe_load((tmp_path / "settings.yaml").read_text()) or {}
        return (saved.get("plugins") or {}).get("extension2reader", {})

    assert run() == {"*.dcm": "napari-genmed", "*.dicom": "napari-genmed"}  # DICOM only
    assert run("--all")["*.png"] == "napari-genmed"
    assert "*.dcm" not in run("--undo")


def test_evaluate_poses_prints_nominal_and_refined_per_family(capsys):
    assert main(["evaluate-poses", "--n", "2", "--families", "phantom", "deformed"]) == 0
    out = capsys.readouterr().out
    assert "deformed (held out)" in out and "refined" in out and "target" in out


def test_weights_folder_resolves_runs_and_falls_back_to_the_bundled_out_loud(tmp_path, capsys):
    from napari_genmed.cli.evaluate import _weights

    (tmp_path / "rec-cvae.safetensors").write_bytes(b"")
    (tmp_path / "tl-net").mkdir()
    (tmp_path / "tl-net" / "model.safetensors").write_bytes(b"")
    assert _weights("rec-cvae", str(tmp_path)) == str(tmp_path / "rec-cvae.safetensors")
    assert _weights("tl-net", str(tmp_path)) == str(tmp_path / "tl-net" / "model.safetensors")
    assert capsys.readouterr().err == ""
    assert _weights("hirec-cvae", str(tmp_path)) == "hirec-cvae"
    assert "bundled hirec-cvae" in capsys.readouterr().err
    assert _weights("hirec-cvae", None) == "hirec-cvae"
