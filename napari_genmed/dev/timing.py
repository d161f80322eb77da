"""Timing helpers of ``genmed bench``: p50 / p95 over repeats after a warm-up, import
times in fresh interpreters, and a description of the machine."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time

import numpy as np


def time_ms(fn, repeats: int, warmup: int = 1) -> np.ndarray:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return np.array(out) * 1000.0


def row(name: str, ms: np.ndarray, note: str = "") -> dict:
    return {
        "name": name,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "n": int(ms.size),
        "note": note,
    }


def skipped_row(name: str, why: str) -> dict:
    """A row that could not be measured (weights not installed, say), with the reason."""
    return {"name": name, "p50_ms": float("nan"), "p95_ms": float("nan"), "n": 0, "note": why}


def import_time_ms(module: str, repeats: int = 3) -> np.ndarray:
    code = (
        f"import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - "
        "t) * 1000)"
    )
    out = []
    for _ in range(repeats):
        res = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return np.array(out)


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )
