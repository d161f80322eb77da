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
reconstruction's) go through their encoders in one pass: the encoders side by side as
grouped convolutions (``groups`` = number of views; a group norm over their stacked
channels normalises each encoder's groups as its own would), the same numbers in about
two thirds of the time of three passes on the CPU, where these small convolutions cost
little more than their calls.

The verdicts from these numbers are :mod:`~..tasks.plausibility`'s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..sim.geometry import VIEW_NAMES
from .blocks import down_block

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
        self._side_by_side: dict = {}  #: (planes, device) -> grouped encoders (not saved)

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

    def features_side_by_side(self, views: torch.Tensor, planes: tuple[int, ...]) -> torch.Tensor:
        """``(N, H, W)`` views, view ``i`` of plane ``planes[i]`` (distinct) -> ``(N, D)``
        features, each through its own plane's encoder, all in one pass."""
        key = (tuple(planes), str(views.device))
        stack = self._side_by_side.get(key)
        if stack is None:
            stack = _side_by_side([self.encoders[k] for k in planes]).to(views.device)
            # channels-last: oneDNN's grouped convolutions run about 30% faster on the CPU
            stack = self._side_by_side[key] = stack.to(memory_format=torch.channels_last)
        h = (views[None] * 2.0 - 1.0).contiguous(memory_format=torch.channels_last)
        parts, n = [], len(planes)
        for block in stack:
            h = block(h)
            parts.append(h.mean((2, 3)).view(n, -1))
        return torch.cat(parts, 1)

    @torch.no_grad()
    def judge_side_by_side(self, views: torch.Tensor, planes) -> list[dict[str, torch.Tensor]]:
        """What :meth:`forward` gives, for views of distinct planes, in one pass."""
        f = self.features_side_by_side(views, tuple(planes))
        out = []
        for i, k in enumerate(planes):
            d = self.distances(f[i : i + 1], k)
            out.append(
                {
                    "distance": d,
                    "p_value": self.p_values(d, k),
                    "planes": self.plane_probabilities(f[i : i + 1], k),
                }
            )
        return out

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


def _side_by_side(stacks) -> nn.Sequential:
    """Encoders of one architecture as one stack of grouped convolutions (their
    weights copied, frozen)."""
    n, blocks = len(stacks), []
    for layers in zip(*stacks):
        convs, norms = [b[0] for b in layers], [b[1] for b in layers]
        c = convs[0]
        conv = nn.Conv2d(
            n * c.in_channels, n * c.out_channels, c.kernel_size, c.stride, c.padding, groups=n
        )
        conv.weight.data = torch.cat([x.weight.data for x in convs])
        conv.bias.data = torch.cat([x.bias.data for x in convs])
        norm = nn.GroupNorm(n * norms[0].num_groups, n * c.out_channels, eps=norms[0].eps)
        norm.weight.data = torch.cat([x.weight.data for x in norms])
        norm.bias.data = torch.cat([x.bias.data for x in norms])
        blocks.append(nn.Sequential(conv, norm, nn.SiLU()))
    return nn.Sequential(*blocks).requires_grad_(False).eval()


def shrunk_precision(x: torch.Tensor, shrinkage: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and inverse shrunk covariance of the rows of ``x`` (float64 inside)."""
    x = x.double()
    mu = x.mean(0)
    cov = torch.cov(x.T)
    d = cov.shape[0]
    cov = (1.0 - shrinkage) * cov + shrinkage * torch.trace(cov) / d * torch.eye(d, dtype=x.dtype)
    return mu.float(), torch.linalg.inv(cov).float()
