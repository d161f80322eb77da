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


def test_speckle_is_redrawn_inside_the_fan_only_and_seeded():
    from scipy import ndimage

    from napari_genmed.core.train.augment import speckle_augment

    views = _views().repeat(6, 1, 1, 1)
    assert torch.equal(speckle_augment(views, 0.0, torch.Generator()), views)
    a = speckle_augment(views, 1.0, torch.Generator().manual_seed(4))
    assert torch.equal(a, speckle_augment(views, 1.0, torch.Generator().manual_seed(4)))
    assert a.min() >= 0 and a.max() <= 1 and torch.all(a[views == 0] == 0)
    # the anatomy stays (the smoothed images agree), the texture is another one
    texture = []
    for i in range(6):
        x, y = views[i, 0].numpy(), a[i, 0].numpy()
        fan = ndimage.binary_erosion(x > 0, iterations=8)
        sx, sy = ndimage.gaussian_filter(x, 3), ndimage.gaussian_filter(y, 3)
        assert np.corrcoef(sx[fan], sy[fan])[0, 1] > 0.9
        texture.append(np.corrcoef((x - sx)[fan], (y - sy)[fan])[0, 1])
    assert np.mean(texture) < 0.6  # the fine texture is mostly a new one
    grains = [float((a[i, 0] - a[i, 0].roll(1, 1)).abs()[views[i, 0] > 0].mean()) for i in range(6)]
    assert max(grains) > 1.3 * min(grains)  # drawn per view: grain and strength vary
