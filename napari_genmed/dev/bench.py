"""``genmed bench``: timings of the core, p50/p95 over repeats after a warm-up.

Issue 2 measures the data pipeline (phantom, one view, a whole subject: skull and
three views) and the plugin's import time; later issues add models, sliders,
reconstruction and density maps. The simulator's numpy/scipy work runs on one
core, so subjects per second is a one-core figure.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

import numpy as np


def _time(fn, repeats: int, warmup: int = 1) -> np.ndarray:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return np.array(out) * 1000.0


def _row(name: str, ms: np.ndarray, note: str = "") -> dict:
    return {
        "name": name,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "n": int(ms.size),
        "note": note,
    }


def _import_time_ms(module: str, repeats: int = 3) -> np.ndarray:
    code = f"import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
    out = []
    for _ in range(repeats):
        res = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return np.array(out)


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def _model_rows(repeats: int, device: str = "cpu") -> list[dict]:
    """Bundled models: load time, single reconstruction from 3 views, batched
    throughput (skipped with a note when the weights are not installed)."""
    import torch

    from .. import api
    from ..core.sim.phantom import make_phantom
    from ..core.sim.ultrasound import simulate_views

    rows = []
    views = simulate_views(make_phantom(28.0, 1).labels, seed=1)
    for name in api.BUNDLED_MODELS:
        try:
            load = _time(lambda: api.load_model(name, device), max(3, repeats // 3))
        except ValueError as exc:
            rows.append(
                {
                    "name": f"{name}: load",
                    "p50_ms": float("nan"),
                    "p95_ms": float("nan"),
                    "n": 0,
                    "note": str(exc),
                }
            )
            continue
        model = api.load_model(name, device)
        rows.append(_row(f"{name}: load bundled weights", load))
        rows.append(
            _row(
                f"{name}: reconstruct, 3 views, 64^3",
                _time(lambda: api.reconstruct(model, views), repeats),
            )
        )
        batch = torch.rand(16, 3, 128, 128, device=device)
        mask = torch.ones(16, 3, device=device)
        ms = _time(lambda: model.reconstruct(batch, mask), max(2, repeats // 3))
        rows.append(
            _row(
                f"{name}: batch of 16 reconstructions",
                ms,
                f"{16000.0 / np.median(ms):.1f} volumes/s",
            )
        )
        rows += _latent_rows(name, model, views, repeats)
    return rows


def _latent_rows(name: str, model, views: dict, repeats: int) -> list[dict]:
    """A latent slider move as the explorer's worker serves it when a newer move
    waits (decode and threshold: the probability and labels layers' data) and when
    none does (+ surface and biometry), against a bare forward pass of the decoder
    with a ready input (its skull logits: a layered decoder's layers combined;
    synchronised on CUDA), measured in the same run."""
    import torch

    from ..core.nets.skull_layers import skull_logits
    from ..core.tasks.latent import LatentDirections, latent_groups, latent_reconstruction
    from ..core.tasks.latentstate import LatentState

    n = max(repeats, 20)
    dims = model.latent_dim
    directions = LatentDirections(
        (1.0,) * dims,
        tuple(range(dims)),
        latent_groups(model),
        (1.0,) * dims if model.kind == "tl-net" else None,
        "",
        0,
    )
    state = LatentState(model, directions, views)
    condition = state.condition
    device = next(model.parameters()).device
    z = torch.as_tensor(state.z, device=device)[None]
    with torch.inference_mode():
        decoder_input = model.decoder_input(z, condition)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def forward():
        skull_logits(model.decoder(decoder_input))
        sync()

    with torch.inference_mode():
        bare = _time(forward, n, warmup=3)
    rng = np.random.default_rng(0)

    def move(complete):
        state.set_value(int(rng.integers(dims)), float(rng.uniform(-3, 3)))
        r = latent_reconstruction(
            model,
            state.z,
            condition,
            tuple(views),
            0.5,
            with_surface=complete,
            with_measurements=complete,
        )
        r.mask()  # the labels layer's data

    moved = _time(lambda: move(False), n, warmup=3)
    settled = _time(lambda: move(True), n, warmup=3)
    return [
        _row(f"{name}: bare decoder forward, 64^3", bare),
        _row(
            f"{name}: latent slider move, 64^3",
            moved,
            f"{np.median(moved) / np.median(bare):.2f}x the bare decoder (probability and labels layers' data)",
        ),
        _row(
            f"{name}: latent move + surface + biometry, 64^3",
            settled,
            f"{np.median(settled) / np.median(bare):.2f}x (whenever no newer move waits, e.g. the last of a drag)",
        ),
    ]


def _generator_rows(repeats: int, device: str = "cpu") -> list[dict]:
    """Bundled view generators: one missing view from two observed slices."""
    from .. import api
    from ..core.sim.geometry import standard_pose
    from ..core.sim.phantom import make_phantom
    from ..core.sim.ultrasound import simulate_views

    views = simulate_views(make_phantom(28.0, 1).labels, seed=1, views=("axial", "sagittal"))
    query = standard_pose("coronal", views["axial"].pose.origin)
    rows = []
    for name in api.BUNDLED_VIEW_GENERATORS:
        try:
            model = api.load_model(name, device)
        except ValueError as exc:
            rows.append(
                {
                    "name": f"{name}: generate",
                    "p50_ms": float("nan"),
                    "p95_ms": float("nan"),
                    "n": 0,
                    "note": str(exc),
                }
            )
            continue
        rows.append(
            _row(
                f"{name}: generate a missing view from 2 slices",
                _time(lambda: api.generate_view(model, views, query), repeats),
            )
        )
        rows.append(
            _row(
                f"{name}: ... with 8 samples (+ std map)",
                _time(
                    lambda: api.generate_view(model, views, query, n_samples=8),
                    max(3, repeats // 3),
                ),
            )
        )
    return rows


def _training_rows(repeats: int, batch: int = 8, device: str = "cpu") -> list[dict]:
    """One optimiser step of each model at the default sizes (random data)."""
    import torch

    from ..core.nets.registry import RECONSTRUCTION_KINDS, build_model

    rows = []
    for kind in RECONSTRUCTION_KINDS:
        torch.manual_seed(0)
        model = build_model(kind).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        c = model.config
        labels = torch.randint(
            0, 10, (batch, c.grid, c.grid, c.grid), device=device, dtype=torch.uint8
        )
        data = {
            "skull": (labels == 1).unsqueeze(1).float(),
            "labels": labels,
            "views": torch.rand(batch, 3, c.view_size, c.view_size, device=device),
            "mask": torch.ones(batch, 3, device=device),
        }
        stage = "joint" if kind == "tl-net" else None

        def step():
            opt.zero_grad()
            model.training_loss(data, stage)["loss"].backward()
            opt.step()

        ms = _time(step, repeats)
        rows.append(
            _row(
                f"{kind}: training step, batch {batch}",
                ms,
                f"{batch * 1000.0 / np.median(ms):.1f} samples/s",
            )
        )
    return rows


def _density_rows(repeats: int, device: str = "cpu") -> list[dict]:
    """A density map of a 128 x 128 view with the bundled patch flow."""
    from .. import api
    from ..core.sim.phantom import make_phantom
    from ..core.sim.ultrasound import simulate_views

    try:
        flow = api.load_model("patch-flow", device)
    except ValueError as exc:
        return [
            {
                "name": "density map, 128 x 128 view",
                "p50_ms": float("nan"),
                "p95_ms": float("nan"),
                "n": 0,
                "note": str(exc),
            }
        ]
    image = simulate_views(make_phantom(28.0, 1).labels, seed=1, views=("axial",))["axial"].image
    rows = [
        _row(
            "density map, 128 x 128 view (patch flow)",
            _time(lambda: api.density_map(image, flow), repeats),
        )
    ]
    try:
        latent = api.load_model("latent-flow", device)
    except ValueError as exc:
        return rows + [
            {
                "name": "latent density map",
                "p50_ms": float("nan"),
                "p95_ms": float("nan"),
                "n": 0,
                "note": str(exc),
            }
        ]
    from ..core.tasks.latent_density import density_slice

    d = latent.config.features
    z, ones = np.zeros(d, np.float32), np.ones(d, np.float32)
    rows.append(
        _row(
            "latent density map, 64 x 64 cells (latent flow)",
            _time(lambda: density_slice(latent, z, (0, 1), ones, z, 64, 3.0), repeats),
        )
    )
    return rows


def _grid_rows(repeats: int) -> list[dict]:
    """How a decode (one volume, the HiREC-CVAE decoder widths) grows with the grid."""
    import torch

    from ..core.nets.blocks import Decoder3D

    rows = []
    for grid, channels in ((32, (64, 32, 16)), (64, (64, 64, 32, 16)), (128, (64, 64, 32, 16, 16))):
        torch.manual_seed(0)
        dec = Decoder3D(288, grid, channels).eval()
        x = torch.randn(1, 288)
        with torch.inference_mode():
            ms = _time(lambda: dec(x), repeats, warmup=2)
        rows.append(
            _row(
                f"decoder forward at {grid}^3 (one volume)",
                ms,
                f"{grid**3 / 1e3 / np.median(ms):.0f} kvoxels/ms",
            )
        )
    return rows


def _napari_rows() -> list[dict]:
    """napari start-up alone, and with the plugin's panels and sample (needs a display)."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return [
            {
                "name": "napari start-up",
                "p50_ms": float("nan"),
                "p95_ms": float("nan"),
                "n": 0,
                "note": "skipped: no display (run under xvfb-run)",
            }
        ]
    disabled = "import npe2; npe2.PluginManager.instance().disable('napari-genmed')\nimport napari; v = napari.Viewer(show=False); v.close()"
    bare = "import napari; v = napari.Viewer(show=False); v.close()"
    panel = "import napari; v = napari.Viewer(show=False); v.window.add_plugin_dock_widget('napari-genmed', 'Skull reconstruction'); v.close()"
    plugin = (
        "import napari; v = napari.Viewer(show=False)\n"
        "for p in ('Skull reconstruction', 'Latent explorer', 'Missing views', 'Flow density', 'Plane picker', 'Fetal head phantom'):\n"
        "    v.window.add_plugin_dock_widget('napari-genmed', p, tabify=True)\n"
        "v.open_sample('napari-genmed', 'fetal_head'); v.close()"
    )
    out = []
    cases = (
        ("napari start-up, plugin disabled", disabled),
        ("napari start-up, plugin installed", bare),
        ("napari start-up + the reconstruction panel", panel),
        ("napari start-up + all six panels + the sample", plugin),
    )
    for name, code in cases:
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            try:
                subprocess.run(
                    [sys.executable, "-c", code], capture_output=True, check=True, timeout=300
                )
            except (subprocess.SubprocessError, OSError) as exc:
                return out + [
                    {
                        "name": name,
                        "p50_ms": float("nan"),
                        "p95_ms": float("nan"),
                        "n": 0,
                        "note": f"failed: {exc}",
                    }
                ]
            runs.append((time.perf_counter() - t0) * 1000.0)
        out.append(_row(name, np.array(runs)))
    for row in out[1:]:
        row["note"] = f"+{row['p50_ms'] - out[0]['p50_ms']:.0f} ms over the plugin disabled"
    return out


def _stall_rows() -> list[dict]:
    """The GUI's longest event-loop stall while the demo's 64-sample reconstruction
    runs (3 runs in one demo window; needs a display)."""
    name = "GUI: longest event-loop stall during a 64-sample reconstruction (demo, 3D)"
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return [
            {
                "name": name,
                "p50_ms": float("nan"),
                "p95_ms": float("nan"),
                "n": 0,
                "note": "skipped: no display (run under xvfb-run)",
            }
        ]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "napari_genmed.dev.stall"],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        runs = json.loads(done.stdout.strip().splitlines()[-1])["runs"]
    except (subprocess.SubprocessError, OSError, ValueError, IndexError, KeyError) as exc:
        return [
            {
                "name": name,
                "p50_ms": float("nan"),
                "p95_ms": float("nan"),
                "n": 0,
                "note": f"failed: {exc}",
            }
        ]
    worst = np.array([r["max_ms"] for r in runs])
    return [
        _row(
            name,
            worst,
            f"per run: worst {', '.join(f'{w:.0f}' for w in worst)} ms; p99 of the gaps {np.median([r['p99_ms'] for r in runs]):.0f} ms",
        )
    ]


def run_bench(repeats: int = 10, device: str = "cpu") -> dict:
    from ..core.data.dataset import make_subject
    from ..core.sim.phantom import make_phantom
    from ..core.sim.ultrasound import Medium, simulate_views

    ph = make_phantom(28.0, 1)
    medium = Medium(ph.labels, ph.spacing_mm)
    rows = [
        _row("phantom 64^3", _time(lambda: make_phantom(28.0, 1), repeats)),
        _row(
            "simulate 3 views (given medium)",
            _time(lambda: simulate_views(medium, seed=1), repeats),
        ),
    ]
    subject = _time(lambda: make_subject(123), repeats)
    rows.append(
        _row(
            "subject: skull + 3 views",
            subject,
            f"{1000.0 / np.median(subject):.1f} subjects/s on one core",
        )
    )
    rows += _model_rows(repeats, device)
    rows += _generator_rows(repeats, device)
    rows += _training_rows(max(3, repeats // 3), device=device)
    rows += _density_rows(repeats, device)
    rows += _grid_rows(max(3, repeats // 2))
    rows.append(_row("import napari_genmed", _import_time_ms("napari_genmed")))
    rows.append(_row("import napari_genmed.api", _import_time_ms("napari_genmed.api")))
    rows += _napari_rows()
    rows += _stall_rows()
    return {"machine": machine(), "device": device, "rows": rows}
