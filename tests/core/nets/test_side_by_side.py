"""Convolution stacks side by side: the grouped pass computes what separate passes do,
follows its sources when they change, and refuses stacks of different shapes."""

import pytest
import torch

from napari_genmed.core.nets.blocks import down_block
from napari_genmed.core.nets.conditioning import ViewEncoders
from napari_genmed.core.nets.side_by_side import (
    Incompatible,
    SideBySideCache,
    block_outputs,
    side_by_side,
)


def _stack(widths=(4, 8, 8)):
    w = (1,) + widths
    return torch.nn.Sequential(*(down_block(2, a, b) for a, b in zip(w[:-1], w[1:])))


def test_the_grouped_pass_is_the_separate_passes():
    torch.manual_seed(0)
    stacks = [_stack() for _ in range(3)]
    x = torch.rand(2, 3, 32, 32)
    outs = block_outputs(side_by_side(stacks), x)
    for k, s in enumerate(stacks):
        h = x[:, k : k + 1] * 2 - 1
        for b, block in enumerate(s):
            h = block(h)
            c = h.shape[1]
            assert torch.allclose(outs[b][:, k * c : (k + 1) * c], h, atol=1e-5)


def test_the_cache_follows_its_sources():
    torch.manual_seed(0)
    stacks = [_stack(), _stack()]
    cache = SideBySideCache()
    first = cache.get(stacks, "cpu")
    assert cache.get(stacks, "cpu") is first  # made once
    with torch.no_grad():  # an in-place update (as an optimiser step) is seen
        stacks[1][0][0].weight.add_(1.0)
    second = cache.get(stacks, "cpu")
    assert second is not first
    assert torch.equal(second[0][0].weight[4:], stacks[1][0][0].weight)
    stacks[0][1][0].weight = torch.nn.Parameter(torch.zeros_like(stacks[0][1][0].weight))
    assert torch.equal(cache.get(stacks, "cpu")[1][0].weight[:8], torch.zeros(8, 4, 4, 4))
    with pytest.raises(Incompatible):
        cache.get([_stack(), _stack((4, 8, 16))], "cpu")


def test_view_encoders_at_inference_equal_training_and_keep_gradients():
    torch.manual_seed(0)
    enc = ViewEncoders(32, (4, 8), 6)
    views, mask = torch.rand(2, 3, 32, 32), torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    trained = enc(views, mask)  # training mode, gradients on: each encoder on its own
    assert trained.requires_grad
    enc.eval()
    with torch.no_grad():
        grouped = enc(views, mask)
    assert torch.allclose(grouped, trained.detach(), atol=1e-5)
    assert torch.all(grouped[0, 1] == 0)  # a missing view's features stay zero
    with torch.no_grad():  # after a change of weights the inference pass follows
        enc.encoders[2].head.bias.add_(1.0)
        enc.encoders[0].features[0][0].weight.mul_(2.0)
        again = enc(views, mask)
    enc.train()
    assert torch.allclose(again, enc(views, mask).detach(), atol=1e-5)


def test_making_a_copy_draws_nothing_from_the_random_stream():
    """A validation pass builds copies: resumed training must repeat the same draws."""
    stacks = [_stack(), _stack()]
    state = torch.random.get_rng_state()
    side_by_side(stacks)
    assert torch.equal(state, torch.random.get_rng_state())
