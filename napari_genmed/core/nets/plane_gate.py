"""The plane gate: is an image a fetal-head standard plane, and which one?

A likelihood on pixels rates smooth or unrelated images as typical (Nalisnick et al.,
"Do deep generative models know what they don't know?", ICLR 2019), which is why the
patch flow rated an adult cardiac echo above the product's own sample. The gate
measures in a learned feature space instead (Lee et al., "A simple unified framework
for detecting out-of-distribution samples and adversarial attacks", NeurIPS 2018):

- **features**: the per-plane 2D view encoders of a trained reconstruction model
  (frozen copies, so the gate keeps its meaning when the reconstruction models are
  retrained); for each encoder the global average of every down block's output,
  ``f_k(x)`` (``sum(channels)`` values);
- **a Gaussian per plane** ``k`` in its own encoder's space, fitted on that plane's
  training views: mean ``mu_k``, covariance ``S_k`` shrunk towards its mean variance,
  ``(1 - a) S_k + a tr(S_k) / D I`` (``a = shrinkage``), and the squared Mahalanobis
  distance ``d_k(x) = (f_k(x) - mu_k)^T S_k^-1 (f_k(x) - mu_k)``;
- **a calibrated score**: the conformal p-value of ``d_k`` against held-out clean
  views of plane ``k`` (views not used for the fit),
  ``p_k(x) = (1 + #{d_k(cal) >= d_k(x)}) / (n + 1)``,
  the share of real standard planes that look at least as unusual (Vovk et al.,
  *Algorithmic learning in a random world*, 2005): ``p < 0.01`` happens to 1% of them.
  The checkpoint keeps ``n`` evenly spaced quantiles of the held-out distances, not
  the distances themselves;
- **which plane it looks like**: for each encoder a linear (multinomial logistic)
  classifier on its standardised features, over the three standard planes and
  "off-standard" (planes through the head far from the standard ones).

A view assigned to a slot goes through that slot's encoder only (a third of the work
of all three: the gate must add little to a reconstruction); an unassigned view goes
through all three and takes the plane it fits best. Views of distinct slots (a
reconstruction's) go through their encoders in one pass, the encoders side by side
as grouped convolutions (:mod:`.side_by_side`), with the reconstruction model's own
view encoders in the same calls when they share the architecture (the bundled models'
do): the gate then adds a few groups to convolutions the reconstruction runs anyway.

The verdicts from these numbers are :mod:`~..tasks.plausibility`'s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..sim.geometry import VIEW_NAMES
from .blocks import down_block
from .side_by_side import SideBySideCache, block_outputs, snapshot, unchanged

CLASSES = VIEW_NAMES + ("off-standard",)  #: what the classifier tells apart


@dataclass(frozen=True)
class PlaneGateConfig:
    view_size: int = 128  #: the prepared views' side (the reconstruction models')
    view_pixel_mm: float = 1.0
    #: the encoders' widths: those of the bundled view encoders it copies
    channels: tuple[int, ...] = (16, 32, 64, 96, 128)
    shrinkage: float = 0.01  #: measured: 0.1 lets a third of the CT-like slices through
    #: quantiles kept of the held-out clean views' distances (per plane) behind the p-values
    calibration_points: int = 500


class PlaneGate(nn.Module):
    kind = "plane-gate"

    def __init__(self, config: PlaneGateConfig = PlaneGateConfig()):
        super().__init__()
        self.config = c = config
        self.encoders = nn.ModuleList(_conv_stack(c.channels) for _ in VIEW_NAMES)
        d, k = sum(c.channels), len(VIEW_NAMES)
        self.register_buffer("means", torch.zeros(k, d))
        self.register_buffer("precisions", torch.eye(d).repeat(k, 1, 1))
        #: evenly spaced quantiles of the held-out distances per plane (the p-values' reference)
        self.register_buffer("calibration", torch.zeros(k, c.calibration_points))
        self.register_buffer("feature_mean", torch.zeros(k, d))
        self.register_buffer("feature_std", torch.ones(k, d))
        self.classifiers = nn.ModuleList(nn.Linear(d, len(CLASSES)) for _ in VIEW_NAMES)
        self.requires_grad_(False)
        self._side_by_side = SideBySideCache()  #: grouped copies of encoders (not saved)
        self._twin_cache: dict = {}  #: stacks -> which of them are copies of the encoders

    def config_dict(self) -> dict:
        return asdict(self.config)

    def features(self, views: torch.Tensor, plane: int) -> torch.Tensor:
        """``(N, H, W)`` prepared views in [0, 1] -> ``(N, D)``: through plane
        ``plane``'s encoder, every block's output averaged over the image."""
        h, parts = views[:, None] * 2.0 - 1.0, []
        for block in self.encoders[plane]:
            h = block(h)
            parts.append(h.mean((2, 3)))
        return torch.cat(parts, 1)

    def distances(self, features: torch.Tensor, plane: int) -> torch.Tensor:
        """``(N, D)`` features of encoder ``plane`` -> ``(N,)`` squared Mahalanobis
        distances to that plane's Gaussian."""
        diff = features - self.means[plane]
        return torch.einsum("nd,de,ne->n", diff, self.precisions[plane], diff)

    def p_values(self, distances: torch.Tensor, plane: int) -> torch.Tensor:
        """Conformal p-values of plane ``plane``'s distances against its calibration."""
        reference = self.calibration[plane]
        at_least = reference.numel() - torch.searchsorted(reference, distances.contiguous())
        return (1.0 + at_least) / (reference.numel() + 1.0)

    def plane_probabilities(self, features: torch.Tensor, plane: int) -> torch.Tensor:
        """``(N, D)`` features of encoder ``plane`` -> ``(N, 4)`` probabilities of
        :data:`CLASSES`."""
        z = (features - self.feature_mean[plane]) / self.feature_std[plane]
        return self.classifiers[plane](z).softmax(1)

    def features_side_by_side(
        self, views: torch.Tensor, planes: tuple[int, ...], riders=None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(N, H, W)`` views, view ``i`` of plane ``planes[i]`` (distinct) -> ``(N, D)``
        features, each through its own plane's encoder, all in one pass.

        ``riders``: ``(stacks, images)``, convolution stacks of the encoders'
        architecture (a reconstruction model's view encoders) and their ``(M, H, W)``
        inputs, run in the same grouped calls; their last block's outputs come back as
        ``(1, M, C, h, w)`` (else None). A rider with the weights of plane ``k``'s
        encoder (TL-net's are the gate's) fed the same image serves that view: its
        features are read from the rider's group, not computed twice."""
        rider_stacks, rider_images = riders if riders is not None else ((), views[:0])
        twin = self._twins(rider_stacks)
        group = {}  #: view i -> its group in the pass
        for i, k in enumerate(planes):
            j = twin.get(k)
            if j is not None and torch.equal(views[i], rider_images[j]):
                group[i] = j
        own = [i for i in range(len(planes)) if i not in group]
        m = len(rider_stacks)
        group.update({i: m + r for r, i in enumerate(own)})
        stacks = list(rider_stacks) + [self.encoders[planes[i]] for i in own]
        images = torch.cat([rider_images, views[own]]) if own else rider_images
        outputs = block_outputs(self._side_by_side.get(stacks, views.device), images[None])
        n, pick = len(stacks), [group[i] for i in range(len(planes))]
        parts = [h.mean((2, 3)).view(n, -1)[pick] for h in outputs]
        maps = None
        if riders is not None:
            last = outputs[-1]
            maps = last.view(1, n, -1, *last.shape[2:])[:, :m]
        return torch.cat(parts, 1), maps

    def _twins(self, stacks) -> dict[int, int]:
        """``{plane: index}`` of the ``stacks`` whose weights are that plane's encoder's
        (compared once, again when a stack's parameters change)."""
        if not stacks:
            return {}
        key = tuple(id(s) for s in stacks)
        entry = self._twin_cache.get(key)
        if entry is None or not unchanged(entry[0]):
            found = {}
            for j, s in enumerate(stacks):
                for k, enc in enumerate(self.encoders):
                    if k not in found and _same_weights(s, enc):
                        found[k] = j
            entry = self._twin_cache[key] = (snapshot(stacks), found)
            while len(self._twin_cache) > 8:  # the oldest models' entries go
                self._twin_cache.pop(next(iter(self._twin_cache)))
        return entry[1]

    def reads_with(self, stacks) -> bool:
        """Whether ``stacks`` (a model's three view encoders) are this gate's own
        encoders, weight for weight: then the gate judges a reconstruction's views on
        the convolutions the model runs anyway (compared once per set of weights)."""
        return stacks is not None and len(self._twins(list(stacks))) == len(VIEW_NAMES)

    def judge(self, features: torch.Tensor, planes) -> dict[str, torch.Tensor]:
        """What :meth:`forward` gives, for ``(N, D)`` features of view ``i`` through
        plane ``planes[i]``'s encoder (the planes' buffers stacked: a few calls for all
        the views)."""
        planes = tuple(planes)
        if planes == tuple(range(len(VIEW_NAMES))):  # all three in order: the buffers as they are
            pick = slice(None)
        else:
            pick = torch.as_tensor(planes, device=features.device)
        diff = features - self.means[pick]
        d = torch.einsum("nd,nde,ne->n", diff, self.precisions[pick], diff)
        reference = self.calibration[pick]
        at_least = reference.shape[1] - torch.searchsorted(reference, d[:, None]).squeeze(1)
        z = (features - self.feature_mean[pick]) / self.feature_std[pick]
        weight = torch.stack([c.weight for c in self.classifiers])[pick]
        bias = torch.stack([c.bias for c in self.classifiers])[pick]
        return {
            "distance": d,
            "p_value": (1.0 + at_least) / (reference.shape[1] + 1.0),
            "planes": (torch.einsum("nd,ncd->nc", z, weight) + bias).softmax(1),
        }

    @torch.no_grad()
    def judge_side_by_side(
        self, views: torch.Tensor, planes, riders=None
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """:meth:`judge` of views of distinct planes, in one pass with the ``riders``
        (see :meth:`features_side_by_side`) and their maps."""
        f, maps = self.features_side_by_side(views, tuple(planes), riders)
        return self.judge(f, planes), maps

    @torch.no_grad()
    def forward(self, views: torch.Tensor, plane: int) -> dict[str, torch.Tensor]:
        """Everything the verdicts need, for ``(N, H, W)`` prepared views taken as
        plane ``plane`` (0 axial, 1 sagittal, 2 coronal)."""
        f = self.features(views, plane)
        d = self.distances(f, plane)
        return {
            "distance": d,
            "p_value": self.p_values(d, plane),
            "planes": self.plane_probabilities(f, plane),
        }


def _conv_stack(channels: tuple[int, ...]) -> nn.Sequential:
    widths = (1,) + tuple(channels)
    return nn.Sequential(*(down_block(2, a, b) for a, b in zip(widths[:-1], widths[1:])))


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    pa, pb = list(a.parameters()), list(b.parameters())
    return len(pa) == len(pb) and all(
        x.shape == y.shape and x.device == y.device and torch.equal(x, y) for x, y in zip(pa, pb)
    )


def shrunk_precision(x: torch.Tensor, shrinkage: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and inverse shrunk covariance of the rows of ``x`` (float64 inside)."""
    x = x.double()
    mu = x.mean(0)
    cov = torch.cov(x.T)
    d = cov.shape[0]
    cov = (1.0 - shrinkage) * cov + shrinkage * torch.trace(cov) / d * torch.eye(d, dtype=x.dtype)
    return mu.float(), torch.linalg.inv(cov).float()
