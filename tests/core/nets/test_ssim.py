"""The training SSIM is the evaluation's SSIM (scikit-image), and it has gradients."""

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from napari_genmed.core.nets.ssim import ssim


def test_equals_scikit_image_and_has_gradients():
    rng = np.random.default_rng(0)
    a = rng.random((3, 1, 64, 64)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.2, a.shape), 0, 1).astype(np.float32)
    b[1] = a[1]  # identical: 1
    ta, tb = torch.tensor(a), torch.tensor(b, requires_grad=True)
    got = ssim(ta, tb)
    want = [structural_similarity(a[i, 0], b[i, 0], data_range=1.0) for i in range(3)]
    assert got.detach().numpy() == pytest.approx(want, abs=1e-5)
    assert got[1].item() == pytest.approx(1.0, abs=1e-6)
    (1 - got).sum().backward()
    assert tb.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="B, 1, H, W"):
        ssim(ta[:, 0], tb[:, 0])
