"""TL-net (Girdhar et al., ECCV 2016): a 3D autoencoder with a 64-D code plus a 2D
image network that regresses that code.

Three stages: (1) ``autoencoder``: train the 3D autoencoder on skulls; (2)
``image``: train the image network to regress the (frozen) encoder's code, the
decoder frozen; (3) ``joint``: fine-tune image network and decoder end to end
through the reconstruction loss, keeping the code loss. At test time: views ->
code -> decoder. The "latent" of TL-net is its code; it has no prior to sample, so
``sample_latent`` returns the regressed code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .blocks import Decoder3D, Encoder
from .conditioning import Conditioner
from .interface import NetConfig, ReconstructionModel, code_regressor

STAGES = ("autoencoder", "image", "joint")


@dataclass(frozen=True)
class TLNetConfig(NetConfig):
    code_dim: int = 64  #: the paper's 64-D embedding (must be > 0)
    code_weight: float = 1.0  #: code regression (mean squared error) weight


class TLNet(ReconstructionModel):
    kind = "tl-net"
    can_sample = False  #: a regressed code, no prior

    def __init__(self, config: TLNetConfig = TLNetConfig()):
        super().__init__(config)
        c = config
        if c.code_dim < 1:
            raise ValueError(f"TL-net needs a code (code_dim >= 1), got {c.code_dim}")
        self.skull_encoder = Encoder(3, c.grid, c.enc_channels, c.code_dim)
        self.decoder = Decoder3D(c.code_dim, c.grid, c.dec_channels, layers=c.output_layers)
        self.conditioner = Conditioner(
            c.view_size, c.view_channels, c.view_features, c.condition_dim
        )
        self.regressor = code_regressor(c)

    @property
    def latent_dim(self) -> int:
        return self.config.code_dim

    def encode_skull(self, skull):
        return self.skull_encoder(skull * 2.0 - 1.0)

    def encode_views(self, views, mask, maps=None):
        return self.regressor(self.conditioner(views, mask, maps))

    def decoder_input(self, z, condition=None):
        return z

    def prior_mean(self, condition):
        return condition

    def sample_latent(self, condition, generator=None):
        return condition

    def stage_parameters(self, stage: str):
        """The parameters trained in ``stage``."""
        if stage == "autoencoder":
            return list(self.skull_encoder.parameters()) + list(self.decoder.parameters())
        if stage == "image":
            return list(self.conditioner.parameters()) + list(self.regressor.parameters())
        if stage == "joint":
            return (
                list(self.conditioner.parameters())
                + list(self.regressor.parameters())
                + list(self.decoder.parameters())
            )
        raise ValueError(f"unknown TL-net stage {stage!r}; stages are {', '.join(STAGES)}")

    def training_loss(self, batch, stage="joint"):
        c = self.config
        skull = batch["skull"]
        if stage == "autoencoder":
            rec, logits = self.skull_loss(self.decode_raw(self.encode_skull(skull)), batch)
            return {"loss": rec.mean(), "rec": rec.mean(), "logits": logits}
        with torch.no_grad():
            target = self.encode_skull(skull)
        code = self.encode_views(batch["views"], batch["mask"])
        code_loss = ((code - target) ** 2).mean(1)
        if stage == "image":
            with torch.no_grad():
                logits = self.decode(code)
            return {"loss": code_loss.mean(), "code": code_loss.mean(), "logits": logits}
        rec, logits = self.skull_loss(self.decode_raw(code), batch)
        loss = (rec + c.code_weight * code_loss).mean()
        return {"loss": loss, "rec": rec.mean(), "code": code_loss.mean(), "logits": logits}
