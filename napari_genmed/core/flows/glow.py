"""A Glow-style multi-scale normalizing flow for image patches (Kingma and
Dhariwal, NeurIPS 2018; multi-scale architecture of RealNVP, Dinh et al., ICLR 2017).

An invertible f maps a patch x to latents z with

    log p(x | c) = log N(z; 0, I) + log |det df/dx|

built from *steps* of: actnorm (per-channel affine, initialised from the first
batch), an invertible 1 x 1 convolution (log-det = H W log|det W|) and an affine
coupling layer (half the channels scale and shift the other half:
log-det = sum log s). Each *level* squeezes 2 x 2 pixels into channels, runs its
steps and factors half of the channels out to the base distribution. The flow is
conditional: the context ``c`` (here the patch's position in the image, where the
fan and the head usually are) enters every coupling network as constant channels,
so ``flow.log_prob(x, c)`` is the density of a patch *at that position*. zuko has
no Glow, so it is written here; the vector flows come from zuko
(:mod:`.vectorflows`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class GlowConfig:
    size: int = 16  #: patch side (pixels)
    levels: int = 2  #: squeeze / steps / split, 16 -> 8 -> 4
    steps: int = 4  #: flow steps per level
    hidden: int = 64  #: width of the coupling networks
    context: int = 2  #: context features (patch centre row, column in [-1, 1])


class ActNorm(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialised", torch.tensor(0, dtype=torch.uint8))

    def forward(self, x):
        if not self.initialised and self.training:
            with torch.no_grad():
                self.loc.copy_(-x.mean((0, 2, 3), keepdim=True))
                self.log_scale.copy_(-torch.log(x.std((0, 2, 3), keepdim=True) + 1e-6))
                self.initialised.fill_(1)
        y = (x + self.loc) * self.log_scale.exp()
        return y, self.log_scale.sum() * x.shape[2] * x.shape[3]

    def inverse(self, y):
        return y * (-self.log_scale).exp() - self.loc


class InvConv1x1(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        w = torch.linalg.qr(torch.randn(channels, channels))[0]
        self.weight = nn.Parameter(w)

    def forward(self, x):
        logdet = torch.linalg.slogdet(self.weight)[1] * x.shape[2] * x.shape[3]
        return nn.functional.conv2d(x, self.weight[:, :, None, None]), logdet

    def inverse(self, y):
        return nn.functional.conv2d(y, torch.linalg.inv(self.weight)[:, :, None, None])


class AffineCoupling(nn.Module):
    def __init__(self, channels: int, hidden: int, context: int):
        super().__init__()
        self.half = channels // 2
        self.net = nn.Sequential(
            nn.Conv2d(self.half + context, hidden, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(hidden, hidden, 1),
            nn.SiLU(),
            nn.Conv2d(hidden, 2 * (channels - self.half), 3, padding=1),
        )
        nn.init.zeros_(self.net[-1].weight)  # starts as the identity
        nn.init.zeros_(self.net[-1].bias)

    def _params(self, xa, ctx):
        h = self.net(torch.cat([xa, ctx.expand(-1, -1, *xa.shape[2:])], 1))
        raw, shift = h.chunk(2, 1)
        log_s = 2.0 * torch.tanh(raw / 2.0)  # bounded scales keep training stable
        return log_s, shift

    def forward(self, x, ctx):
        xa, xb = x[:, : self.half], x[:, self.half :]
        log_s, shift = self._params(xa, ctx)
        return torch.cat([xa, xb * log_s.exp() + shift], 1), log_s.flatten(1).sum(1)

    def inverse(self, y, ctx):
        ya, yb = y[:, : self.half], y[:, self.half :]
        log_s, shift = self._params(ya, ctx)
        return torch.cat([ya, (yb - shift) * (-log_s).exp()], 1)


def squeeze(x):
    b, c, h, w = x.shape
    x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, c * 4, h // 2, w // 2)


def unsqueeze(x):
    b, c, h, w = x.shape
    x = x.view(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c // 4, h * 2, w * 2)


class PatchGlow(nn.Module):
    """``log_prob(x, c)`` of ``(B, 1, S, S)`` patches (values around [0, 1]) at
    context ``c`` ``(B, context)``; ``inverse`` and ``sample`` run it backwards."""

    kind = "patch-glow"

    def __init__(self, config: GlowConfig = GlowConfig()):
        super().__init__()
        self.config = c = config
        if c.size % 2**c.levels:
            raise ValueError(f"patch size {c.size} does not halve {c.levels} times")
        self.levels = nn.ModuleList()
        channels = 1
        for level in range(c.levels):
            channels *= 4
            steps = nn.ModuleList()
            for _ in range(c.steps):
                steps.append(
                    nn.ModuleList(
                        [
                            ActNorm(channels),
                            InvConv1x1(channels),
                            AffineCoupling(channels, c.hidden, c.context),
                        ]
                    )
                )
            self.levels.append(steps)
            if level < c.levels - 1:
                channels //= 2  # half factored out
        self.final_channels = channels

    def config_dict(self) -> dict:
        return asdict(self.config)

    @property
    def dims(self) -> int:
        return self.config.size**2

    def _ctx(self, ctx, x):
        return ctx.to(x.dtype)[:, :, None, None]

    def forward(self, x, ctx):
        """``(list of latents, log|det J|)`` of the map x -> z."""
        c = self._ctx(ctx, x)
        logdet = x.new_zeros(x.shape[0])
        zs = []
        h = x - 0.5
        for k, steps in enumerate(self.levels):
            h = squeeze(h)
            for actnorm, conv, coupling in steps:
                h, ld = actnorm(h)
                logdet = logdet + ld
                h, ld = conv(h)
                logdet = logdet + ld
                h, ld = coupling(h, c)
                logdet = logdet + ld
            if k < len(self.levels) - 1:
                half = h.shape[1] // 2
                zs.append(h[:, :half])
                h = h[:, half:]
        zs.append(h)
        return zs, logdet

    def log_prob(self, x, ctx) -> torch.Tensor:
        zs, logdet = self.forward(x, ctx)
        base = sum((-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1) for z in zs)
        return base + logdet

    def inverse(self, zs, ctx):
        c = self._ctx(ctx, zs[-1])
        h = zs[-1]
        for k in reversed(range(len(self.levels))):
            if k < len(self.levels) - 1:
                h = torch.cat([zs[k], h], 1)
            for actnorm, conv, coupling in reversed(self.levels[k]):
                h = coupling.inverse(h, c)
                h = conv.inverse(h)
                h = actnorm.inverse(h)
            h = unsqueeze(h)
        return h + 0.5

    def latent_shapes(self) -> list[tuple[int, int, int]]:
        s, ch, out = self.config.size, 1, []
        for k in range(len(self.levels)):
            s, ch = s // 2, ch * 4
            if k < len(self.levels) - 1:
                out.append((ch // 2, s, s))
                ch //= 2
        out.append((ch, s, s))
        return out

    @torch.no_grad()
    def sample(self, ctx, generator: torch.Generator | None = None, temperature: float = 1.0):
        n = ctx.shape[0]
        zs = [
            torch.randn((n, *shape), generator=generator) * temperature
            for shape in self.latent_shapes()
        ]
        return self.inverse(zs, ctx)


def bits_per_dim(log_prob: torch.Tensor, dims: int, bins: int = 256) -> torch.Tensor:
    """Negative log-likelihood in bits per pixel of 8-bit images scaled to [0, 1]
    (the continuous density of dequantised data, ``- log p(x) / D + log 256``, in bits)."""
    return (-log_prob / dims + math.log(bins)) / math.log(2.0)
