"""Compute devices: ``auto`` picks CUDA, then MPS, then the CPU, and never fails."""

from __future__ import annotations


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
    if base == "cuda" and (not torch.cuda.is_available() or (":" in name and int(name.split(":")[1]) >= torch.cuda.device_count())):
        raise ValueError(f"device {device!r} is not present here; present: {', '.join(available_devices())}")
    if base == "mps" and "mps" not in available_devices():
        raise ValueError("device 'mps' is not present here")
    return name
