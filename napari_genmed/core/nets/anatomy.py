"""The anatomy generator (``mental-map-anatomy``): a mental map that decodes the query
plane's labels, its images drawn by the simulator (:mod:`~..sim.plane_render`).

The scene code and decoder are the mental map's (:mod:`.mentalmap`); the output is
per-pixel logits over the phantom's label values, trained by cross-entropy of the
decoded prior mean against the query plane's labels (optionally weighted per label:
``class_weights`` in the batch). The image is the argmax map drawn speckle-free, so
the skull echo, its shadow and the landmarks are sharp where the labels put them
(issue 26's route (a)); with ``label_temperature`` > 0 it is the expected medium of the
label probabilities instead, so a landmark the views leave uncertain (a thin falx, a
ventricle's edge) is drawn faint where it may be rather than dropped by the argmax.
Samples decode draws of the prior, each drawn.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..sim.labels import FALX
from .mentalmap import MentalMap, MentalMapConfig

DEFAULT = MentalMapConfig(classes=10)  #: the phantom's 10 label values (sim/labels.py)


class MentalMapAnatomy(MentalMap):
    """The generator of the query plane's labels, its images rendered by the simulator
    (see the module docstring)."""

    kind = "mental-map-anatomy"

    def __init__(self, config: MentalMapConfig = DEFAULT):
        if config.classes < 2:
            raise ValueError("the anatomy generator needs classes >= 2 (the plane's label values)")
        super().__init__(config)

    def training_loss(self, batch: dict) -> dict[str, torch.Tensor]:
        if "labels" not in batch:
            raise ValueError("the anatomy generator learns from 'labels': the query planes' labels")
        ctx = self.context(
            self.represent(batch["images"], batch["poses"], batch["mask"]), batch["query"]
        )
        mu_p, _ = self.prior_params(ctx)
        logits = self.decode(mu_p, ctx)
        ce = nn.functional.cross_entropy(logits, batch["labels"].long(), batch.get("class_weights"))
        return {"loss": ce, "ce": ce, "logits": logits}

    @torch.no_grad()
    def anatomy(self, images, poses, mask, query, n_samples: int = 1, generator=None):
        """The query planes' labels ``(n, B, S, S)`` (int64): the argmax of the decoded
        prior mean (``n_samples`` 1), else of ``n_samples`` draws of the prior."""
        return self.drawn_logits(images, poses, mask, query, n_samples, generator).argmax(2)

    def drawn_logits(self, images, poses, mask, query, n_samples: int = 1, generator=None):
        """The decoder's logits ``(n, B, C, S, S)`` as they are drawn: with
        ``midline_bias`` added to the falx's (the midline sheet, one pixel thin on this
        grid, loses the argmax to the brain around it even where the generator puts it)."""
        logits = self.decoded(images, poses, mask, query, n_samples, generator)
        if self.config.midline_bias and logits.shape[2] > FALX:
            logits[:, :, FALX] += self.config.midline_bias
        return logits

    @torch.no_grad()
    def generate(self, images, poses, mask, query, n_samples: int = 1, generator=None):
        """``(mean image (B, S, S), std over samples or None)`` in [0, 1]: each label
        map rendered speckle-free (the maternal wall drawn from ``generator``, else
        from seed 0): its most probable labels, or with ``label_temperature`` > 0 the
        expected medium of its label probabilities (:mod:`~..sim.plane_render`)."""
        return self.generate_with_anatomy(images, poses, mask, query, n_samples, generator)[:2]

    @torch.no_grad()
    def generate_with_anatomy(self, images, poses, mask, query, n_samples: int = 1, generator=None):
        """:meth:`generate`'s ``(mean, std)`` and the labels it drew them from ``(B, S,
        S)`` (int64): each pixel's most probable label over the draws (their softmax
        averaged), from the same decoding."""
        from ..sim.plane_render import render_plane_labels, render_plane_probabilities

        seed = 0 if generator is None else int(torch.randint(2**31 - 1, (1,), generator=generator))
        logits = self.drawn_logits(images, poses, mask, query, n_samples, generator)
        t = self.config.label_temperature
        if t > 0:
            maps = (logits / t).softmax(2).cpu().numpy()
            render = render_plane_probabilities
        else:
            maps, render = logits.argmax(2).cpu().numpy(), render_plane_labels
        rendered = np.stack([[render(m, seed) for m in draw] for draw in maps])
        stack = torch.as_tensor(rendered, device=images.device)
        labels = logits.softmax(2).mean(0).argmax(1)
        return stack.mean(0), (stack.std(0) if n_samples > 1 else None), labels
