"""Compute devices: ``auto`` picks CUDA, then MPS, then the CPU, and never fails."""

from __future__ import annotations

from contextlib import contextmanager


def accelerators_possible() -> bool:
    """Whether this torch build could see a GPU, without importing torch (a second
    or more): a CPU-only build says ``cuda = None`` in ``torch/version.py``; on
    Apple silicon MPS may be present. When False, :func:`available_devices` is
    ``["cpu"]``."""
    import importlib.util
    import platform
    import re
    from pathlib import Path

    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return True
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return False
    try:
        text = (Path(spec.origin).parent / "version.py").read_text()
    except OSError:
        return True  # unknown: ask torch
    return not all(
        re.search(rf"^{name}(: .*)? = None$", text, re.M) for name in ("cuda", "hip", "xpu")
    )


def available_devices() -> list[str]:
    """Devices present on this machine: ``cpu``, ``cuda:N`` for each GPU, ``mps``."""
    import torch

    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


def resolve_device(device: str = "auto") -> str:
    import torch

    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    name = str(device)
    base = name.split(":")[0]
    if base not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps")
    index = name.split(":", 1)[1] if ":" in name else "0"
    if not index.isdigit() or base == "cpu" and ":" in name:
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps")
    if base == "cuda" and (
        not torch.cuda.is_available() or int(index) >= torch.cuda.device_count()
    ):
        raise ValueError(
            f"device {device!r} is not present here; present: {', '.join(available_devices())}"
        )
    if base == "mps" and "mps" not in available_devices():
        raise ValueError("device 'mps' is not present here")
    return name


class DeviceMemoryError(RuntimeError):
    """The accelerator ran out of memory; the message says what to do."""


@contextmanager
def out_of_memory_as_advice(what: str = "the job"):
    """Turn a CUDA (or MPS) out-of-memory error into :class:`DeviceMemoryError` with
    advice; the cached GPU memory is released so a re-run can succeed."""
    import torch

    try:
        yield
    except torch.OutOfMemoryError as exc:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise DeviceMemoryError(
            f"The GPU ran out of memory during {what} ({str(exc).splitlines()[0][:160]}). "
            "Run it again with fewer samples, or load the model on the cpu device (its results "
            "are the same)."
        ) from exc
