"""The export section: the reconstruction on screen to NIfTI, its surface to STL,
OBJ or PLY (the viewer state's result, whichever panel put it there).

A bare file name is saved in the folder of the first file the user opened, else in
their home folder (never the process's working directory), and the message names the
whole path. A file this box did not write in this session is never overwritten: the
export takes the next free name and says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from magicgui.widgets import Container, FileEdit, PushButton
from napari.utils.notifications import show_error, show_info

WHERE = "a bare name goes to the opened file's folder, else your home folder"


def default_folder(viewer) -> Path:
    """The folder of the first layer opened from a file, else the user's home."""
    for layer in getattr(viewer, "layers", []):
        path = getattr(getattr(layer, "source", None), "path", None)
        if path:
            return Path(path).expanduser().resolve().parent
    return Path.home()


def free_path(path: Path, written: set) -> Path:
    """``path`` unless a file is there that this box did not write: then
    ``name (2).ext``, ``name (3).ext``, ... (the double suffix .nii.gz kept whole)."""
    if not path.exists() or path in written:
        return path
    name = path.name
    stem, ext = (
        (name[: -len(".nii.gz")], ".nii.gz")
        if name.endswith(".nii.gz")
        else (
            path.stem,
            path.suffix,
        )
    )
    k = 2
    while (candidate := path.with_name(f"{stem} ({k}){ext}")).exists() and candidate not in written:
        k += 1
    return candidate


class ExportBox(Container):
    def __init__(self, state, viewer=None):
        super().__init__(labels=True)
        self.state = state
        self.viewer = viewer
        self.written: set[Path] = set()  #: files this box wrote (it may write them again)
        self.nifti_path = FileEdit(
            mode="w",
            filter="*.nii.gz",
            value="skull_reconstruction.nii.gz",
            label="NIfTI",
            tooltip=f"where the probability volume goes ({WHERE})",
        )
        self.save_nifti = PushButton(text="Export volume", tooltip="the skull probability volume")
        self.mesh_path = FileEdit(
            mode="w",
            filter="*.stl *.obj *.ply",
            value="skull_surface.stl",
            label="surface",
            tooltip=f"where the surface goes: .stl, .obj or .ply ({WHERE})",
        )
        self.save_mesh = PushButton(text="Export surface", tooltip="the surface at the threshold")
        self.extend([self.nifti_path, self.save_nifti, self.mesh_path, self.save_mesh])
        self.save_nifti.changed.connect(self.export_volume)
        self.save_mesh.changed.connect(self.export_surface)

    def export_volume(self):
        from ..core.io.nifti import write_nifti

        r = self.state.result
        if r is None:
            show_error("Nothing to export yet: reconstruct first.")
            return None
        target = self.target(self.nifti_path.value)
        try:
            path = write_nifti(target, r.probability.astype(np.float32), (r.spacing_mm,) * 3)
        except (ValueError, OSError) as exc:
            show_error(f"Export failed: {exc}")
            return None
        return self._saved(path)

    def export_surface(self):
        from ..core.io.meshes import write_mesh

        r = self.state.result
        if r is None or r.surface is None:
            show_error("No surface to export yet: reconstruct first.")
            return None
        target = self.target(self.mesh_path.value)
        try:
            path = write_mesh(target, *r.surface)
        except (ValueError, OSError) as exc:
            show_error(f"Export failed: {exc}")
            return None
        return self._saved(path)

    def target(self, value) -> Path:
        """Where an export of file name ``value`` goes (see the module's docstring)."""
        path = Path(str(value)).expanduser()
        if not path.is_absolute():
            path = default_folder(self.viewer) / path
        self._asked = path.resolve()
        return free_path(self._asked, self.written)

    def _saved(self, path) -> Path:
        path = Path(path).resolve()
        self.written.add(path)
        kept = "" if path == self._asked else f" ({self._asked.name} exists and was kept)"
        show_info(f"saved {path}{kept}")
        return path
