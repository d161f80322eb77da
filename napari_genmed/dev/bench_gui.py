"""``genmed bench`` rows of the GUI: napari's start-up with the plugin and its panels,
and the longest event-loop stall while a reconstruction runs (each in a process of
its own with a display)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from .timing import row, skipped_row


def napari_rows() -> list[dict]:
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
    disabled = (
        "import npe2; npe2.PluginManager.instance().disable('napari-genmed')\nimport "
        "napari; v = napari.Viewer(show=False); v.close()"
    )
    bare = "import napari; v = napari.Viewer(show=False); v.close()"
    panel = (
        "import napari; v = napari.Viewer(show=False); "
        "v.window.add_plugin_dock_widget('napari-genmed', 'Skull reconstruction'); "
        "v.close()"
    )
    plugin = (
        "import napari; v = napari.Viewer(show=False)\n"
        "for p in ('Skull reconstruction', 'Latent explorer', 'Missing views', 'Flow density', "
        "'Plane picker', 'Fetal head phantom'):\n"
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
        out.append(row(name, np.array(runs)))
    for r in out[1:]:
        r["note"] = f"+{r['p50_ms'] - out[0]['p50_ms']:.0f} ms over the plugin disabled"
    return out


def stall_rows() -> list[dict]:
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
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        runs = measured["runs"]
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
    shown = np.array([r["show_max_ms"] for r in runs])
    return [
        row(
            name,
            worst,
            f"per run: worst {', '.join(f'{w:.0f}' for w in worst)} ms; p99 of the gaps "
            f"{np.median([r['p99_ms'] for r in runs]):.0f} ms",
        ),
        row(
            "GUI: longest stall while the first result goes on screen (its layers added "
            "one per turn, their first paints)",
            shown[:1],
            "target <= 100 ms; napari's add of each layer, Qt's layout of its row and "
            "controls, the first paint of its visuals (once per window)",
        ),
        row(
            "GUI: longest stall while a later result goes on screen (layers updated in "
            "place, the next 3D paint)",
            shown[1:],
            "target <= 100 ms; the 3D paint is the next row",
        )
        if shown.size > 1
        else skipped_row("GUI: longest stall while a later result goes on screen", "one run"),
        row(
            "GUI: one 3D paint of the demo scene with the result (off-screen render; "
            "what a slider step or a new result waits for)",
            np.asarray(measured.get("paint_ms") or [float("nan")]),
            "the planes drawn flat (_qt/plane_visuals.py); software GL on this box",
        ),
        row(
            "GUI: a latent slider step until the canvas has drawn it (demo, 3D, top slider)",
            np.asarray(measured.get("slider_ms") or [float("nan")]),
            "target <= 100 ms in 3D; decode, layers updated in place, the next paint",
        ),
    ]
