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

With ``scene_grid > 0`` the scene code is spatial instead (module
:mod:`.scenegrid`): every observation's feature map is back-projected along its
plane into a coarse 3D grid, the sum goes through a small 3D U-net, and the query
plane's features are sliced out of the resulting volume and decoded together with
``z``; a pooled summary of the volume and of the plane takes the place of ``r`` in
the prior and the posterior. Observations at different poses then fill different
parts of the grid, so each added slice tells the generator more.

The GAN variant (``mental-map-gan``) is the same generator trained further with a
conditional PatchGAN discriminator (Isola et al., CVPR 2017) under the hinge
min-max objective, plus the reconstruction term:

    min_G max_D  E[min(0, -1 + D(x, v))] + E[min(0, -1 - D(G(r, v), v))]

The discriminator (:mod:`.discriminator`) is a training-time module only; checkpoints
hold the generator.

The anatomy variant (:mod:`.anatomy`, ``mental-map-anatomy``, ``classes`` > 0) decodes the query
plane's *labels* instead of its grey levels: per-pixel logits over the phantom's label
values (:mod:`~..sim.labels`), trained by cross-entropy of the decoded prior mean
against the labels of the query plane (the head's label volume sampled on it). Its
image is the argmax map rendered by the simulator (:mod:`~..sim.plane_render`), so the
skull echo, its shadow and the landmarks are drawn sharp where the labels put them
(issue 26's route (a)); samples decode draws of the prior, each rendered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
from torch import nn

from .blocks import Encoder, down_block, mlp, up_block
from .gaussians import clamp_logvar, gaussian_noise, kl_gaussians, reparameterise
from .ssim import ssim

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
    #: weight of (1 - SSIM) of the point estimate beside its BCE (:mod:`.ssim`; 0: none)
    ssim_weight: float = 0.0
    #: 0: summed scene vector (GQN); > 0: spatial scene code on a grid of this side
    scene_grid: int = 0
    grid_channels: int = 32  #: spatial: features per observed pixel, back-projected
    grid_widths: tuple[int, ...] = (32, 64, 96)  #: spatial: the 3D U-net's widths
    volume_channels: int = 48  #: spatial: features of the scene volume
    #: spatial: the query plane is sampled on this grid, then decoded to ``size``
    plane_side: int = 32
    grid_sigma: float = 1.0  #: spatial: back-projection width across the plane, in grid voxels
    #: 0: decode the expected image; > 0: logits of the query plane's labels (the label
    #: values 0..classes-1 of sim/labels.py), rendered by the simulator (anatomy variant)
    classes: int = 0
    #: anatomy variant: 0 draws the most probable labels; > 0 the expected medium of the
    #: labels' softmax at this temperature (1: as learnt; uncertain tissue drawn faint)
    label_temperature: float = 0.0
    #: anatomy variant: added to the falx's logit before drawing (0: as learnt)
    midline_bias: float = 0.0


class Context(NamedTuple):
    """What the generator knows for one query: a vector (the prior, posterior and
    decoder's seed see it) and, with a spatial scene code, the query plane's
    features sliced from the scene volume (``None`` otherwise)."""

    vector: torch.Tensor
    plane: torch.Tensor | None = None


class MentalMap(nn.Module):
    kind = "mental-map"

    def __init__(self, config: MentalMapConfig = MentalMapConfig()):
        super().__init__()
        c = self.config = config
        start = c.size // 2 ** (len(c.dec_channels) - 1)
        if start < 1 or start * 2 ** (len(c.dec_channels) - 1) != c.size:
            raise ValueError(
                f"decoder widths {c.dec_channels} do not reach size {c.size} from a whole seed grid"
            )
        self.start = start
        self.pose = mlp((POSE_FEATURES, c.pose_dim, c.pose_dim))
        self.target = Encoder(2, c.size, c.channels[:-1] + (c.channels[-1] // 2,), c.rep_dim // 2)
        self.out = nn.Conv2d(c.dec_channels[-1], max(1, c.classes), 3, padding=1)
        context = (
            c.rep_dim + c.pose_dim + (0 if c.scene_grid else 1)
        )  # (+ log(1 + n) in the vector code)
        self.prior = mlp((context, c.rep_dim, 2 * c.latent_dim))
        self.posterior = mlp((context + c.rep_dim // 2, c.rep_dim, 2 * c.latent_dim))
        if c.scene_grid:
            self._build_spatial(context)
        else:
            self.observation = Encoder(2, c.size, c.channels, c.rep_dim)
            self.merge = mlp((c.rep_dim + c.pose_dim, c.rep_dim, c.rep_dim))
            self.seed = nn.Linear(c.latent_dim + context, c.dec_channels[0] * start**2)
            self.ups = nn.Sequential(
                *[up_block(2, a, b) for a, b in zip(c.dec_channels[:-1], c.dec_channels[1:])]
            )

    def _build_spatial(self, context: int):
        from .spatial_scene import SceneNet3D

        c = self.config
        halvings = (c.size // (c.scene_grid)).bit_length() - 1
        if c.size != c.scene_grid * 2**halvings or halvings < 1:
            raise ValueError(
                f"scene_grid {c.scene_grid} must be the image size {c.size} halved a whole number "
                "of times"
            )
        ups = (c.size // c.plane_side).bit_length() - 1
        if c.size != c.plane_side * 2**ups or ups >= len(c.dec_channels):
            raise ValueError(
                f"plane_side {c.plane_side} must be the image size {c.size} halved at most "
                f"{len(c.dec_channels) - 1} times"
            )
        widths = [c.channels[min(k, len(c.channels) - 1)] for k in range(halvings - 1)] + [
            c.grid_channels
        ]
        layers, w_in = [], 1 + POSE_FEATURES
        for w in widths:
            layers.append(down_block(2, w_in, w))
            w_in = w
        self.observation = nn.Sequential(*layers, nn.Conv2d(w_in, c.grid_channels, 3, padding=1))
        self.volume = SceneNet3D(c.grid_channels + 2, tuple(c.grid_widths), c.volume_channels)
        self.summary = nn.Linear(2 * c.volume_channels, c.rep_dim)
        dec = c.dec_channels[-(ups + 1) :]
        self.plane_in = nn.Conv2d(c.volume_channels, dec[0], 3, padding=1)
        self.seed = nn.Linear(c.latent_dim + context, dec[0])
        self.refine = nn.Sequential(
            nn.GroupNorm(8, dec[0]),
            nn.SiLU(),
            nn.Conv2d(dec[0], dec[0], 3, padding=1),
            nn.GroupNorm(8, dec[0]),
            nn.SiLU(),
        )
        self.ups = nn.Sequential(*[up_block(2, a, b) for a, b in zip(dec[:-1], dec[1:])])

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def config_dict(self) -> dict:
        return asdict(self.config)

    # -- the pieces ---------------------------------------------------------------
    def represent(
        self, images: torch.Tensor, poses: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """The order-independent sum over ``(B, N, S, S)`` observations with ``(B, N,
        12)`` pose features; ``mask`` ``(B, N)`` marks the real ones. Vector code:
        ``(B, rep + 1)``; spatial code: the back-projected grid ``(B, C + 2, G, G, G)``."""
        c = self.config
        b, n = images.shape[:2]
        if c.scene_grid:
            from .spatial_scene import backproject

            if n:
                x = images.reshape(b * n, 1, *images.shape[2:]) * 2.0 - 1.0
                pose_maps = poses.reshape(b * n, POSE_FEATURES, 1, 1).expand(
                    -1, -1, *images.shape[2:]
                )
                maps = self.observation(torch.cat([x, pose_maps], 1))
                maps = maps.reshape(b, n, *maps.shape[1:])
            else:
                maps = images.new_zeros(b, 0, c.grid_channels, c.scene_grid, c.scene_grid)
            return backproject(maps, poses, mask, c.scene_grid, c.grid_sigma * 2.0 / c.scene_grid)
        if n == 0:
            return images.new_zeros(b, c.rep_dim + 1)
        feats = self.observation(images.reshape(b * n, 1, *images.shape[2:]) * 2.0 - 1.0)
        r = self.merge(torch.cat([feats, self.pose(poses.reshape(b * n, -1))], 1)).reshape(b, n, -1)
        r = (r * mask[..., None]).sum(1)
        return torch.cat([r, torch.log1p(mask.sum(1, keepdim=True))], 1)

    def context(self, scene: torch.Tensor, query: torch.Tensor) -> Context:
        c = self.config
        if not c.scene_grid:
            return Context(torch.cat([scene, self.pose(query)], 1))
        from .spatial_scene import slice_volume

        volume = self.volume(scene)
        plane = slice_volume(volume, query, c.plane_side)
        summary = self.summary(torch.cat([volume.mean((2, 3, 4)), plane.mean((2, 3))], 1))
        return Context(torch.cat([summary, self.pose(query)], 1), plane)

    def prior_params(self, context: Context):
        mu, logvar = self.prior(context.vector).chunk(2, dim=1)
        return mu, clamp_logvar(logvar)

    def decode(self, z: torch.Tensor, context: Context) -> torch.Tensor:
        seed = self.seed(torch.cat([z, context.vector], 1))
        if context.plane is None:
            x = nn.functional.silu(
                seed.view(-1, self.config.dec_channels[0], self.start, self.start)
            )
        else:
            x = self.refine(self.plane_in(context.plane) + seed[:, :, None, None])
        return self.out(self.ups(x))

    # -- training -----------------------------------------------------------------
    def training_loss(self, batch: dict) -> dict[str, torch.Tensor]:
        c = self.config
        ctx = self.context(
            self.represent(batch["images"], batch["poses"], batch["mask"]), batch["query"]
        )
        target = batch["target"][:, None]
        mu_p, logvar_p = self.prior_params(ctx)
        h = self.target(target * 2.0 - 1.0)
        mu_q, logvar_q = self.posterior(torch.cat([ctx.vector, h], 1)).chunk(2, dim=1)
        logvar_q = clamp_logvar(logvar_q)
        rec = _bce(self.decode(reparameterise(mu_q, logvar_q), ctx), target)
        kl = kl_gaussians(mu_q, logvar_q, mu_p, logvar_p)
        point = self.decode(mu_p, ctx)
        prior_rec = _bce(point, target)
        if c.ssim_weight:
            prior_rec = prior_rec + c.ssim_weight * (1.0 - ssim(torch.sigmoid(point), target))
        loss = (rec + c.kl_weight * kl + c.prior_weight * prior_rec).mean()
        return {
            "loss": loss,
            "rec": rec.mean(),
            "kl": kl.mean(),
            "prior_rec": prior_rec.mean(),
            "logits": point,
        }

    # -- use ----------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        images,
        poses,
        mask,
        query,
        n_samples: int = 1,
        generator: torch.Generator | None = None,
    ):
        """``(mean image (B, S, S), std over samples or None)`` in [0, 1]."""
        draws = torch.sigmoid(self.decoded(images, poses, mask, query, n_samples, generator))
        if n_samples <= 1:
            return draws[0, :, 0], None
        return draws[:, :, 0].mean(0), draws[:, :, 0].std(0)

    @torch.no_grad()
    def decoded(self, images, poses, mask, query, n_samples: int = 1, generator=None):
        """The decoder's outputs ``(n, B, C, S, S)``: of the prior mean (``n_samples``
        1), else of ``n_samples`` draws of the prior."""
        ctx = self.context(self.represent(images, poses, mask), query)
        mu, logvar = self.prior_params(ctx)
        if n_samples <= 1:
            return self.decode(mu, ctx)[None]
        sigma = (0.5 * logvar).exp()
        return torch.stack(
            [self.decode(mu + gaussian_noise(mu, generator) * sigma, ctx) for _ in range(n_samples)]
        )


class MentalMapGAN(MentalMap):
    """The same generator, trained further against a PatchGAN (see the module docstring)."""

    kind = "mental-map-gan"


def _bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (
        nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
        .flatten(1)
        .mean(1)
    )
