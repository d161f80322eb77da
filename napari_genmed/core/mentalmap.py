"""Learned mental maps: generate the ultrasound slice at any pose from none to a
few observed slices with their poses (Hou, Vlontzos, Alansary, Rueckert and Kainz,
"Flexible Conditional Image Generation of Missing Data with Learned Mental Maps",
MICCAI MLMIR 2019, arXiv 1908.11312; after GQN, Eslami et al., Science 2018).

Each observation (slice x_i, pose v_i) is encoded to r_i = f(x_i, v_i); the scene
representation is their sum r = sum_i r_i, which does not depend on the order of the
observations and is zero for none. Given r and a query pose v_q, a conditional VAE
generates the slice:

    p(x_q | r, v_q) = integral p(x_q | z, r, v_q) p(z | r, v_q) dz

trained with the ELBO, the posterior q(z | x_q, r, v_q) seeing the target; as in the
skull models, the prior mean is also decoded in training (the point estimate).
Targets are the simulator's speckle-free images (no generator can guess one speckle
draw); the observations are speckled B-mode images.

The GAN variant (``mental-map-gan``) is the same generator trained further with a
conditional PatchGAN discriminator (Isola et al., CVPR 2017) under the hinge
min-max objective, plus the reconstruction term:

    min_G max_D  E[min(0, -1 + D(x, v))] + E[min(0, -1 - D(G(r, v), v))]

The discriminator is a training-time module only; checkpoints hold the generator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .blocks import Encoder, mlp, up_block
from .recmodel import clamp_logvar, gaussian_noise, kl_gaussians, reparameterise

POSE_FEATURES = 12  #: see scenes.pose_features
MAX_OBSERVATIONS = 8


@dataclass(frozen=True)
class MentalMapConfig:
    size: int = 64  #: image side (scenes.SIZE)
    pixel_mm: float = 2.0  #: pixel size (scenes.PIXEL_MM): 128 mm field
    channels: tuple[int, ...] = (32, 64, 96, 128)  #: observation encoder, 64 -> 4
    rep_dim: int = 256  #: scene representation r
    pose_dim: int = 64  #: embedded pose width
    latent_dim: int = 32  #: what the observations leave open
    dec_channels: tuple[int, ...] = (128, 96, 64, 48, 32)  #: decoder, 4 -> 64
    kl_weight: float = 1e-3  #: against a per-pixel mean BCE
    prior_weight: float = 1.0  #: weight of the decoded prior mean (point estimate)
    adv_weight: float = 0.0  #: GAN variant: weight of the adversarial term (0: plain VAE)


class MentalMap(nn.Module):
    kind = "mental-map"

    def __init__(self, config: MentalMapConfig = MentalMapConfig()):
        super().__init__()
        c = self.config = config
        start = c.size // 2 ** (len(c.dec_channels) - 1)
        if start < 1 or start * 2 ** (len(c.dec_channels) - 1) != c.size:
            raise ValueError(f"decoder widths {c.dec_channels} do not reach size {c.size} from a whole seed grid")
        self.start = start
        self.observation = Encoder(2, c.size, c.channels, c.rep_dim)
        self.pose = mlp((POSE_FEATURES, c.pose_dim, c.pose_dim))
        self.merge = mlp((c.rep_dim + c.pose_dim, c.rep_dim, c.rep_dim))
        context = c.rep_dim + 1 + c.pose_dim  # r, log(1 + number of observations), query pose
        self.target = Encoder(2, c.size, c.channels[:-1] + (c.channels[-1] // 2,), c.rep_dim // 2)
        self.prior = mlp((context, c.rep_dim, 2 * c.latent_dim))
        self.posterior = mlp((context + c.rep_dim // 2, c.rep_dim, 2 * c.latent_dim))
        self.seed = nn.Linear(c.latent_dim + context, c.dec_channels[0] * start**2)
        self.ups = nn.Sequential(*[up_block(2, a, b) for a, b in zip(c.dec_channels[:-1], c.dec_channels[1:])])
        self.out = nn.Conv2d(c.dec_channels[-1], 1, 3, padding=1)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def config_dict(self) -> dict:
        return asdict(self.config)

    # -- the pieces ---------------------------------------------------------------
    def represent(self, images: torch.Tensor, poses: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Scene representation ``(B, rep + 1)`` of ``(B, N, S, S)`` observations with
        ``(B, N, 12)`` pose features; ``mask`` ``(B, N)`` marks the real ones."""
        b, n = images.shape[:2]
        if n == 0:
            return images.new_zeros(b, self.config.rep_dim + 1)
        feats = self.observation(images.reshape(b * n, 1, *images.shape[2:]) * 2.0 - 1.0)
        r = self.merge(torch.cat([feats, self.pose(poses.reshape(b * n, -1))], 1)).reshape(b, n, -1)
        r = (r * mask[..., None]).sum(1)
        return torch.cat([r, torch.log1p(mask.sum(1, keepdim=True))], 1)

    def context(self, scene: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        return torch.cat([scene, self.pose(query)], 1)

    def prior_params(self, context):
        mu, logvar = self.prior(context).chunk(2, dim=1)
        return mu, clamp_logvar(logvar)

    def decode(self, z: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.seed(torch.cat([z, context], 1)).view(-1, self.config.dec_channels[0], self.start, self.start)
        return self.out(self.ups(nn.functional.silu(x)))

    # -- training -----------------------------------------------------------------
    def training_loss(self, batch: dict) -> dict[str, torch.Tensor]:
        c = self.config
        ctx = self.context(self.represent(batch["images"], batch["poses"], batch["mask"]), batch["query"])
        target = batch["target"][:, None]
        mu_p, logvar_p = self.prior_params(ctx)
        h = self.target(target * 2.0 - 1.0)
        mu_q, logvar_q = self.posterior(torch.cat([ctx, h], 1)).chunk(2, dim=1)
        logvar_q = clamp_logvar(logvar_q)
        rec = _bce(self.decode(reparameterise(mu_q, logvar_q), ctx), target)
        kl = kl_gaussians(mu_q, logvar_q, mu_p, logvar_p)
        point = self.decode(mu_p, ctx)
        prior_rec = _bce(point, target)
        loss = (rec + c.kl_weight * kl + c.prior_weight * prior_rec).mean()
        return {"loss": loss, "rec": rec.mean(), "kl": kl.mean(), "prior_rec": prior_rec.mean(), "logits": point}

    # -- use ----------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, images, poses, mask, query, n_samples: int = 1, generator: torch.Generator | None = None):
        """``(mean image (B, S, S), std over samples or None)`` in [0, 1]."""
        ctx = self.context(self.represent(images, poses, mask), query)
        mu, logvar = self.prior_params(ctx)
        if n_samples <= 1:
            return torch.sigmoid(self.decode(mu, ctx))[:, 0], None
        draws = torch.stack([torch.sigmoid(self.decode(mu + gaussian_noise(mu, generator) * (0.5 * logvar).exp(), ctx))[:, 0] for _ in range(n_samples)])
        return draws.mean(0), draws.std(0)


class MentalMapGAN(MentalMap):
    """The same generator, trained further against a PatchGAN (see the module docstring)."""

    kind = "mental-map-gan"


class PatchDiscriminator(nn.Module):
    """PatchGAN: a map of real/fake scores over overlapping patches, conditioned on
    the query pose (broadcast as constant channels)."""

    def __init__(self, channels: tuple[int, ...] = (32, 64, 128)):
        super().__init__()
        layers, c = [], 1 + POSE_FEATURES
        for k, width in enumerate(channels):
            layers += [nn.Conv2d(c, width, 4, stride=2, padding=1)]
            if k:
                layers += [nn.GroupNorm(8, width)]
            layers += [nn.LeakyReLU(0.2)]
            c = width
        layers += [nn.Conv2d(c, 1, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        pose_map = query[:, :, None, None].expand(-1, -1, *image.shape[-2:])
        return self.net(torch.cat([image * 2.0 - 1.0, pose_map], 1))


def _bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).mean(1)
