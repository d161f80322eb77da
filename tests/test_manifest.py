"""The one manifest (napari_genmed/napari.yaml, a real file) ships inside the package."""

import subprocess
import sys
import zipfile
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "napari_genmed" / "napari.yaml"
BIN = Path(sys.executable).parent


def test_npe2_validate():
    res = subprocess.run(
        [str(BIN / "npe2"), "validate", "napari-genmed"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "valid" in (res.stdout + res.stderr).lower()


def test_manifest_is_a_real_file_in_the_package():
    """Not a symlink: a checkout that does not keep symlinks would ship a broken one."""
    assert MANIFEST.is_file() and not MANIFEST.is_symlink()
    installed = files("napari_genmed") / "napari.yaml"
    assert installed.read_text() == MANIFEST.read_text()


def test_manifest_commands_resolve():
    from npe2 import PluginManager

    pm = PluginManager()
    pm.discover(include_npe1=False)
    manifest = pm.get_manifest("napari-genmed")
    names = {c.id for c in manifest.contributions.commands}
    assert {
        "napari-genmed.get_reader",
        "napari-genmed.write_nifti",
        "napari-genmed.sample_head",
        "napari-genmed.phantom_widget",
    } <= names
    for command in manifest.contributions.commands:
        module, _, attr = command.python_name.partition(":")
        mod = __import__(module, fromlist=[attr])
        assert callable(getattr(mod, attr)), command.python_name


def test_wheel_holds_the_manifest(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("napari_genmed-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        assert z.read("napari_genmed/napari.yaml").decode() == MANIFEST.read_text()
        names = set(z.namelist())
        recipes = {
            f"napari_genmed/weights/recipes/{p.name}"
            for p in (ROOT / "napari_genmed/weights/recipes").iterdir()
        }
        assert recipes <= names and "napari_genmed/weights/MANIFEST.json" in names
        assert {
            f"napari_genmed/weights/{p.name}"
            for p in (ROOT / "napari_genmed/weights").glob("*.safetensors")
        } <= names
        entry_points = next(n for n in z.namelist() if n.endswith("entry_points.txt"))
        text = z.read(entry_points).decode()
        assert (
            "napari-genmed = napari_genmed:napari.yaml" in text
            and "genmed = napari_genmed.cli:main" in text
        )
