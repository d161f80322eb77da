"""The interface every skull-reconstruction model shares, and the ELBO pieces.

A model turns the available views into a *condition*, decodes a latent ``z`` with
that condition into skull logits, knows its point estimate (``prior_mean``) and
can sample latents. ``reconstruct`` averages the probabilities of the point
estimate (``n_samples == 1``) or of prior samples, and returns their voxel-wise
standard deviation too.

Losses: reconstruction is binary cross-entropy plus soft Dice (the skull is a few
percent of the voxels); the KL term of the conditional ELBO is the analytic KL
between diagonal Gaussians.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..sim import labels as L
from .blocks import mlp
from .conditioning import check_views

#: what a layered decoder (``output_layers = 3``) predicts: the solid head (inside
#: the outer skull surface), the cranial cavity (inside the inner surface) and bone
#: rather than suture or fontanelle (learnt on the band between the two surfaces).
#: The skull is head and not cavity and bone. The two solids are smooth fields, so
#: their boundaries are those of smooth fields rather than of a one-to-two-voxel
#: ridge. Measured (README, Table 1): as an autoencoder with wider last stages it
#: beats the shell decoder (Dice 0.937 vs 0.929); fine-tuned into the bundled view
#: models it changed nothing material, so they keep the shell.
SKULL_LAYERS = ("head", "cavity", "bone")


@dataclass(frozen=True)
class NetConfig:
    """What every reconstruction model's config shares (the data it was trained on
    and the widths of the shared blocks)."""

    grid: int = 64  #: output side (DESIGN §3 default grid)
    spacing_mm: float = 2.0  #: voxel size the model was trained at
    view_size: int = 128  #: input view side
    view_pixel_mm: float = 1.0  #: pixel size views are resampled to (the training views')
    view_features: int = 64  #: per-view feature width
    condition_dim: int = 256  #: pooled condition width
    view_channels: tuple[int, ...] = (16, 32, 64, 96, 128)  #: 128 -> 4 in five halvings
    enc_channels: tuple[int, ...] = (8, 16, 32, 64)  #: 3D encoder, 64 -> 4
    dec_channels: tuple[int, ...] = (64, 64, 32, 16)  #: 3D decoder, 4 -> 32, then voxel shuffle
    dice_weight: float = 0.5  #: soft Dice beside BCE: the skull is a few % of voxels
    fp_weight: float = 0.5  #: weight of false positives in that overlap term (soft Tversky index); 0.5 is soft Dice, more trades sensitivity for precision
    output_layers: int = 1  #: 1: skull logits; 3: the layers of :data:`SKULL_LAYERS`, combined into the skull
    code_dim: int = 0  #: > 0: the pooled views pass an MLP to a code this wide before the decoder (TL-net's regressor; a CVAE warm-started from TL-net)


def code_regressor(c: NetConfig) -> nn.Module | None:
    """TL-net's image-to-code MLP, pooled views -> ``code_dim`` (None when 0)."""
    return mlp((c.condition_dim, c.condition_dim, c.code_dim)) if c.code_dim else None


def views_to_decoder(regressor: nn.Module | None, pooled: torch.Tensor) -> torch.Tensor:
    """What the decoder reads of the views: their code, or the pooled features."""
    return pooled if regressor is None else regressor(pooled)


def kl_gaussians(mu_q, logvar_q, mu_p=None, logvar_p=None) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians summed over dimensions, per sample;
    ``p`` defaults to N(0, I)."""
    if mu_p is None:
        return 0.5 * torch.sum(mu_q**2 + logvar_q.exp() - 1.0 - logvar_q, dim=1)
    return 0.5 * torch.sum(logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1.0, dim=1)


def soft_dice(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0, fp_weight: float = 0.5) -> torch.Tensor:
    """Soft Dice per sample; with ``fp_weight`` other than 0.5 the soft Tversky index
    TP / (TP + a FP + (1 - a) FN), written so that a = 0.5 is exactly soft Dice."""
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    tp = (p * t).sum(1)
    fp, fn = p.sum(1) - tp, t.sum(1) - tp
    return (2 * tp + eps) / (2 * tp + 2 * fp_weight * fp + 2 * (1.0 - fp_weight) * fn + eps)


def reconstruction_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float, fp_weight: float = 0.5) -> torch.Tensor:
    bce = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).mean(1)
    return bce + dice_weight * (1.0 - soft_dice(logits, target, fp_weight=fp_weight))


def layer_targets(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Label volumes ``(B, D, H, W)`` -> the targets of :data:`SKULL_LAYERS`
    ``(B, 3, D, H, W)`` and the band between the skull surfaces ``(B, 1, D, H, W)``."""
    head = (labels != L.FLUID) & (labels != L.SCALP)
    cavity = head & (labels != L.BONE) & (labels != L.MEMBRANE)
    band = head & ~cavity
    return torch.stack([head, cavity, labels == L.BONE], 1).float(), band.unsqueeze(1).float()


def skull_logits(raw: torch.Tensor) -> torch.Tensor:
    """A decoder's output ``(B, 1 or 3, ...)`` -> skull logits ``(B, 1, ...)``:
    logit of P(head) P(not cavity) P(bone) for layers, computed in log space."""
    if raw.shape[1] == 1:
        return raw
    head, cavity, bone = raw[:, 0:1], raw[:, 1:2], raw[:, 2:3]
    sig = nn.functional.logsigmoid
    log_p = (sig(head) + sig(-cavity) + sig(bone)).clamp(max=-1e-6)
    return log_p - torch.log(-torch.expm1(log_p))


def skull_loss(raw: torch.Tensor, batch: dict, dice_weight: float, fp_weight: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample loss of a decoder's output and the skull logits: BCE + soft Dice
    on the skull, plus for layers the BCE of the head and cavity everywhere and of
    bone on the band (each a mean over all voxels)."""
    logits = skull_logits(raw)
    loss = reconstruction_loss(logits, batch["skull"], dice_weight, fp_weight)
    if raw.shape[1] > 1:
        if "labels" not in batch:
            raise ValueError("a layered skull decoder learns from label volumes: the batch needs 'labels'")
        target, band = layer_targets(batch["labels"])
        bce = nn.functional.binary_cross_entropy_with_logits(raw.float(), target, reduction="none")
        loss = loss + (bce[:, :2].sum(1, keepdim=True) + bce[:, 2:] * band).flatten(1).mean(1)
    return loss, logits


def gaussian_noise(like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard normal noise shaped like ``like``, drawn on the generator's device
    (so a CPU generator serves a CUDA model) and moved to ``like``'s."""
    device = generator.device if generator is not None else like.device
    return torch.randn(like.shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


def clamp_logvar(logvar: torch.Tensor) -> torch.Tensor:
    return logvar.clamp(-10.0, 6.0)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp()


class ReconstructionModel(nn.Module):
    """Base class: subclasses set ``kind`` and implement the abstract verbs."""

    kind: str = ""
    can_sample: bool = True  #: whether prior samples give variants

    def __init__(self, config):
        super().__init__()
        self.config = config

    # -- the shared verbs -------------------------------------------------------
    def encode_views(self, views: torch.Tensor, mask: torch.Tensor):
        raise NotImplementedError

    def decoder_input(self, z: torch.Tensor, condition) -> torch.Tensor:
        """What the decoder reads: z with (the code of) the views."""
        raise NotImplementedError

    def decode_raw(self, z: torch.Tensor, condition=None) -> torch.Tensor:
        """The decoder's output: skull logits, or the logits of :data:`SKULL_LAYERS`."""
        return self.decoder(self.decoder_input(z, condition))

    def decode(self, z: torch.Tensor, condition=None) -> torch.Tensor:
        """Skull logits ``(B, 1, S, S, S)``."""
        return skull_logits(self.decode_raw(z, condition))

    def skull_loss(self, raw: torch.Tensor, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        return skull_loss(raw, batch, self.config.dice_weight, self.config.fp_weight)

    def prior_mean(self, condition) -> torch.Tensor:
        raise NotImplementedError

    def sample_latent(self, condition, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def training_loss(self, batch: dict, stage: str | None = None) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @property
    def latent_dim(self) -> int:
        raise NotImplementedError

    def forward(self, batch: dict, stage: str | None = None) -> dict[str, torch.Tensor]:
        """The training loss (so that DistributedDataParallel can wrap the model)."""
        return self.training_loss(batch, stage)

    # -- derived ---------------------------------------------------------------
    def config_dict(self) -> dict:
        return asdict(self.config)

    @torch.no_grad()
    def reconstruct(self, views: torch.Tensor, mask: torch.Tensor, n_samples: int = 1, generator: torch.Generator | None = None):
        """Skull probability ``(B, 1, S, S, S)`` and its voxel-wise std over samples
        (None for the point estimate)."""
        check_views(views, mask, self.config.view_size)
        condition = self.encode_views(views, mask)
        if n_samples <= 1:
            return torch.sigmoid(self.decode(self.prior_mean(condition), condition)), None
        probs = torch.stack([torch.sigmoid(self.decode(self.sample_latent(condition, generator), condition)) for _ in range(n_samples)])
        return probs.mean(0), probs.std(0)
