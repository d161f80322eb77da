"""``genmed bench``: timings of the core and the GUI, p50/p95 over repeats after a
warm-up, all rows from one run (ratios between rows are only meaningful within one).

Rows: the data pipeline (phantom, views, a whole training subject; the simulator's
numpy/scipy work runs on one core, so subjects per second is a one-core figure), the
models (:mod:`.bench_models`), the plugin's import time, and napari's start-up and
the event loop's longest stall (:mod:`.bench_gui`). docs/performance.md holds the
latest run and the targets.
"""

from __future__ import annotations

import numpy as np

from .bench_gate_lifted import gate_rows, lifted_rows, pose_rows
from .bench_gui import napari_rows, stall_rows
from .bench_models import (
    density_rows,
    generator_rows,
    grid_rows,
    model_rows,
    training_rows,
)
from .timing import import_time_ms, machine, row, time_ms


def run_bench(repeats: int = 10, device: str = "cpu") -> dict:
    from ..core.data.dataset import make_subject
    from ..core.sim.medium import Medium
    from ..core.sim.phantom import make_phantom
    from ..core.sim.ultrasound import simulate_views

    ph = make_phantom(28.0, 1)
    medium = Medium(ph.labels, ph.spacing_mm)
    rows = [
        row("phantom 64^3", time_ms(lambda: make_phantom(28.0, 1), repeats)),
        row(
            "simulate 3 views (given medium)",
            time_ms(lambda: simulate_views(medium, seed=1), repeats),
        ),
    ]
    subject = time_ms(lambda: make_subject(123), repeats)
    rows.append(
        row(
            "subject: skull + 3 views",
            subject,
            f"{1000.0 / np.median(subject):.1f} subjects/s on one core",
        )
    )
    rows += model_rows(repeats, device)
    rows += gate_rows(repeats, device)
    rows += pose_rows(repeats, device)
    rows += lifted_rows(repeats, device)
    rows += generator_rows(repeats, device)
    rows += training_rows(max(3, repeats // 3), device=device)
    rows += density_rows(repeats, device)
    rows += grid_rows(max(3, repeats // 2))
    rows.append(row("import napari_genmed", import_time_ms("napari_genmed")))
    rows.append(row("import napari_genmed.api", import_time_ms("napari_genmed.api")))
    rows += napari_rows()
    rows += stall_rows()
    return {"machine": machine(), "device": device, "rows": rows}
