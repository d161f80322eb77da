"""Reconstruction of the 3D skull from any subset of views, as a job.

:func:`reconstruction_job` yields progress between its steps (views, encoding, each
prior sample, the surface), so a panel can show it and cancel it; :func:`reconstruct`
runs it to the end. The result holds the skull probability on the model's grid, the
voxel-wise standard deviation over samples and the surface's spread in mm that it
implies, the surface at the threshold, the biometry and, when the true skull is
given, Dice / SEN / PPV. Given the plane gate, each view's plausibility
(:mod:`.plausibility`) comes with the result, and a result built on a view that is
not a fetal head plane withholds its biometry and gestational age unless the user
overrides (``allow_implausible``; the override stays on the result).
"""

from __future__ import annotations

import contextlib
import numbers
from dataclasses import dataclass, field, replace

import numpy as np

from ..devices import out_of_memory_as_advice
from ..progress import Job, Progress, run
from .viewprep import prepare_views

#: what a reconstruction's biometry puts in its measurements (withheld together)
BIOMETRY_KEYS = ("bpd_mm", "ofd_mm", "hc_mm", "ga_hadlock_weeks", "ga_intergrowth_weeks")


@dataclass
class Reconstruction:
    probability: np.ndarray  #: skull probability on the model's grid (z, y, x)
    uncertainty: np.ndarray | None  #: voxel-wise std over samples (n_samples > 1)
    spacing_mm: float  #: voxel size of the grid
    views_used: tuple[str, ...]  #: which views conditioned it
    model_kind: str
    threshold: float = 0.5
    surface: tuple[np.ndarray, np.ndarray] | None = None  #: (vertices mm, faces) at the threshold
    measurements: dict = field(default_factory=dict)  #: biometry, and metrics vs truth when known
    plausibility: dict = field(default_factory=dict)  #: view name -> Plausibility (when checked)
    override: bool = False  #: biometry shown although a view is not a fetal head plane
    #: how far the surface moves between the samples, mm, per voxel (n_samples > 1;
    #: :func:`~..metrics.surface_spread.spread_mm`): what the surface's colours show
    spread_mm: np.ndarray | None = None

    def withheld(self) -> str | None:
        """Why the biometry is withheld (a view that is not a fetal head plane, and no
        override), else None."""
        bad = [n for n, p in self.plausibility.items() if p.implausible]
        if not bad or self.override:
            return None
        which = " and ".join(bad)
        return (
            f"biometry and GA withheld: the {which} view{'s are' if len(bad) > 1 else ' is'} not "
            "a fetal head plane (override to see them anyway)"
        )

    def judged(self, plausibility: dict, override: bool = False) -> Reconstruction:
        """This result with the verdicts on the views it was conditioned on (a latent
        move decoded from the same views): biometry withheld as :meth:`recut` would."""
        kept = {n: p for n, p in plausibility.items() if n in self.views_used}
        out = replace(self, plausibility=kept, override=bool(override))
        reason = out.withheld()
        if reason:
            out.measurements = {
                k: v for k, v in self.measurements.items() if k not in BIOMETRY_KEYS
            }
            out.measurements["withheld"] = reason
        return out

    def mask(self, threshold: float | None = None) -> np.ndarray:
        return self.probability > (self.threshold if threshold is None else threshold)

    def biometry(self, threshold: float | None = None) -> dict[str, float]:
        from ..metrics.volume_biometry import measure

        return measure(
            self.probability, self.spacing_mm, self.threshold if threshold is None else threshold
        )

    def recut(
        self, threshold: float, truth: np.ndarray | None = None, with_surface: bool = True
    ) -> Reconstruction:
        """The same reconstruction cut at another threshold: measurements (biometry,
        and overlap with ``truth`` when given) and surface recomputed."""
        from ..io.meshes import surface
        from ..metrics.overlap import overlap

        if not 0.0 < float(threshold) < 1.0:
            raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
        out = replace(self, threshold=float(threshold), surface=None, measurements={})
        reason = out.withheld()
        if reason:
            out.measurements["withheld"] = reason
        else:
            with contextlib.suppress(ValueError):  # no closed skull in the axial plane
                out.measurements.update(out.biometry())
        if truth is not None:
            truth = np.asarray(truth, bool)
            if truth.shape != self.probability.shape:
                raise ValueError(
                    f"ground truth of shape {truth.shape} does not match the model grid "
                    f"{self.probability.shape}"
                )
            out.measurements.update(overlap(out.mask(), truth))
        if with_surface:
            out.surface = surface(
                self.probability, self.spacing_mm, out.threshold, smooth_sigma=0.5
            )
        return out


def reconstruction_job(
    model,
    views: dict,
    n_samples: int = 1,
    seed: int = 0,
    threshold: float = 0.5,
    truth=None,
    with_surface: bool = False,
    gate=None,
    allow_implausible: bool = False,
) -> Job[Reconstruction]:
    import torch

    from ..metrics.surface_spread import spread_mm
    from ..sim.geometry import VIEW_NAMES

    if (
        isinstance(n_samples, (bool, np.bool_))
        or not isinstance(n_samples, numbers.Integral)
        or not 1 <= n_samples <= 256
    ):
        raise ValueError(f"n_samples must be an integer in 1..256, got {n_samples!r}")
    n_samples = int(n_samples)
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
    if not getattr(model, "can_sample", True):
        n_samples = 1  # a deterministic model (TL-net) has no variants to draw
    total = 3 + n_samples
    images, mask = prepare_views(
        views, model.config.view_size, model.config.view_pixel_mm
    )  # bad views fail here
    if not mask.any():
        raise ValueError(f"no views given: at least one of {', '.join(VIEW_NAMES)} is needed")
    present = [n for n, k in zip(VIEW_NAMES, mask) if k]
    yield Progress(0, total, "views checked")  # the gate runs in the worker, after this
    device = next(model.parameters()).device
    v = torch.as_tensor(images[None], device=device)
    m = torch.as_tensor(mask[None], device=device)
    plausibility, maps = {}, None
    if gate is not None:
        plausibility, maps = _judge(gate, model, views, images, mask, present, v)
    generator = torch.Generator(device=device).manual_seed(int(seed))
    yield Progress(1, total, "encoding the views")
    with torch.no_grad(), out_of_memory_as_advice("the reconstruction"):
        condition = model.encode_views(v, m) if maps is None else model.encode_views(v, m, maps)
        if n_samples == 1:
            yield Progress(2, total, "decoding the point estimate")
            prob = (
                torch.sigmoid(model.decode(model.prior_mean(condition), condition))[0, 0]
                .float()
                .cpu()
                .numpy()
            )
            std = None
        else:
            probs = []
            for k in range(n_samples):
                yield Progress(2 + k, total, f"decoding sample {k + 1} of {n_samples}")
                probs.append(
                    torch.sigmoid(
                        model.decode(model.sample_latent(condition, generator), condition)
                    )[0, 0]
                )
            stack = torch.stack(probs)
            prob, std = stack.mean(0).float().cpu().numpy(), stack.std(0).float().cpu().numpy()
    spacing = float(model.config.spacing_mm)
    result = Reconstruction(
        probability=prob,
        uncertainty=std,
        spread_mm=None if std is None else spread_mm(prob, std, spacing),
        spacing_mm=spacing,
        views_used=tuple(present),
        model_kind=model.kind,
        plausibility=plausibility,
        override=bool(allow_implausible),
    )
    yield Progress(
        2 + n_samples, total, "measuring" + (" and building the surface" if with_surface else "")
    )
    result = result.recut(threshold, truth, with_surface)
    yield Progress(total, total, "done")
    return result


def _judge(gate, model, views, images, mask, present, v):
    """The gate's verdicts on the present views and, when the model's view encoders
    share the gate's architecture, view size and pixel, their maps from the same grouped
    pass (the gate then costs a few more groups in calls the model makes anyway);
    else the gate's own pass and no maps."""
    import torch

    from ..nets.side_by_side import Incompatible
    from .plausibility import assess_alongside, assess_prepared

    c = gate.config
    same_views = (c.view_size, c.view_pixel_mm) == (
        model.config.view_size,
        model.config.view_pixel_mm,
    )
    stacks = model.view_stacks()
    if same_views and stacks is not None and v.device == gate.means.device:
        try:
            with torch.no_grad():
                got, maps = assess_alongside(gate, v[0, mask.astype(bool)], present, (stacks, v[0]))
            return dict(zip(present, got)), maps
        except Incompatible:
            pass  # view encoders of another architecture: the gate's own pass
    judged = images
    if not same_views:  # the gate judges the views as given, at its own size and pixel
        judged, _ = prepare_views(views, c.view_size, c.view_pixel_mm)
    return dict(zip(present, assess_prepared(gate, judged[mask.astype(bool)], present))), None


def reconstruct(
    model,
    views: dict,
    n_samples: int = 1,
    seed: int = 0,
    threshold: float = 0.5,
    gate=None,
    allow_implausible: bool = False,
) -> Reconstruction:
    return run(
        reconstruction_job(
            model, views, n_samples, seed, threshold, gate=gate, allow_implausible=allow_implausible
        )
    )
