"""Convolution stacks of one architecture run side by side, as one stack.

``n`` stacks of down blocks (convolution, group norm, SiLU) with the same shapes
become one stack of grouped convolutions: ``groups = n``, the weights concatenated
along the output channels, and a group norm of ``n`` times the groups over the stacked
channels, which normalises each stack's channels as its own norm would (group norm
never mixes groups). Input ``i`` (a channel of the ``(1, n, H, W)`` input) goes
through stack ``i``; block ``b``'s output holds stack ``i``'s channels at
``[i * C_b, (i + 1) * C_b)``. Same numbers as ``n`` separate passes (float32
rounding), in about the time of two of them on the CPU, where these small
convolutions cost little more than their calls; channels-last, as oneDNN's grouped
convolutions run about 30% faster so.

Used for the plane gate's encoders, a reconstruction model's view encoders, and both
at once when a reconstruction is gated (the gate then costs a few more groups in the
same calls instead of passes of its own); :func:`grouped_conv` and :func:`grouped_norm`
also put the three section readers' U-Nets side by side (:mod:`.sections`).

The copies are frozen and made once: :class:`SideBySideCache` rebuilds one when any
source parameter is replaced or changed in place (``Tensor._version``, which every
in-place update (an optimiser step, ``load_state_dict``) increments), and when a
parameter is replaced or moved (its storage address).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torch.nn.utils import skip_init


def compatible(stacks) -> bool:
    """Whether ``stacks`` (``nn.Sequential`` of down blocks) share one architecture."""
    shapes = [[tuple(p.shape) for p in s.parameters()] for s in stacks]
    return len(shapes) > 0 and all(s == shapes[0] for s in shapes) and len(shapes[0]) > 0


def grouped_conv(convs) -> nn.Conv2d:
    """2D convolutions of one shape as one with ``groups = len(convs)`` (weights
    copied): input channels ``[i * C_in, (i + 1) * C_in)`` go through ``convs[i]``."""
    n, c = len(convs), convs[0]
    # skip_init: made without drawing initial weights, so that building a copy (in a
    # validation pass, say) never moves torch's random stream (resumed runs repeat)
    conv = skip_init(
        nn.Conv2d,
        n * c.in_channels,
        n * c.out_channels,
        c.kernel_size,
        c.stride,
        c.padding,
        groups=n,
    )
    conv.weight.data = torch.cat([x.weight.data for x in convs])
    conv.bias.data = torch.cat([x.bias.data for x in convs])
    return conv


def grouped_norm(norms) -> nn.GroupNorm:
    """Group norms of one shape as one over their stacked channels (each keeps its
    own groups: group norm never mixes groups)."""
    g = norms[0]
    norm = skip_init(
        nn.GroupNorm, len(norms) * g.num_groups, len(norms) * g.num_channels, eps=g.eps
    )
    norm.weight.data = torch.cat([x.weight.data for x in norms])
    norm.bias.data = torch.cat([x.bias.data for x in norms])
    return norm


def side_by_side(stacks) -> nn.Sequential:
    """``stacks`` as one stack of grouped convolutions (weights copied, frozen)."""
    if not compatible(stacks):
        raise ValueError("side by side needs stacks of one architecture")
    blocks = [
        nn.Sequential(
            grouped_conv([b[0] for b in layers]), grouped_norm([b[1] for b in layers]), nn.SiLU()
        )
        for layers in zip(*stacks)
    ]
    return nn.Sequential(*blocks).requires_grad_(False).eval()


def block_outputs(stack: nn.Sequential, images: torch.Tensor) -> list[torch.Tensor]:
    """``(B, n, H, W)`` images in [0, 1], image ``i`` for stack ``i`` -> every block's
    output ``(B, n * C_b, h_b, w_b)`` (the inputs scaled to [-1, 1] first, as the
    encoders were trained)."""
    h = (images * 2.0 - 1.0).contiguous(memory_format=torch.channels_last)
    out = []
    for block in stack:
        h = block(h)
        out.append(h)
    return out


class Incompatible(ValueError):
    """Stacks that cannot run side by side (different architectures)."""


class SideBySideCache:
    """Side-by-side copies of stacks, made once and rebuilt when a source changes;
    at most ``size`` kept (the oldest dropped). :meth:`get` raises
    :class:`Incompatible` (also remembered) for stacks of different architectures."""

    def __init__(self, size: int = 8):
        self.size = size
        self._entries: OrderedDict = OrderedDict()

    def get(self, stacks, device, build=side_by_side) -> nn.Module:
        """The copy ``build(stacks)`` (channels-last, on ``device``), made once."""
        key = (tuple(id(s) for s in stacks), str(device))
        entry = self._entries.get(key)
        if entry is None or not unchanged(entry[0]):
            leaves = snapshot(stacks)
            if not compatible(stacks):
                stack = None
            else:
                stack = build(stacks).to(device).to(memory_format=torch.channels_last)
            entry = self._entries[key] = (leaves, stack)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        if entry[1] is None:
            raise Incompatible("side by side needs stacks of one architecture")
        return entry[1]


def snapshot(stacks) -> list:
    """Each source block's layers with their parameters, versions and storage (what
    :func:`unchanged` compares)."""
    out = []
    for s in stacks:
        for layer in s.modules():
            for name, p in layer._parameters.items():
                if p is not None:
                    out.append((layer, name, p, p._version, p.data_ptr()))
    return out


def unchanged(leaves) -> bool:
    """Whether the stacks still hold the same parameters, unchanged."""
    return all(
        layer._parameters[name] is p and p._version == v and p.data_ptr() == ptr
        for layer, name, p, v, ptr in leaves
    )
