"""The interface every skull-reconstruction model shares.

A model turns the available views into a *condition*, decodes a latent ``z`` with
that condition into skull logits, knows its point estimate (``prior_mean``) and
can sample latents. ``reconstruct`` averages the probabilities of the point
estimate (``n_samples == 1``) or of prior samples, and returns their voxel-wise
standard deviation too.

The losses are in :mod:`.losses`, the Gaussians of the latents (sampling, KL) in
:mod:`.gaussians`, the layered skull output in :mod:`.skull_layers`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .blocks import Decoder3D, mlp
from .conditioning import check_views
from .losses import skull_loss
from .skull_layers import skull_logits


@dataclass(frozen=True)
class NetConfig:
    """What every reconstruction model's config shares (the data it was trained on
    and the widths of the shared blocks)."""

    grid: int = 64  #: output side (docs/design.md, Conventions default grid)
    spacing_mm: float = 2.0  #: voxel size the model was trained at
    view_size: int = 128  #: input view side
    view_pixel_mm: float = 1.0  #: pixel size views are resampled to (the training views')
    view_features: int = 64  #: per-view feature width
    condition_dim: int = 256  #: pooled condition width
    view_channels: tuple[int, ...] = (16, 32, 64, 96, 128)  #: 128 -> 4 in five halvings
    enc_channels: tuple[int, ...] = (8, 16, 32, 64)  #: 3D encoder, 64 -> 4
    dec_channels: tuple[int, ...] = (64, 64, 32, 16)  #: 3D decoder, 4 -> 32, then voxel shuffle
    dice_weight: float = 0.5  #: soft Dice beside BCE: the skull is a few % of voxels
    #: weight of false positives in that overlap term (soft Tversky index); 0.5 is soft Dice, more
    #: trades sensitivity for precision
    fp_weight: float = 0.5
    #: 1: skull logits; 3: the layers of :data:`SKULL_LAYERS`, combined into the skull
    output_layers: int = 1
    #: > 0: the pooled views pass an MLP to a code this wide before the decoder (TL-net's regressor;
    #: a CVAE warm-started from TL-net)
    code_dim: int = 0
    #: the views' feature maps lifted into the grid along their planes, and a decoder with
    #: skips from them (nets/lifting.py); False: the pooled vector alone (the bundled models)
    lifted: bool = False
    lift_channels: tuple[int, ...] = (16, 32, 48, 64)  #: lifted view encoder, 128 -> 8 px
    lift_skips: tuple[int, ...] = (8, 16, 32)  #: lifted channels at 1/2, 1/4, 1/8 of the grid
    #: read the skull's sections each view shows (a 2D U-Net per view, learnt against the true
    #: sections), lift them and build skips from them with a 3D encoder (nets/sections.py): with
    #: ``lifted`` the lifted decoder's skips; without, residual branches added to the pooled
    #: decoder (nets/adapter.py); False: no sections (free feature maps when ``lifted``)
    read_sections: bool = False
    section_reader: tuple[int, ...] = (16, 32, 48, 64)  #: the 2D U-Net's widths, 128 -> 8 px
    #: the 3D encoder's widths at 1/2, 1/4, 1/8, 1/16 of the grid (the first three the skips)
    section_trunk: tuple[int, ...] = (16, 32, 64, 96)
    #: weight of the sections' BCE (a per-pixel mean, as the skull's BCE is per voxel)
    section_weight: float = 1.0
    #: a pooled model's section branches act when at least this many views are present: one
    #: plane's section, lifted along its nominal plane, says nothing off that plane, and from
    #: the axial view alone the branches over-segmented (validation PPV 0.78-0.81 against the
    #: pooled model's 0.88; docs/research-log.md, session 23), so one view is the pooled model's
    adapter_min_views: int = 2


def code_regressor(c: NetConfig) -> nn.Module | None:
    """TL-net's image-to-code MLP, pooled views -> ``code_dim`` (None when 0)."""
    return mlp((c.condition_dim, c.condition_dim, c.code_dim)) if c.code_dim else None


def pooled_of(condition) -> torch.Tensor:
    """The pooled views of a condition (a tensor, or a dict with ``pooled``)."""
    return condition["pooled"] if isinstance(condition, dict) else condition


def lifted_parts(c: NetConfig, latent_dim: int):
    """``(conditioner, decoder)`` of a lifted model (:mod:`.lifting`, :mod:`.sections`)."""
    from .lifting import LiftedDecoder, LiftedViews
    from .sections import SectionViews

    if c.code_dim:
        raise ValueError("a lifted model reads the views itself: code_dim must be 0")
    if c.view_size != 2 * c.grid:
        raise ValueError(
            f"lifted views must be twice the grid's side: {c.view_size} px for a {c.grid}^3 grid"
        )
    if c.read_sections:
        conditioner = SectionViews(
            c.grid, c.section_reader, c.section_trunk, c.view_features, c.condition_dim
        )
        lifted = tuple(reversed(c.section_trunk[:3]))
        # the skips at half the grid already hold 3^3 context from the trunk's coarser
        # scales: mixed voxel by voxel there, a 3^3 convolution at 32^3 is most of a step
        kernels = (3, 3, 1)
    else:
        conditioner = LiftedViews(c.lift_channels, c.lift_skips, c.view_features, c.condition_dim)
        lifted, kernels = tuple(reversed(c.lift_skips)), (3, 3, 3)
    decoder = LiftedDecoder(
        latent_dim + c.condition_dim, c.grid, c.dec_channels, lifted, c.output_layers, kernels
    )
    return conditioner, decoder


def pooled_decoder(c: NetConfig, in_features: int) -> nn.Module:
    """A pooled model's decoder: :class:`~.blocks.Decoder3D`, or with ``read_sections``
    the same with residual skips from the sections (:mod:`.adapter`)."""
    if c.read_sections:
        from .adapter import AdaptedDecoder

        lifted = tuple(reversed(_adapter_trunk(c)))
        return AdaptedDecoder(
            in_features, c.grid, c.dec_channels, lifted, c.output_layers, c.adapter_min_views
        )
    return Decoder3D(in_features, c.grid, c.dec_channels, layers=c.output_layers)


def pooled_sections(c: NetConfig) -> nn.Module | None:
    """What a pooled model that reads sections reads them with (else None)."""
    if not c.read_sections or c.lifted:
        return None
    from .sections import SectionViews

    return SectionViews(c.grid, c.section_reader, _adapter_trunk(c), c.view_features)


def _adapter_trunk(c: NetConfig) -> tuple[int, ...]:
    """The section trunk's widths a pooled decoder's upsamplings meet (finest first)."""
    ups = len(c.dec_channels) - 1
    if len(c.section_trunk) < ups:
        raise ValueError(f"section_trunk needs {ups} widths for this decoder")
    return tuple(c.section_trunk[:ups])


def views_to_decoder(regressor: nn.Module | None, pooled: torch.Tensor) -> torch.Tensor:
    """What the decoder reads of the views: their code, or the pooled features."""
    return pooled if regressor is None else regressor(pooled)


class ReconstructionModel(nn.Module):
    """Base class: subclasses set ``kind`` and implement the abstract verbs."""

    kind: str = ""
    can_sample: bool = True  #: whether prior samples give variants

    def __init__(self, config):
        super().__init__()
        self.config = config

    # -- the shared verbs -------------------------------------------------------
    def encode_views(self, views: torch.Tensor, mask: torch.Tensor, maps=None):
        """The condition from ``(B, 3, H, W)`` views and their ``(B, 3)`` mask;
        ``maps``: the view encoders' last convolution outputs, computed elsewhere (only
        for a model whose :meth:`view_stacks` are not None)."""
        raise NotImplementedError

    def view_stacks(self):
        """The per-view encoders' convolution stacks (axial, sagittal, coronal) when the
        views are read through :class:`~.conditioning.ViewEncoders`, which can take
        their outputs from a shared pass (``encode_views(..., maps=)``); else None."""
        from .conditioning import Conditioner

        conditioner = getattr(self, "conditioner", None)
        return conditioner.views.stacks if isinstance(conditioner, Conditioner) else None

    def decoder_input(self, z: torch.Tensor, condition) -> torch.Tensor:
        """What the decoder reads: z with (the code of) the views."""
        raise NotImplementedError

    def decode_raw(self, z: torch.Tensor, condition=None) -> torch.Tensor:
        """The decoder's output: skull logits, or the logits of :data:`SKULL_LAYERS`."""
        if isinstance(condition, dict) and "grids" in condition:  # lifted views: U-Net skips
            return self.decoder(self.decoder_input(z, condition), condition["grids"])
        return self.decoder(self.decoder_input(z, condition))

    def decode(self, z: torch.Tensor, condition=None) -> torch.Tensor:
        """Skull logits ``(B, 1, S, S, S)``."""
        return skull_logits(self.decode_raw(z, condition))

    def skull_loss(self, raw: torch.Tensor, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        return skull_loss(raw, batch, self.config.dice_weight, self.config.fp_weight)

    def with_sections(self, condition: dict, views: torch.Tensor, mask: torch.Tensor) -> dict:
        """A pooled model's condition with the skips and sections its ``sections``
        reader gives (:func:`pooled_sections`); unchanged without one, or outside
        training when no sample has the views its branches need."""
        reader = getattr(self, "sections", None)
        if reader is None:
            return condition
        if not self.training and bool((mask.sum(1) < self.config.adapter_min_views).all()):
            return condition  # no sample's branches would act (adapter_min_views): not read
        read = reader(views, mask)
        return condition | {k: read[k] for k in ("mask", "grids", "sections")}

    def reading_loss(self, condition, batch: dict) -> torch.Tensor:
        """Per-sample loss of how the views were read: the sections' BCE for a model
        that reads sections (:mod:`.sections`), else zeros."""
        from .sections import section_loss

        return self.config.section_weight * section_loss(condition, batch, self.config.spacing_mm)

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
    def reconstruct(
        self,
        views: torch.Tensor,
        mask: torch.Tensor,
        n_samples: int = 1,
        generator: torch.Generator | None = None,
    ):
        """Skull probability ``(B, 1, S, S, S)`` and its voxel-wise std over samples
        (None for the point estimate)."""
        check_views(views, mask, self.config.view_size)
        condition = self.encode_views(views, mask)
        if n_samples <= 1:
            return torch.sigmoid(self.decode(self.prior_mean(condition), condition)), None
        probs = torch.stack(
            [
                torch.sigmoid(self.decode(self.sample_latent(condition, generator), condition))
                for _ in range(n_samples)
            ]
        )
        return probs.mean(0), probs.std(0)
