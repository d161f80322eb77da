"""What the Missing views panel shows of a generation: the preview tiles and the
scores' readout (kept apart from the panel: plain functions of the result)."""

from __future__ import annotations

import numpy as np
from qtpy.QtGui import QImage, QPixmap

from ..core.tasks.viewgen import Generation

PREVIEW_PX = 110  #: side of each preview tile (two columns fit the dock column)


def readout(result: Generation) -> str:
    """The scores against the truth, and the template head's beside them."""
    s, t = result.scores, result.template_scores
    if s is None:
        return "no true head: no scores"
    lines = [f"vs truth: SSIM {s['ssim']:.3f}  NCC {s['ncc']:.3f}  PSNR {s['psnr']:.1f} dB"]
    if "ssim_head" in s:
        lines.append(
            f"inside the head: SSIM {s['ssim_head']:.2f}  NCC {s['ncc_head']:.2f}; "
            f"skull-echo Dice {s['echo_dice']:.2f}"
        )
    if t is not None:
        lines.append(
            f"a template head (knows nothing of this one): SSIM {t['ssim_head']:.2f}  "
            f"NCC {t['ncc_head']:.2f}; echo Dice {t['echo_dice']:.2f}"
        )
    return "\n".join(lines)


def to_pixmap(tiles: list[np.ndarray], size: int = PREVIEW_PX, columns: int = 2) -> QPixmap:
    """Images in [0, 1] (gray ``H x W`` or colour ``H x W x 3``) in a grid ``columns``
    wide (``size`` px each, 4 px gaps): two columns fit the dock column. A plane larger
    than its tile is averaged down (dropping rows, as nearest-neighbour did, broke the
    skull ring into steps); a smaller one is enlarged by nearest neighbour, its pixels
    shown as they are."""
    from skimage.transform import resize

    gap = 4
    rows = -(-len(tiles) // columns)
    cols = min(columns, len(tiles))
    img = np.full((rows * (size + gap) - gap, cols * (size + gap) - gap, 3), 0.25, np.float32)
    for k, t in enumerate(tiles):
        t = np.clip(np.nan_to_num(np.asarray(t, np.float32)), 0, 1)
        t = t if t.ndim == 3 else np.repeat(t[..., None], 3, axis=-1)
        shrink = max(t.shape[:2]) > size
        t = resize(t, (size, size, 3), order=1 if shrink else 0, anti_aliasing=shrink)
        r, c = divmod(k, columns)
        img[
            r * (size + gap) : r * (size + gap) + size, c * (size + gap) : c * (size + gap) + size
        ] = t
    img = np.ascontiguousarray((img * 255).astype(np.uint8))
    q = QImage(img.data, img.shape[1], img.shape[0], 3 * img.shape[1], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(q.copy())


def anatomy_tile(labels: np.ndarray) -> np.ndarray:
    """A plane's labels as a colour tile (``H x W x 3`` in [0, 1]; fluid black)."""
    from ..colors import ANATOMY_COLORS

    table = np.zeros((256, 3), np.float32)
    for value, rgba in ANATOMY_COLORS.items():
        if value is not None:
            table[value] = rgba[:3]
    return table[np.asarray(labels, np.uint8)]
