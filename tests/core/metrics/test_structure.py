"""What a blob of the right size cannot fake: in-head similarity, the echo overlap,
the high-frequency energy; and the references that know nothing of the head."""

import numpy as np
import pytest
from scipy import ndimage

from napari_genmed.core.metrics.structure import (
    echo_dice,
    echo_mask,
    head_regions,
    hf_energy,
    in_region_similarity,
)


def _ring(shift: int = 0, size: int = 64) -> np.ndarray:
    """A speckle-free-like plane: brain 0.2 inside, a 2-px echo ring of 0.7, a midline."""
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - 32, xx - 32 - shift)
    img = np.where(r < 22, 0.2, 0.02)
    img[(r >= 20) & (r < 22)] = 0.7
    img[(np.abs(xx - 32 - shift) < 1) & (r < 20)] = 0.5  # the falx
    return img


def test_the_echo_overlap_detects_a_shifted_ring():
    truth = _ring()
    region = np.hypot(*np.mgrid[-32:32, -32:32]) < 26
    assert echo_mask(truth, region).sum() > 200  # ring and midline, not the brain
    assert echo_dice(truth, truth, region) == pytest.approx(1.0)
    assert echo_dice(_ring(3), truth, region) < 0.5  # 6 mm off: most of the echo missed
    blurred = ndimage.gaussian_filter(truth, 3.0)
    assert echo_dice(blurred, truth, region) < 0.5  # a blob of the right size
    assert echo_dice(np.zeros_like(truth), np.zeros_like(truth), region) == 0.0
    with pytest.raises(ValueError, match="shape"):
        echo_dice(truth, truth, region[:10])


def test_in_head_similarity_ignores_the_background_and_hf_reads_texture():
    truth = _ring()
    head = np.hypot(*np.mgrid[-32:32, -32:32]) < 22
    blob = np.where(head, 0.3, 0.02)
    whole = in_region_similarity(blob, truth, np.ones_like(head))
    inside = in_region_similarity(blob, truth, head)
    assert inside["ssim"] < whole["ssim"] - 0.1  # the black outside flattered the blob
    assert in_region_similarity(truth, truth, head)["ncc"] == pytest.approx(1.0)
    assert np.isnan(in_region_similarity(blob, truth, np.zeros_like(head))["ssim"])
    smooth = ndimage.gaussian_filter(truth, 1.5)
    speckle = smooth * np.random.default_rng(0).rayleigh(1.0, truth.shape) / 1.25
    assert hf_energy(speckle, head) > 5 * hf_energy(smooth, head) > 0


def test_head_regions_from_a_planes_labels():
    from napari_genmed.core.sim.labels import BONE, BRAIN, FLUID, SCALP

    labels = np.full((64, 64), FLUID)
    labels[20:44, 20:44] = SCALP
    labels[22:42, 22:42] = BONE
    labels[24:40, 24:40] = BRAIN
    head, echo = head_regions(labels)
    assert head.sum() == 20 * 20 and echo.sum() > head.sum() and not echo[0, 0]


def test_references_know_the_size_but_not_the_head():
    from napari_genmed.core.data.scenes import pose_from_vector
    from napari_genmed.core.sim.labels import BONE, BRAIN
    from napari_genmed.core.tasks.view_references import (
        TEMPLATE_GA,
        head_blob,
        render_reference,
        template_head,
    )

    blob = head_blob(80.0, 100.0)
    assert set(np.unique(blob)) == {0, BRAIN}  # no bone, no landmarks
    extents = [
        2 * int(np.any(blob == BRAIN, axis=tuple(b for b in range(3) if b != a)).sum())
        for a in range(3)
    ]
    assert extents == pytest.approx([64, 100, 80], abs=2)  # height 0.8 BPD, OFD, BPD
    assert blob[32, 32, 32] == BRAIN and blob[32, 32, 0] == 0  # at the canonical centre
    with pytest.raises(ValueError):
        head_blob(float("nan"), 100.0)
    template = template_head()
    assert (template == BONE).any() and TEMPLATE_GA == 27.0
    axial = pose_from_vector([64, 64, 64, 0, 1, 0, 0, 0, 1, 2.0], (64, 64))
    image = render_reference(template, axial, seed=1)
    assert image.shape == (64, 64) and image.max() > 0.3
    assert np.array_equal(image, render_reference(template, axial, seed=1))  # seeded
