"""Generating a missing view: observed slices with their poses -> the slice at a
query pose, by a mental-map generator (:mod:`.mentalmap`) or by the baseline route
(reconstruct the skull, then simulate the ultrasound image at the query plane).

Generators work on a 64 x 64 grid of 2 mm pixels (the 128 mm field of the views);
observations of any size and pixel spacing are brought to it (2 x 2 averaging for the
standard 128 x 128 views at 1 mm, else resampling with a centre crop or pad), and
the generated image is brought back to the query pose's own grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..data.scenes import PIXEL_MM, SIZE, coarse_pose, downsample, pose_features
from ..progress import Job, Progress
from ..sim.geometry import Pose

MAX_OBSERVATIONS = 8


@dataclass
class GeneratedView:
    image: np.ndarray  #: the generated slice on the query pose's grid, in [0, 1]
    std: np.ndarray | None  #: per-pixel standard deviation over samples (n_samples > 1)
    pose: Pose  #: the query pose
    native: np.ndarray  #: the generator's own 64 x 64 (2 mm) image
    method: str = ""
    #: one B-mode sample around ``image`` on the query's grid (``texture=True``): the
    #: speckle a scanner would show, with the renderer's physics (:mod:`~..sim.texture`);
    #: ``image`` stays the estimate
    bmode: np.ndarray | None = None
    #: the plane's labels (sim/labels.py values) on the query's grid, for generators that
    #: draw them (the anatomy generator); None for the others
    anatomy: np.ndarray | None = None


def to_grid(image: np.ndarray, spacing_mm: float) -> np.ndarray:
    """An observed image on the generator grid (see the module docstring)."""
    from .viewprep import prepare_view, to_gray

    img = to_gray("observation", np.asarray(image))
    factor = PIXEL_MM / float(spacing_mm)
    if (
        abs(factor - round(factor)) < 1e-9
        and round(factor) >= 1
        and img.shape == (SIZE * round(factor),) * 2
    ):
        return downsample(img, SIZE)
    return prepare_view("observation", (img, float(spacing_mm)), SIZE, PIXEL_MM)


def from_grid(native: np.ndarray, pose: Pose, order: int = 1) -> np.ndarray:
    """The generator's image resampled to ``pose``'s grid (same plane and centre;
    ``order`` 0 for labels)."""
    h, w = pose.shape
    s = pose.spacing_mm
    rows = (np.arange(h) - (h - 1) / 2) * s / PIXEL_MM + (SIZE - 1) / 2
    cols = (np.arange(w) - (w - 1) / 2) * s / PIXEL_MM + (SIZE - 1) / 2
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    return ndimage.map_coordinates(
        np.asarray(native, np.float32), [rr, cc], order=order, mode="constant", cval=0.0
    ).astype(np.float32)


def _unpack(obs) -> tuple[np.ndarray, Pose]:
    if hasattr(obs, "image") and hasattr(obs, "pose"):
        return np.asarray(obs.image), obs.pose
    if isinstance(obs, (tuple, list)) and len(obs) == 2:
        image, pose = obs
        if isinstance(pose, dict):
            pose = Pose.from_dict(pose)
        if isinstance(pose, Pose):
            return np.asarray(image), pose
    raise ValueError(
        "an observation must be a View (with .image and .pose) or an (image, Pose) pair"
    )


def prepare_observations(observations) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 64, 64)`` images and ``(N, 12)`` pose features of the observations."""
    if observations is None:
        observations = []
    if isinstance(observations, dict):
        observations = list(observations.values())
    observations = list(observations)
    if len(observations) > MAX_OBSERVATIONS:
        raise ValueError(f"at most {MAX_OBSERVATIONS} observed slices, got {len(observations)}")
    images, feats = [], []
    for obs in observations:
        image, pose = _unpack(obs)
        if image.ndim == 2 and image.shape != tuple(pose.shape):
            raise ValueError(
                f"an observed image of shape {image.shape} does not match its pose's shape "
                f"{tuple(pose.shape)}"
            )
        images.append(to_grid(image, pose.spacing_mm))
        feats.append(pose_features(coarse_pose(pose)))
    if not images:
        return np.zeros((0, SIZE, SIZE), np.float32), np.zeros((0, 12), np.float32)
    return np.stack(images), np.stack(feats)


def generate(
    model, observations, query: Pose, n_samples: int = 1, seed: int = 0, texture: bool = False
) -> GeneratedView:
    """The slice at ``query`` from the observed slices (the mean of ``n_samples``
    variants and their per-pixel std); ``texture`` adds one B-mode sample around it."""
    import torch

    from ..devices import out_of_memory_as_advice

    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or not 1 <= n_samples <= 64:
        raise ValueError(f"n_samples must be an integer in 1..64, got {n_samples!r}")
    images, feats = prepare_observations(observations)
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(seed))
    n = max(len(images), 1)
    imgs = np.zeros((1, n, SIZE, SIZE), np.float32)
    poses = np.zeros((1, n, 12), np.float32)
    mask = np.zeros((1, n), np.float32)
    imgs[0, : len(images)], poses[0, : len(images)], mask[0, : len(images)] = images, feats, 1.0
    q = pose_features(coarse_pose(query))[None]
    t = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
    anatomy = None
    with out_of_memory_as_advice("generating a view"):
        if hasattr(model, "generate_with_anatomy"):  # the labels it drew, from one decoding
            mean, std, labels = model.generate_with_anatomy(
                t(imgs), t(poses), t(mask), t(q), n_samples, generator
            )
            anatomy = from_grid(labels[0].cpu().numpy(), query, order=0).astype(np.uint8)
        else:
            mean, std = model.generate(t(imgs), t(poses), t(mask), t(q), n_samples, generator)
    native = mean[0].float().cpu().numpy()
    native_std = None if std is None else std[0].float().cpu().numpy()
    image = from_grid(native, query)
    bmode = None
    if texture:
        from ..sim.texture import bmode_sample

        bmode = bmode_sample(image, query.spacing_mm, seed)
    return GeneratedView(
        image=image,
        std=None if native_std is None else from_grid(native_std, query),
        pose=query,
        native=native,
        method=model.kind,
        bmode=bmode,
        anatomy=anatomy,
    )


def skull_labels(probability: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """A label volume from a reconstructed skull: bone, brain inside, fluid outside
    (what the simulator needs to render the baseline's image)."""
    from ..sim.labels import BONE, BRAIN

    bone = probability > threshold
    inside = ndimage.binary_fill_holes(ndimage.binary_closing(bone, iterations=2)) & ~bone
    labels = np.zeros(bone.shape, np.uint8)
    labels[inside] = BRAIN
    labels[bone] = BONE
    return labels


def baseline(recon_model, views: dict, query: Pose, seed: int = 0) -> GeneratedView:
    """The baseline route: reconstruct the skull from the standard ``views``, then
    render the speckle-free ultrasound image of the query plane through it."""
    from ..sim.ultrasound import simulate_view
    from .reconstruct import reconstruct

    r = reconstruct(recon_model, views)
    labels = skull_labels(r.probability)
    grid = coarse_pose(query)
    native = simulate_view(labels, grid, r.spacing_mm, seed=seed, speckle=False).image
    return GeneratedView(
        image=from_grid(native, query), std=None, pose=query, native=native, method="baseline"
    )


@dataclass
class Generation:
    """A generated view, and when the true head is known its truth and scores."""

    generated: GeneratedView
    view: str  #: the query's view name (what the layer is called after)
    truth: np.ndarray | None = None  #: the speckle-free rendering of the true plane
    #: against it: SSIM, NCC, PSNR; on the generator's grid SSIM and NCC inside the true
    #: head (``ssim_head``, ``ncc_head``) and the skull-echo Dice (``echo_dice``)
    scores: dict | None = None
    #: the same structure scores of the template head rendered at the query pose (a
    #: predictor that knows nothing of this head: what the generator adds over it)
    template_scores: dict | None = None


def structure_scores(generated_native, truth_labels, spacing_mm: float, query: Pose, seed: int):
    """``(generated's, template's)`` in-head SSIM / NCC and echo Dice on the
    generators' grid, against the true head's speckle-free plane there
    (:mod:`~..metrics.structure`, :mod:`.view_references`)."""
    from ..data.scenes import coarse_pose
    from ..metrics.structure import echo_dice, head_regions, in_region_similarity
    from ..sim.labels import labels_on_plane
    from .view_references import render_reference, template_head

    grid = coarse_pose(query)
    truth = render_reference(truth_labels, grid, seed, spacing_mm)
    head, echo = head_regions(labels_on_plane(truth_labels, spacing_mm, grid))
    template = render_reference(template_head(), grid, seed)

    def score(image):
        inside = in_region_similarity(image, truth, head)
        return {
            "ssim_head": inside["ssim"],
            "ncc_head": inside["ncc"],
            "echo_dice": echo_dice(image, truth, echo),
        }

    return score(generated_native), score(template)


def generation_job(
    model,
    observations,
    query: Pose,
    view: str,
    n_samples: int = 1,
    seed: int = 0,
    truth_labels=None,
    truth_spacing: float = 2.0,
    texture: bool = False,
) -> Job[Generation]:
    """:func:`generate` as a job; with the true head's labels, the true plane is
    rendered without speckle and the generated one scored against it (and, for scale,
    the template head: :func:`structure_scores`). The observations are checked before
    the first yield."""
    from ..metrics.similarity import similarity
    from ..sim.ultrasound import simulate_view

    prepare_observations(observations)  # bad slices fail here, before any work
    total = 4 if truth_labels is not None else 2
    yield Progress(0, total, "generating")
    out = Generation(generate(model, observations, query, n_samples, seed, texture), view)
    if truth_labels is not None:
        yield Progress(1, total, "rendering the true plane")
        out.truth = simulate_view(
            truth_labels, query, truth_spacing, seed=seed, speckle=False
        ).image
        out.scores = similarity(out.generated.image, out.truth)
        yield Progress(2, total, "scoring the structure, and the template head's")
        mine, template = structure_scores(
            out.generated.native, truth_labels, truth_spacing, query, seed
        )
        out.scores |= mine
        out.template_scores = template
    yield Progress(total, total, "done")
    return out
