"""The view GAN's discriminator: spectral norm bounds it, feature matching compares
its activations."""

import torch

from napari_genmed.core.nets.discriminator import PatchDiscriminator, feature_matching
from napari_genmed.core.nets.mentalmap import POSE_FEATURES


def _inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, 1, 64, 64, generator=g), torch.randn(2, POSE_FEATURES, generator=g)


def test_spectral_norm_makes_the_scores_blind_to_weight_scale():
    image, query = _inputs()
    for sn in (True, False):
        torch.manual_seed(0)
        disc = PatchDiscriminator(channels=(8, 16), spectral_norm=sn)
        disc.train()
        for _ in range(20):  # power iterations settle on the largest singular value
            disc(image, query)
        disc.eval()
        before = disc(image, query)
        conv = disc.blocks[0][0]
        with torch.no_grad():
            (conv.parametrizations.weight.original if sn else conv.weight).mul_(10.0)
        after = disc(image, query)
        changed = (after - before).abs().max().item()
        if sn:
            sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2).item()
            assert changed < 1e-4 and abs(sigma - 1.0) < 0.05
            assert not any(isinstance(m, torch.nn.GroupNorm) for m in disc.modules())
        else:
            assert changed > 1e-2


def test_features_and_feature_matching():
    image, query = _inputs()
    disc = PatchDiscriminator(channels=(8, 16, 32), spectral_norm=True)
    scores, feats = disc(image, query, features=True)
    assert scores.shape == (2, 1, 8, 8) and [f.shape[1] for f in feats] == [8, 16, 32]
    same = feature_matching(feats, feats)
    assert same.item() == 0.0
    fake = image.clone().requires_grad_(True)
    _, fake_feats = disc(fake.flip(-1), query, features=True)
    real = [f.clone().requires_grad_(True) for f in feats]
    fm = feature_matching(real, fake_feats)
    fm.backward()
    assert fm.item() > 0 and fake.grad.abs().sum() > 0
    assert all(r.grad is None for r in real)  # the real activations are a fixed target
