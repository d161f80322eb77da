"""Grey-level augmentations of training views: seeded, in range, black kept black,
monotone, and only for the share asked for."""

import numpy as np
import torch

from napari_genmed import api
from napari_genmed.core.train.augment import intensity_augment


def _views():
    ph = api.make_phantom(26.0, 3)
    views = api.simulate_views(ph, seed=3)
    return torch.as_tensor(np.stack([np.asarray(v.image) for v in views.values()]))[None]


def test_augmented_views_stay_in_range_keep_black_and_repeat_for_a_seed():
    views = _views().repeat(4, 1, 1, 1)
    a = intensity_augment(views, 1.0, torch.Generator().manual_seed(1))
    b = intensity_augment(views, 1.0, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == views.shape and a.dtype == views.dtype
    assert a.min() >= 0 and a.max() <= 1
    assert torch.all(a[views == 0] == 0)  # the fan's outside stays black
    assert all(not torch.equal(a[0, k], a[1, k]) for k in range(3))  # drawn per view
    assert (a - views).abs().mean() > 0.01
    # the grey map and gamma keep the order of grey levels: the skull stays brightest
    for k in range(3):
        bright = views[0, k] > torch.quantile(views[0, k], 0.99)
        assert a[0, k][bright].mean() > a[0, k][views[0, k] > 0].mean()


def test_only_the_share_asked_for_is_augmented():
    views = _views().repeat(40, 1, 1, 1)
    assert torch.equal(intensity_augment(views, 0.0, torch.Generator()), views)
    a = intensity_augment(views, 0.5, torch.Generator().manual_seed(2))
    changed = (a != views).flatten(2).any(2).float().mean()
    assert 0.35 < changed < 0.65
