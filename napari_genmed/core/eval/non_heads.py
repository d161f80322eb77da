"""Inputs that are not fetal-head standard planes, for evaluation only (never fitted on).

Each generator returns ``(name, image, pixel_mm)`` triples as a user could give them:

- :func:`real_ultrasound`: every frame of pydicom's real ultrasound test files (an adult
  cardiac echo cine, a power-Doppler lymph node, obstetric frames without a head ...),
  read by the product's own DICOM reader;
- :func:`photos`: scikit-image's bundled photographs and scans, at two pixel sizes;
- :func:`screenshots`: GUI-like pictures (dark panels, bars, text-like strokes, a
  thumbnail);
- :func:`noise`: uniform, Rayleigh (speckle-like), smooth and salt-and-pepper fields;
- :func:`tomography`: CT- and MRI-like slices of this project's heads (tissue contrast,
  no speckle, no fan) and the Shepp-Logan phantom;
- :func:`other_organs`: a fetal abdomen (liver, stomach bubble, spine) and a four-chamber
  heart drawn as label volumes and rendered by this project's own simulator: the hard
  case, the training views' appearance around another anatomy;
- :func:`sizes`: images far too small or too fine to hold a head;
- :func:`off_standard`: planes through the head far from every standard one.
"""

from __future__ import annotations

import os

import numpy as np

#: scikit-image pictures shipped inside its wheel (no download)
PHOTOS = (
    "astronaut",
    "binary_blobs",
    "brick",
    "camera",
    "cat",
    "cell",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "colorwheel",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "logo",
    "moon",
    "page",
    "retina",
    "rocket",
    "text",
    "checkerboard",
    "microaneurysms",
)
#: pydicom's test files that hold ultrasound (Modality US)
ULTRASOUND_FILES = (
    "examples_ybr_color.dcm",
    "examples_palette.dcm",
    "examples_rgb_color.dcm",
    "examples_jpeg2k.dcm",
    "ExplVR_BigEnd.dcm",
)


def real_ultrasound() -> list[tuple[str, np.ndarray, float]]:
    import pydicom.data

    from ..io.acquired import read_acquisition, view_of

    base, out = os.path.dirname(pydicom.data.__file__), []
    found = {f: os.path.join(r, f) for r, _, fs in os.walk(base) for f in fs}
    for name in ULTRASOUND_FILES:
        if name not in found:
            continue
        try:
            acq = read_acquisition(found[name])
        except ValueError:  # a codec this installation lacks (JPEG 2000): not an input
            continue
        for k in range(acq.n_frames):  # as the product takes them: cropped, marks filled
            out.append((f"{name} frame {k}", *view_of(acq, k)))
    return out


def photos() -> list[tuple[str, np.ndarray, float]]:
    import skimage.data

    out = []
    for name in PHOTOS:
        img = getattr(skimage.data, name)()
        img = img.astype(np.uint8) * 255 if img.dtype == bool else img
        out += [(f"{name} at {mm} mm", img, mm) for mm in (0.5, 1.0)]
    return out


def screenshots(n: int = 8, seed: int = 0) -> list[tuple[str, np.ndarray, float]]:
    rng, out = np.random.default_rng(seed), []
    for i in range(n):
        img = np.full((300, 400), 0.15, np.float32)
        for _ in range(rng.integers(3, 7)):  # panels and buttons
            r, c = rng.integers(0, 260), rng.integers(0, 360)
            h, w = rng.integers(10, 120), rng.integers(20, 200)
            img[r : r + h, c : c + w] = rng.uniform(0.2, 0.5)
        for _ in range(rng.integers(10, 30)):  # text-like strokes
            r, c = rng.integers(0, 290), rng.integers(0, 330)
            img[r : r + 3, c : c + rng.integers(10, 60)] = 0.9
        if i % 2:  # a thumbnail of noise, as a canvas
            img[40:168, 200:328] = rng.rayleigh(0.3, (128, 128)).clip(0, 1)
        out.append((f"screenshot {i}", img, 1.0))
    return out


def noise(n: int = 4, seed: int = 0) -> list[tuple[str, np.ndarray, float]]:
    from scipy import ndimage

    rng, out = np.random.default_rng(seed), []
    for i in range(n):
        out.append((f"uniform noise {i}", rng.uniform(size=(128, 128)), 1.0))
        out.append((f"Rayleigh noise {i}", rng.rayleigh(size=(128, 128)), 1.0))
        smooth = ndimage.gaussian_filter(rng.normal(size=(256, 256)), 2 + 2 * i)
        out.append((f"smooth noise {i}", smooth, 0.5))
        sp = (rng.uniform(size=(200, 200)) > 0.97).astype(np.float32)
        out.append((f"salt and pepper {i}", sp, 0.7))
    return out


def _head_slices(n: int, seed: int):
    """Label slices of this project's test heads at their three standard planes."""
    from ..data.dataset import subject_phantom, subject_seed
    from ..sim.geometry import VIEW_NAMES, sample_plane, standard_pose
    from ..sim.medium import Medium

    for i in range(n):
        ph = subject_phantom(subject_seed("test", 5000 + seed + i))
        centre = Medium(ph.labels, ph.spacing_mm).standard_centre()
        for view in VIEW_NAMES:
            pose = standard_pose(view, centre, (128, 128), 1.0)
            lab = sample_plane(ph.labels.astype(np.float32), ph.spacing_mm, pose, order=0)
            yield view, np.clip(lab.astype(int), 0, 9)


#: grey value per label (fluid, bone, brain, falx, CSP, ventricle, choroid, thalamus,
#: scalp, membrane): CT-like (bone bright, soft tissue alike) and T2-like MRI (fluid bright)
CT_LIKE = np.array([0.05, 1.0, 0.32, 0.34, 0.3, 0.3, 0.33, 0.33, 0.35, 0.4])
MRI_LIKE = np.array([0.9, 0.05, 0.45, 0.2, 0.85, 0.9, 0.5, 0.4, 0.6, 0.3])


def tomography(n: int = 4, seed: int = 0) -> list[tuple[str, np.ndarray, float]]:
    import skimage.data

    rng = np.random.default_rng(seed)
    out = [("Shepp-Logan phantom", skimage.data.shepp_logan_phantom(), 0.5)]
    for view, lab in _head_slices(n, seed):
        for name, table in (("CT-like", CT_LIKE), ("MRI-like", MRI_LIKE)):
            img = table[lab] + 0.02 * rng.normal(size=lab.shape)
            out.append((f"{name} {view} slice", img, 1.0))
    return out


def _organ_volume(kind: str, rng: np.random.Generator, grid: int = 64, mm: float = 2.0):
    from ..sim import labels as L

    z, y, x = (np.mgrid[:grid, :grid, :grid] - grid / 2 + 0.5) * mm
    r = rng.uniform(32, 48)  # organ radius (mm)
    body = (y / (r * rng.uniform(0.9, 1.1))) ** 2 + (x / r) ** 2 + (z / (1.3 * r)) ** 2
    vol = np.full(z.shape, L.FLUID, np.uint8)
    vol[body < 1.25] = L.SCALP
    vol[body < 1.0] = L.BRAIN  # liver or myocardium: parenchyma
    spine = ((y - 0.75 * r) ** 2 + (x - rng.uniform(-5, 5)) ** 2) < (0.14 * r) ** 2
    vol[spine & (body < 1.0)] = L.BONE  # the spine's echo, behind the organ
    if kind == "abdomen":
        bubble = ((y + 0.2 * r) ** 2 + (x - 0.3 * r) ** 2 + z**2) < (0.25 * r) ** 2
        vol[bubble] = L.VENTRICLE  # the stomach bubble: fluid
    else:  # four chambers, a septum between them
        for sy in (-1, 1):
            for sx in (-1, 1):
                c = ((y - sy * 0.3 * r) ** 2 + (x - sx * 0.3 * r) ** 2 + z**2) < (0.24 * r) ** 2
                vol[c] = L.VENTRICLE
    return vol


def other_organs(n: int = 6, seed: int = 0) -> list[tuple[str, np.ndarray, float]]:
    from ..sim.geometry import standard_pose
    from ..sim.ultrasound import simulate_view

    rng, out = np.random.default_rng(seed), []
    for i in range(n):
        for kind in ("abdomen", "heart"):
            vol = _organ_volume(kind, rng)
            pose = standard_pose("axial", (64.0, 64.0, 64.0), (128, 128), 1.0)
            img = simulate_view(vol, pose, spacing_mm=2.0, seed=seed + i).image
            out.append((f"fetal {kind} {i}", img, 1.0))
    return out


def sizes(seed: int = 0) -> list[tuple[str, np.ndarray, float]]:
    rng = np.random.default_rng(seed)
    return [
        ("8 x 8 pixels at 1 mm", rng.uniform(size=(8, 8)), 1.0),
        ("16 x 16 pixels at 1 mm", rng.uniform(size=(16, 16)), 1.0),
        ("32 x 32 pixels at 0.5 mm", rng.uniform(size=(32, 32)), 0.5),
        ("3000 x 3000 pixels at 0.05 mm", rng.uniform(size=(3000, 3000)), 0.05),
    ]


def off_standard(
    n: int = 10, family: str = "phantom", seed: int = 0
) -> list[tuple[str, str, np.ndarray]]:
    """``(name, slot, image)``: for each test head of ``family`` and standard plane,
    the plane moved 28-50 mm along its normal, and tilted 40-80 degrees about its column
    axis (the gate's fit tilted about the row axis), each assigned to that plane's slot."""
    from ..data.dataset import DatasetConfig, subject_phantom, subject_seed
    from ..sim.geometry import VIEW_NAMES, adjusted_pose, standard_pose
    from ..sim.medium import Medium
    from ..sim.ultrasound import simulate_view

    rng, out = np.random.default_rng(seed), []
    config = DatasetConfig(families=(family,))
    for i in range(n):
        s = subject_seed("test", 7000 + i)
        ph = subject_phantom(s, config)
        medium = Medium(ph.labels, ph.spacing_mm)
        centre = medium.standard_centre()
        for view in VIEW_NAMES:
            base = standard_pose(view, centre, (128, 128), 1.0)
            sign = rng.choice([-1.0, 1.0])
            moved = adjusted_pose(base, offset_mm=sign * rng.uniform(28, 50))
            tilted = adjusted_pose(base, tilt_col_deg=sign * rng.uniform(40, 80))
            for what, pose in (("moved", moved), ("tilted", tilted)):
                img = simulate_view(medium, pose, seed=s + len(out)).image
                out.append((f"{family} head {i}, {view} {what}", view, img))
    return out


NON_HEADS = {
    "real ultrasound (pydicom)": real_ultrasound,
    "photos": photos,
    "screenshots": screenshots,
    "noise": noise,
    "CT/MRI-like slices": tomography,
    "other fetal organs (simulated)": other_organs,
    "tiny and huge images": sizes,
}
