"""REC-CVAE: the standard planes as the conditional variables of one CVAE over the
3D skull (Cerrolaza et al., MICCAI 2018; template: Biffi, Cerrolaza et al., ISBI
2019, arXiv 1902.11000).

Training maximises the conditional ELBO

    log p(x | c) >= E_q(z|x,c)[log p(x | z, c)] - KL(q(z | x, c) || N(0, I))

with a 3D encoder q(z | skull, views), 2D view encoders for c and a 3D decoder
p(skull | z, c). As in Sohn et al.'s hybrid objective (NeurIPS 2015) the loss also
decodes the prior mean z = 0, the test-time point estimate, so that prediction
without the skull is trained directly. At test time the 3D encoder is dropped:
z = 0 gives the point estimate and prior samples z ~ N(0, I) give variants.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .blocks import Encoder, mlp
from .conditioning import Conditioner
from .gaussians import (
    clamp_logvar,
    free_bits,
    gaussian_noise,
    kl_gaussians,
    kl_per_dim,
    reparameterise,
)
from .interface import (
    NetConfig,
    ReconstructionModel,
    code_regressor,
    lifted_parts,
    pooled_decoder,
    pooled_of,
    pooled_sections,
    views_to_decoder,
)


@dataclass(frozen=True)
class CVAEConfig(NetConfig):
    latent_dim: int = 32  #: enough for the shape left over once the views are known
    #: KL weight against a per-voxel *mean* BCE, i.e. beta = kl_weight * grid^3 (~524 at 64^3) in
    #: ELBO units
    kl_weight: float = 2e-3
    prior_weight: float = 1.0  #: weight of the z = 0 (GSNN) reconstruction term
    #: KL floor per latent dimension in nats (free bits, :func:`.gaussians.free_bits`): 0 for the
    #: pooled models; the lifted decoder's skips otherwise let it ignore z (KL ~0.001 nats)
    free_bits: float = 0.0


class RecCVAE(ReconstructionModel):
    kind = "rec-cvae"

    def __init__(self, config: CVAEConfig = CVAEConfig()):
        super().__init__(config)
        c = config
        if c.lifted:
            self.conditioner, self.decoder = lifted_parts(c, c.latent_dim)
        else:
            self.conditioner = Conditioner(
                c.view_size, c.view_channels, c.view_features, c.condition_dim
            )
            self.decoder = pooled_decoder(c, c.latent_dim + (c.code_dim or c.condition_dim))
        self.sections = pooled_sections(c)
        self.skull_encoder = Encoder(3, c.grid, c.enc_channels, c.condition_dim)
        self.posterior = mlp((2 * c.condition_dim, c.condition_dim, 2 * c.latent_dim))
        self.regressor = code_regressor(c)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode_views(self, views, mask, maps=None):
        pooled = (
            self.conditioner(views, mask) if maps is None else self.conditioner(views, mask, maps)
        )
        if self.sections is None:
            return pooled
        return self.with_sections({"pooled": pooled}, views, mask)

    def encode_skull(self, skull: torch.Tensor, condition: torch.Tensor):
        """q(z | skull, views): mean and log-variance."""
        h = self.skull_encoder(skull * 2.0 - 1.0)
        mu, logvar = self.posterior(torch.cat([h, pooled_of(condition)], 1)).chunk(2, dim=1)
        return mu, clamp_logvar(logvar)

    def posterior_sample(self, skull, condition):
        """A draw of z ~ q(z | skull, views) and its KL to the prior."""
        mu, logvar = self.encode_skull(skull, condition)
        return reparameterise(mu, logvar), kl_gaussians(mu, logvar)

    def decoder_input(self, z, condition):
        return torch.cat([z, views_to_decoder(self.regressor, pooled_of(condition))], 1)

    def prior_mean(self, condition):
        pooled = pooled_of(condition)
        return pooled.new_zeros(pooled.shape[0], self.latent_dim)

    def sample_latent(self, condition, generator=None):
        return gaussian_noise(self.prior_mean(condition), generator)

    def training_loss(self, batch, stage=None):
        c = self.config
        skull = batch["skull"]
        condition = self.encode_views(batch["views"], batch["mask"])
        mu, logvar = self.encode_skull(skull, condition)
        rec, _ = self.skull_loss(self.decode_raw(reparameterise(mu, logvar), condition), batch)
        kl = kl_per_dim(mu, logvar)
        prior_rec, prior_logits = self.skull_loss(
            self.decode_raw(self.prior_mean(condition), condition), batch
        )
        reading = self.reading_loss(condition, batch)
        loss = (rec + c.prior_weight * prior_rec + reading).mean() + c.kl_weight * free_bits(
            kl, c.free_bits
        )
        return {
            "loss": loss,
            "reading": reading.mean(),
            "rec": rec.mean(),
            "kl": kl.sum(1).mean(),
            "prior_rec": prior_rec.mean(),
            "logits": prior_logits,
        }
