"""Where an explorer stands in a model's latent space (:class:`LatentState`): the
condition, its reference and sigma, the current latent, A / B for interpolation,
save and load. Plain numpy around :mod:`.latent`; the latent explorer panel owns
one, and a notebook can too."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .latent import condition_of, decode, model_device, prior
from .latent_ranking import LatentDirections


class LatentState:
    """Where an explorer stands in a model's latent space: the condition (views or
    none), its reference and sigma, the current ``z``, two captured latents A and B
    for interpolation and the seed of the last random sample. Plain numpy; the
    panel owns one and decodes its ``z``."""

    def __init__(self, model, directions: LatentDirections, views: dict | None = None):
        self.model, self.directions = model, directions
        self.views = views or None
        self.condition_on_views = self.views is not None
        self.a: np.ndarray | None = None
        self.b: np.ndarray | None = None
        self.seed: int | None = None
        self._set_condition()
        self.z = self.reference.copy()

    def _set_condition(self) -> None:
        self.condition = condition_of(self.model, self.views if self.condition_on_views else None)
        mean, sigma = prior(self.model, self.condition, self.directions.code_sigma)
        self.reference, self.sigma = mean[0], np.maximum(sigma[0], 1e-6)

    @property
    def dims(self) -> int:
        return self.model.latent_dim

    def set_views(self, views: dict | None) -> None:
        """New views (a new reconstruction): the explorer returns to their point estimate."""
        self.views = views or None
        self.condition_on_views = self.views is not None
        self._set_condition()
        self.reset()

    def set_condition_on_views(self, on: bool) -> None:
        """Condition on the views, or not (the unconditional prior); the slider
        positions (in sigma) are kept."""
        if on and self.views is None:
            raise ValueError("no views to condition on: reconstruct from views first")
        u = self.values()
        self.condition_on_views = bool(on)
        self._set_condition()
        self.z = (self.reference + u * self.sigma).astype(np.float32)

    def values(self) -> np.ndarray:
        """Slider positions: ``(z - reference) / sigma``."""
        return ((self.z - self.reference) / self.sigma).astype(np.float32)

    def set_value(self, dim: int, u: float) -> None:
        if not 0 <= int(dim) < self.dims:
            raise ValueError(f"dimension {dim} outside 0..{self.dims - 1}")
        if not np.isfinite(u):
            raise ValueError(f"slider value must be finite, got {u}")
        self.z = self.z.copy()
        self.z[int(dim)] = self.reference[int(dim)] + float(u) * self.sigma[int(dim)]

    def reset(self) -> None:
        """Back to the prior mean: the views' point estimate."""
        self.z = self.reference.astype(np.float32).copy()
        self.seed = None

    def sample(self, seed: int) -> None:
        """A random latent from the prior (seeded). TL-net, having no prior, draws
        around its code with the code's spread."""
        import torch

        seed = int(seed)
        generator = torch.Generator(device=model_device(self.model)).manual_seed(seed)
        if getattr(self.model, "can_sample", True):
            with torch.no_grad():
                z = self.model.sample_latent(self.condition, generator)[0].float().cpu().numpy()
        else:
            noise = (
                torch.randn(self.dims, generator=generator, device=generator.device).cpu().numpy()
            )
            z = self.reference + noise * self.sigma
        self.z, self.seed = z.astype(np.float32), seed

    def capture(self, which: str) -> None:
        if which not in ("a", "b"):
            raise ValueError(f"capture 'a' or 'b', not {which!r}")
        setattr(self, which, self.z.copy())

    def interpolate(self, t: float) -> None:
        if self.a is None or self.b is None:
            raise ValueError("capture A and B first")
        t = float(t)
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"t must lie in [0, 1], got {t}")
        self.z = ((1.0 - t) * self.a + t * self.b).astype(np.float32)

    def decode(self) -> np.ndarray:
        return decode(self.model, self.z, self.condition)

    # -- save / load -----------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": "napari-genmed latent",
            "model": self.model.kind,
            "fingerprint": self.directions.fingerprint,
            "latent_dim": self.dims,
            "z": [float(v) for v in self.z],
            "values_sigma": [float(v) for v in self.values()],
            "condition_on_views": self.condition_on_views,
            "seed": self.seed,
        }

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    def load(self, path) -> None:
        """Restore a saved latent (checked: a JSON object for a latent of this size,
        finite numbers). Conditioning follows the file when views are at hand."""
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{Path(path).name}: not a readable latent JSON file ({exc})") from exc
        if (
            not isinstance(d, dict)
            or d.get("format") != "napari-genmed latent"
            or not isinstance(d.get("z"), list)
        ):
            raise ValueError(f"{Path(path).name}: not a napari-genmed latent file")
        if len(d["z"]) != self.dims:
            raise ValueError(
                f"{Path(path).name}: a {len(d['z'])}-D latent ({d.get('model')}), this "
                f"{self.model.kind} has {self.dims} dimensions"
            )
        try:
            z = np.array(d["z"], np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{Path(path).name}: z must be a list of numbers") from exc
        if not np.all(np.isfinite(z)):
            raise ValueError(f"{Path(path).name}: z holds NaN or infinite values")
        want = bool(d.get("condition_on_views", False)) and self.views is not None
        if want != self.condition_on_views:
            self.condition_on_views = want
            self._set_condition()
        self.z, self.seed = z, d.get("seed")
