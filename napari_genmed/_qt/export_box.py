"""The export section: the reconstruction on screen to NIfTI, its surface to STL,
OBJ or PLY (the viewer state's result, whichever panel put it there)."""

from __future__ import annotations

import numpy as np
from magicgui.widgets import Container, FileEdit, PushButton
from napari.utils.notifications import show_error, show_info


class ExportBox(Container):
    def __init__(self, state):
        super().__init__(labels=True)
        self.state = state
        self.nifti_path = FileEdit(
            mode="w", filter="*.nii.gz", value="skull_reconstruction.nii.gz", label="NIfTI"
        )
        self.save_nifti = PushButton(text="Export volume", tooltip="the skull probability volume")
        self.mesh_path = FileEdit(
            mode="w", filter="*.stl *.obj *.ply", value="skull_surface.stl", label="surface"
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
        try:
            path = write_nifti(
                self.nifti_path.value, r.probability.astype(np.float32), (r.spacing_mm,) * 3
            )
        except (ValueError, OSError) as exc:
            show_error(f"Export failed: {exc}")
            return None
        show_info(f"saved {path}")
        return path

    def export_surface(self):
        from ..core.io.meshes import write_mesh

        r = self.state.result
        if r is None or r.surface is None:
            show_error("No surface to export yet: reconstruct first.")
            return None
        try:
            path = write_mesh(self.mesh_path.value, *r.surface)
        except (ValueError, OSError) as exc:
            show_error(f"Export failed: {exc}")
            return None
        show_info(f"saved {path}")
        return path
