"""Smooth surfaces of volumes (scikit-image marching cubes) and their export.

Vertices are in the volume's millimetre coordinates (axes z, y, x), so a surface
lies where the volume's layer (scaled by its spacing) lies. Export writes STL, OBJ
or PLY with trimesh, converting vertices to (x, y, z) order as mesh tools expect.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

MESH_SUFFIXES = (".stl", ".obj", ".ply")


def surface(volume: np.ndarray, spacing_mm: float, level: float = 0.5, smooth_sigma: float = 0.7):
    """``(vertices (V, 3) float32 mm, faces (F, 3) int32)`` of ``volume`` at
    ``level`` after a light Gaussian smoothing (binary masks become smooth), or
    None when the smoothed volume never crosses ``level``."""
    from skimage.measure import marching_cubes

    vol = np.asarray(volume, np.float32)
    if vol.ndim != 3:
        raise ValueError(f"expected a 3D volume, got shape {vol.shape}")
    if smooth_sigma > 0:
        vol = ndimage.gaussian_filter(vol, smooth_sigma)
    if not (vol.min() < level < vol.max()):
        return None
    verts, faces, _, _ = marching_cubes(np.pad(vol, 1), level, spacing=(spacing_mm,) * 3)
    return (verts - spacing_mm).astype(np.float32), faces.astype(np.int32)


def write_mesh(path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    import trimesh

    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ValueError(f"{path.name}: surfaces are written as {', '.join(MESH_SUFFIXES)}")
    mesh = trimesh.Trimesh(vertices=np.asarray(vertices)[:, ::-1], faces=faces, process=False)
    mesh.export(path)
    return path


def read_mesh(path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (z, y, x mm) and faces of a mesh file written by :func:`write_mesh`."""
    import trimesh

    mesh = trimesh.load(path, force="mesh", process=False)
    return np.asarray(mesh.vertices)[:, ::-1], np.asarray(mesh.faces)
