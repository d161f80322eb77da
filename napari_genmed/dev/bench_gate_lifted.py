"""``genmed bench`` rows of what issues 23 and 24 added: the plane gate (one view, and
what it adds to a reconstruction), placing three views in a reconstruction and the
lifted architecture (untrained weights)."""

from __future__ import annotations

import numpy as np

from .bench_models import latent_rows
from .timing import row, skipped_row, time_ms


def gate_rows(repeats: int, device: str = "cpu") -> list[dict]:
    """The plane gate: one view's plausibility (as api.plausibility serves it), and each
    bundled model's reconstruction from three views with the gate and without, timed
    in alternation (their ratio: what the gate adds; it shares the models' grouped
    view-encoder pass, and TL-net's encoders are its own)."""
    from .. import api
    from ..core.sim.phantom import make_phantom
    from ..core.sim.ultrasound import simulate_views

    try:
        gate = api.load_model("plane-gate", device)
        models = {
            kind: api.load_model(kind, device) for kind in ("rec-cvae", "hirec-cvae", "tl-net")
        }
    except ValueError as exc:
        return [skipped_row("plane gate", str(exc))]
    views = simulate_views(make_phantom(28.0, 1).labels, seed=1)
    one = time_ms(lambda: api.plausibility(views["axial"], "axial", gate=gate), repeats)
    rows = [row("plane gate: plausibility of one 128x128 view", one)]
    for kind, model in models.items():
        checked, bare = [], []
        for _ in range(max(repeats, 10)):
            checked += list(time_ms(lambda: api.reconstruct(model, views), 1, warmup=0))
            bare += list(time_ms(lambda: api.reconstruct(model, views, check=False), 1, warmup=0))
        checked, bare = np.array(checked), np.array(bare)
        ratio = float(np.median(checked) / np.median(bare))
        rows += [
            row(f"{kind}: reconstruct, 3 views, without the gate", bare),
            row(f"{kind}: reconstruct, 3 views, with the gate", checked, f"{ratio:.2f}x without"),
        ]
    return rows


def pose_rows(repeats: int, device: str = "cpu") -> list[dict]:
    """Placing three views in a reconstruction (:func:`~..api.place_views`: the
    skull's centre and the plane pose net), as the panel's worker does after it."""
    from .. import api
    from ..core.sim.phantom import make_phantom
    from ..core.sim.ultrasound import simulate_views

    try:
        net = api.load_model("plane-pose", device)
        model = api.load_model("hirec-cvae", device)
    except ValueError as exc:
        return [skipped_row("plane pose", str(exc))]
    views = simulate_views(make_phantom(28.0, 1).labels, seed=1)
    result = api.reconstruct(model, views, check=False)
    return [
        row(
            "plane pose: place 3 views in a reconstruction",
            time_ms(lambda: api.place_views(result, views, net=net), repeats),
        )
    ]


def lifted_rows(repeats: int, device: str = "cpu") -> list[dict]:
    """The lifted architecture (nets/lifting.py) at its default widths, untrained
    weights (speed does not depend on them): reconstruction and latent moves, as the
    bundled models' rows."""
    import torch

    from .. import api
    from ..core.nets.registry import build_model
    from ..core.sim.phantom import make_phantom
    from ..core.sim.ultrasound import simulate_views

    views = simulate_views(make_phantom(28.0, 1).labels, seed=1)
    rows = []
    for kind in ("rec-cvae", "hirec-cvae"):
        torch.manual_seed(0)
        model = build_model(kind, {"lifted": True}).to(device).eval()
        name = f"{kind} (lifted, untrained)"
        rows.append(
            row(
                f"{name}: reconstruct, 3 views, 64^3",
                time_ms(lambda: api.reconstruct(model, views), repeats),
            )
        )
        rows += latent_rows(name, model, views, repeats)
    return rows
