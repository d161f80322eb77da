"""The layering rules of DESIGN §2, checked in fresh interpreters."""

import subprocess
import sys

import pytest

CORE = ["labels", "biometry", "geometry", "phantom", "brain", "ultrasound", "dataset", "progress", "scan", "sample", "nifti", "dicom", "frames"]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sys.modules))"], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("target", ["napari_genmed.core", "napari_genmed.api", "napari_genmed.cli", "napari_genmed.bench"] + [f"napari_genmed.core.{m}" for m in CORE])
def test_core_api_and_cli_leave_qt_out(target):
    mods = _modules_after(f"import {target}")
    assert not {m for m in mods if m.split(".")[0] in {"napari", "qtpy", "magicgui", "vispy", "PyQt6", "PyQt5", "PySide6"}}


def test_core_does_not_import_qt_even_when_used():
    code = "from napari_genmed.core.dataset import PhantomDataset, DatasetConfig\nPhantomDataset('train', 1, DatasetConfig(grid=(16,16,16), spacing_mm=8.0, view_shape=(32,32)))[0]"
    mods = _modules_after(code)
    assert "torch" in mods and "napari" not in mods and "qtpy" not in mods


def test_package_import_is_cheap():
    mods = _modules_after("import napari_genmed, napari_genmed._reader, napari_genmed._writer, napari_genmed._sample_data")
    assert "torch" not in mods and "napari" not in mods
