"""The layering rules of docs/design.md ("Layers"), checked on every core module.

The modules are found with ``pkgutil``, so a new module is checked without being
listed here: its imports of the package must follow the direction of the roles, and
importing it must leave the Qt layer out (checked in a fresh interpreter).
"""

import ast
import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import napari_genmed
import napari_genmed.core

#: role -> the roles its modules may import (besides their own role and the base
#: modules directly in core/); the same table is in docs/design.md
ALLOWED = {
    "sim": set(),
    "flows": set(),
    "metrics": {"sim"},
    "nets": {"sim", "flows"},
    "io": {"sim", "flows", "nets"},
    "data": {"sim", "flows", "io"},
    "tasks": {"sim", "flows", "nets", "metrics", "io", "data"},
    "train": {"sim", "flows", "nets", "metrics", "io", "data", "tasks"},
    "eval": {"sim", "flows", "nets", "metrics", "io", "data", "tasks"},
}
GUI = {
    "napari",
    "qtpy",
    "magicgui",
    "vispy",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6",
    "psygnal",
    "superqt",
}


def core_modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(napari_genmed.core.__path__, "napari_genmed.core.")
    )


def role(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 3:  # napari_genmed.core.progress: a base module
        return "base"
    return parts[2]


def imported(module: str) -> set[str]:
    """Every napari_genmed module that ``module``'s source imports (at any depth of
    the code: lazy imports count)."""
    spec = importlib.util.find_spec(module)
    tree = ast.parse(Path(spec.origin).read_text())
    package = module if spec.submodule_search_locations else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("napari_genmed")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("napari_genmed"):
                continue
            names = [f"{target}.{a.name}" for a in node.names]
            subs = [n for n in names if _is_module(n)]
            out |= set(subs) if subs else {target}
    return out


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def test_every_core_module_is_found():
    mods = core_modules()
    assert len(mods) > 40 and "napari_genmed.core.sim.phantom" in mods
    assert {role(m) for m in mods} == set(ALLOWED) | {"base"}, (
        "a role folder not in the table (add it to ALLOWED and design.md)"
    )


@pytest.mark.parametrize("module", core_modules())
def test_imports_follow_the_layers(module):
    mine = role(module)
    for target in imported(module):
        if target == "napari_genmed":  # the package root, for its __version__ (imports nothing)
            continue
        assert target.startswith("napari_genmed.core."), (
            f"{module} imports {target}: core imports nothing outside core"
        )
        theirs = role(target)
        if mine == "base":
            assert theirs == "base", f"{module} (a base module) imports {target}"
            continue
        assert theirs in ALLOWED[mine] | {mine, "base"}, (
            f"{module} ({mine}) imports {target} ({theirs}): {mine} may import "
            f"{sorted(ALLOWED[mine])}"
        )


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_the_whole_core_leaves_the_gui_out():
    """Every core module imported together (a fresh interpreter) pulls in none of
    napari, Qt, magicgui, vispy or psygnal: the core runs where they are absent (the
    GPU machines)."""
    mods = _modules_after("\n".join(f"import {m}" for m in core_modules()))
    assert "torch" in mods and "napari_genmed.core.sim.phantom" in mods
    assert not {m for m in mods if m.split(".")[0] in GUI}


@pytest.mark.parametrize(
    "target", ["napari_genmed.api", "napari_genmed.cli", "napari_genmed.dev.bench"]
)
def test_api_cli_and_bench_leave_the_gui_out(target):
    mods = _modules_after(f"import {target}")
    assert not {m for m in mods if m.split(".")[0] in GUI}


def test_core_does_not_import_qt_even_when_used():
    code = (
        "from napari_genmed.core.data.dataset import PhantomDataset, DatasetConfig\n"
        "PhantomDataset('train', 1, DatasetConfig(grid=(16,16,16), spacing_mm=8.0, "
        "view_shape=(32,32)))[0]"
    )
    mods = _modules_after(code)
    assert "torch" in mods and not {m for m in mods if m.split(".")[0] in GUI}


def test_package_import_is_cheap():
    mods = _modules_after(
        "import napari_genmed, napari_genmed._reader, napari_genmed._writer, "
        "napari_genmed._sample_data"
    )
    assert "torch" not in mods and "napari" not in mods


def _panel_modules() -> dict[str, str]:
    """The dock widgets of napari.yaml: command id -> module."""
    import yaml

    manifest = yaml.safe_load((Path(napari_genmed.__file__).parent / "napari.yaml").read_text())
    commands = {c["id"]: c["python_name"] for c in manifest["contributions"]["commands"]}
    return {
        w["display_name"]: commands[w["command"]].split(":")[0]
        for w in manifest["contributions"]["widgets"]
    }


def _qt_closure(module: str) -> set[str]:
    """The ``napari_genmed._qt`` modules ``module`` imports, transitively."""
    seen, todo = set(), [module]
    while todo:
        for target in imported(todo.pop()):
            if target.startswith("napari_genmed._qt.") and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_no_panel_imports_another_panel():
    """Panels share the viewer's state (napari_genmed/state.py) instead: a panel's
    modules never reach another panel's module."""
    panels = _panel_modules()
    assert len(panels) == 6
    for name, module in panels.items():
        others = set(panels.values()) - {module}
        assert not _qt_closure(module) & others, f"the {name} panel imports another panel"
