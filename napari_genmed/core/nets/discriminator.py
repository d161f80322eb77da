"""The view GAN's discriminator: a conditional PatchGAN (Isola et al., "Image-to-Image
Translation with Conditional Adversarial Networks", CVPR 2017) scoring overlapping
patches of a plane, given its query pose, under the hinge loss

    L_D = E[max(0, 1 - D(x, v))] + E[max(0, 1 + D(G(r, v), v))],   L_G = -E[D(G(r, v), v)],

optionally spectrally normalised and with a feature-matching term for the generator.
A training-time module only: checkpoints hold the generator (:mod:`.mentalmap`).
"""

from __future__ import annotations

import torch
from torch import nn

from .mentalmap import POSE_FEATURES


class PatchDiscriminator(nn.Module):
    """PatchGAN: a map of real/fake scores over overlapping patches, conditioned on
    the query pose (broadcast as constant channels).

    With ``spectral_norm`` every convolution's weight is divided by its largest
    singular value (Miyato et al., "Spectral Normalization for Generative
    Adversarial Networks", ICLR 2018), so the discriminator is 1-Lipschitz per layer
    and cannot sharpen its margin without bound: the plain one wins outright within
    a few hundred steps on this data (its hinge loss falls from 2 to 0.04), after
    which its gradient tells the generator nothing. Spectral normalisation replaces
    the group norms (they would undo the constraint).

    ``forward(..., features=True)`` also returns each block's activations, for the
    feature-matching term (Salimans et al., NeurIPS 2016; pix2pixHD, Wang et al.,
    CVPR 2018): the generator matches the discriminator's features of the real
    image rather than only fooling its last layer.
    """

    def __init__(self, channels: tuple[int, ...] = (32, 64, 128), spectral_norm: bool = False):
        super().__init__()

        def conv(c_in: int, c_out: int, k: int, stride: int, padding: int) -> nn.Module:
            layer = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding)
            return nn.utils.parametrizations.spectral_norm(layer) if spectral_norm else layer

        blocks, c = [], 1 + POSE_FEATURES
        for k, width in enumerate(channels):
            layers = [conv(c, width, 4, 2, 1)]
            if k and not spectral_norm:
                layers += [nn.GroupNorm(8, width)]
            layers += [nn.LeakyReLU(0.2)]
            blocks.append(nn.Sequential(*layers))
            c = width
        self.blocks = nn.ModuleList(blocks)
        self.head = conv(c, 1, 3, 1, 1)

    def forward(
        self, image: torch.Tensor, query: torch.Tensor, features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        pose_map = query[:, :, None, None].expand(-1, -1, *image.shape[-2:])
        x, feats = torch.cat([image * 2.0 - 1.0, pose_map], 1), []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        scores = self.head(x)
        return (scores, feats) if features else scores


def feature_matching(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """Mean over the discriminator's blocks of the mean absolute difference between
    its activations of the real and the generated image (the real ones are a fixed
    target: no gradient flows into the discriminator)."""
    return torch.stack([(f - r.detach()).abs().mean() for r, f in zip(real, fake)]).mean()
