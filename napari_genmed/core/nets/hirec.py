"""HiREC-CVAE: a hierarchy of nested latent spaces ordered by the clinical
relevance of the views (Cerrolaza et al., MICCAI 2018).

Level k (axial, then sagittal, then coronal) has its own latent z_k with a learnt
conditional prior that sees only its own view and the level above:

    p(z_1 | axial),  p(z_2 | z_1, sagittal),  p(z_3 | z_2, coronal)

and a posterior q(z_k | skull, z_{k-1}, views). The decoder sees all levels and the
pooled views. The ELBO's KL is the sum of the per-level KLs between posterior and
conditional prior. When a view is missing its level's prior falls back on the level
above (trained with view dropout), so a missing coronal view costs only the last,
smallest level: the missing views degrade gracefully. Test-time point estimate: the
chain of prior means; variants: ancestral sampling down the chain. As in REC-CVAE,
the loss also decodes the point estimate (Sohn et al.'s hybrid objective).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .blocks import Encoder, mlp
from .conditioning import N_VIEWS, Conditioner
from .gaussians import clamp_logvar, free_bits, gaussian_noise, kl_per_dim, reparameterise
from .interface import (
    NetConfig,
    ReconstructionModel,
    code_regressor,
    lifted_parts,
    pooled_decoder,
    pooled_sections,
    views_to_decoder,
)


@dataclass(frozen=True)
class HiRECConfig(NetConfig):
    level_dims: tuple[int, ...] = (16, 8, 8)  #: latent size per level: axial, sagittal, coronal
    #: KL weight against a per-voxel *mean* BCE, i.e. beta = kl_weight * grid^3 (~524 at 64^3) in
    #: ELBO units
    kl_weight: float = 2e-3
    prior_weight: float = 1.0  #: weight of the point-estimate reconstruction term
    free_bits: float = 0.0  #: KL floor per latent dimension in nats (as in :class:`.CVAEConfig`)


class HiRecCVAE(ReconstructionModel):
    kind = "hirec-cvae"

    def __init__(self, config: HiRECConfig = HiRECConfig()):
        super().__init__(config)
        c = config
        if len(c.level_dims) != N_VIEWS:
            raise ValueError(f"need one latent level per view ({N_VIEWS}), got {c.level_dims}")
        if c.lifted:
            self.conditioner, self.decoder = lifted_parts(c, sum(c.level_dims))
        else:
            self.conditioner = Conditioner(
                c.view_size, c.view_channels, c.view_features, c.condition_dim
            )
            self.decoder = pooled_decoder(c, sum(c.level_dims) + (c.code_dim or c.condition_dim))
        self.sections = pooled_sections(c)
        self.skull_encoder = Encoder(3, c.grid, c.enc_channels, c.condition_dim)
        above = (0,) + tuple(c.level_dims[:-1])
        self.priors = torch.nn.ModuleList(
            mlp((a + c.view_features + 1, 128, 2 * d)) for a, d in zip(above, c.level_dims)
        )
        self.posteriors = torch.nn.ModuleList(
            mlp((2 * c.condition_dim + a, c.condition_dim, 2 * d))
            for a, d in zip(above, c.level_dims)
        )
        self.regressor = code_regressor(c)

    @property
    def latent_dim(self) -> int:
        return sum(self.config.level_dims)

    def levels(self) -> list[slice]:
        """Where each level's latent lies in the concatenated z."""
        out, start = [], 0
        for d in self.config.level_dims:
            out.append(slice(start, start + d))
            start += d
        return out

    def encode_views(self, views, mask, maps=None):
        if self.config.lifted:
            return self.conditioner(views, mask)  # pooled, views, mask and the lifted grids
        feats, pooled = self.conditioner.features(views, mask, maps)
        condition = {"pooled": pooled, "views": feats, "mask": mask.to(feats.dtype)}
        return self.with_sections(condition, views, mask)

    def _prior(self, k: int, z_above, condition):
        inputs = [condition["views"][:, k], condition["mask"][:, k : k + 1]]
        if z_above is not None:
            inputs.insert(0, z_above)
        mu, logvar = self.priors[k](torch.cat(inputs, 1)).chunk(2, dim=1)
        return mu, clamp_logvar(logvar)

    def _chain(self, condition, pick):
        """Walk down the levels; ``pick(k, mu, logvar)`` chooses each z_k."""
        zs, z = [], None
        for k in range(N_VIEWS):
            mu, logvar = self._prior(k, z, condition)
            z = pick(k, mu, logvar)
            zs.append(z)
        return torch.cat(zs, 1)

    def decoder_input(self, z, condition):
        return torch.cat([z, views_to_decoder(self.regressor, condition["pooled"])], 1)

    def prior_mean(self, condition):
        return self._chain(condition, lambda k, mu, logvar: mu)

    def prior_std(self, condition):
        """Standard deviation of each level's conditional prior, walked at the means."""
        stds = []

        def at_mean(k, mu, logvar):
            stds.append((0.5 * logvar).exp())
            return mu

        self._chain(condition, at_mean)
        return torch.cat(stds, 1)

    def sample_latent(self, condition, generator=None):
        def draw(k, mu, logvar):
            return mu + gaussian_noise(mu, generator) * (0.5 * logvar).exp()

        return self._chain(condition, draw)

    def posterior_sample(self, skull, condition):
        """A draw of z ~ q(z | skull, views) down the levels, and its KL to the
        conditional priors (summed over levels)."""
        z, kl = self._posterior(skull, condition)
        return z, kl.sum(1)

    def _posterior(self, skull, condition):
        """``posterior_sample`` with the KL per latent dimension (``[B, D]``)."""
        h = torch.cat([self.skull_encoder(skull * 2.0 - 1.0), condition["pooled"]], 1)
        zs, kls, z = [], [], None
        for k in range(N_VIEWS):
            mu_p, logvar_p = self._prior(k, z, condition)
            q_in = h if z is None else torch.cat([h, z], 1)
            mu_q, logvar_q = self.posteriors[k](q_in).chunk(2, dim=1)
            logvar_q = clamp_logvar(logvar_q)
            z = reparameterise(mu_q, logvar_q)
            zs.append(z)
            kls.append(kl_per_dim(mu_q, logvar_q, mu_p, logvar_p))
        return torch.cat(zs, 1), torch.cat(kls, 1)

    def training_loss(self, batch, stage=None):
        c = self.config
        skull = batch["skull"]
        condition = self.encode_views(batch["views"], batch["mask"])
        z, kl = self._posterior(skull, condition)
        rec, _ = self.skull_loss(self.decode_raw(z, condition), batch)
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
