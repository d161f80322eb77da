"""Reconstruction of the 3D skull from any subset of views, with a loaded model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .viewprep import prepare_views


@dataclass
class Reconstruction:
    probability: np.ndarray  #: skull probability on the model's grid (z, y, x)
    uncertainty: np.ndarray | None  #: voxel-wise std over samples (n_samples > 1)
    spacing_mm: float  #: voxel size of the grid
    views_used: tuple[str, ...]  #: which views conditioned it
    model_kind: str

    def mask(self, threshold: float = 0.5) -> np.ndarray:
        return self.probability > threshold

    def biometry(self, threshold: float = 0.5) -> dict[str, float]:
        from .measure import measure

        return measure(self.probability, self.spacing_mm, threshold)


def reconstruct(model, views: dict, n_samples: int = 1, seed: int = 0) -> Reconstruction:
    import torch

    from .geometry import VIEW_NAMES

    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or not 1 <= n_samples <= 256:
        raise ValueError(f"n_samples must be an integer in 1..256, got {n_samples!r}")
    images, mask = prepare_views(views, model.config.view_size)
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(seed))
    prob, std = model.reconstruct(
        torch.as_tensor(images[None], device=device), torch.as_tensor(mask[None], device=device), n_samples, generator
    )
    return Reconstruction(
        probability=prob[0, 0].float().cpu().numpy(),
        uncertainty=None if std is None else std[0, 0].float().cpu().numpy(),
        spacing_mm=float(model.config.spacing_mm),
        views_used=tuple(n for n, m in zip(VIEW_NAMES, mask) if m),
        model_kind=model.kind,
    )
