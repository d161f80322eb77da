"""Checkpoints: safetensors weights with everything needed to rebuild the model.

A checkpoint is one ``.safetensors`` file. Its metadata (string -> string) holds
``format``, ``kind``, ``config`` (JSON), ``grid``, ``spacing_mm``, ``recipe``
(JSON: the training recipe), ``metrics`` (JSON), ``version`` and any extras.
Loading never unpickles anything: pickle-based files (``.pt``, ``.pth``,
``.ckpt``) are refused with a hint at ``genmed convert``. Before any weight is
used the header is size-capped, the tensor count capped, and every tensor's
name, shape and dtype checked against the architecture rebuilt from the config.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

FORMAT = "napari-genmed/1"
MAX_HEADER_BYTES = 16 * 2**20  #: a safetensors JSON header larger than this is refused
MAX_TENSORS = 4096
PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin"}
_DTYPES = {
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "F64": "float64",
    "I64": "int64",
    "I32": "int32",
    "U8": "uint8",
    "BOOL": "bool",
}


def _version() -> str:
    from ... import __version__

    return __version__


def save_checkpoint(
    path, model, recipe: dict | None = None, metrics: dict | None = None, extra: dict | None = None
) -> Path:
    """Write ``model`` (a registered model: skull reconstruction or view generator) to ``path``."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"{path}: checkpoints are .safetensors files")
    meta = {
        "format": FORMAT,
        "kind": model.kind,
        "config": json.dumps(model.config_dict()),
        "grid": str(getattr(model.config, "grid", model.config.__dict__.get("size", ""))),
        "spacing_mm": str(
            getattr(model.config, "spacing_mm", getattr(model.config, "pixel_mm", ""))
        ),
        "recipe": json.dumps(recipe or {}),
        "metrics": json.dumps(metrics or {}),
        "version": _version(),
    }
    for key, value in (extra or {}).items():
        meta[key] = value if isinstance(value, str) else json.dumps(value)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.safetensors")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)
    return path


def read_header(path) -> tuple[dict, dict]:
    """``(metadata, tensor table)`` of a safetensors file, read and validated
    without touching the weights."""
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ValueError(
            f"{path.name}: pickle-based checkpoints can run code when loaded and are refused. "
            f"Convert it once with `genmed convert {path.name}` (weights only), then load the "
            ".safetensors file."
        )
    if path.suffix.lower() != ".safetensors":
        raise ValueError(f"{path.name}: not a .safetensors checkpoint")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            raw = f.read(8)
            if len(raw) != 8:
                raise ValueError("file too short")
            (n,) = struct.unpack("<Q", raw)
            if n > MAX_HEADER_BYTES or n + 8 > size:
                raise ValueError(f"header of {n} bytes is implausible for a {size}-byte file")
            header = json.loads(f.read(n))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path.name}: not a readable safetensors file ({exc})") from exc
    if not isinstance(header, dict):
        raise ValueError(f"{path.name}: malformed safetensors header")
    meta = header.pop("__metadata__", {}) or {}
    if not isinstance(meta, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
    ):
        raise ValueError(f"{path.name}: safetensors metadata must map strings to strings")
    if len(header) > MAX_TENSORS:
        raise ValueError(f"{path.name}: {len(header)} tensors is more than any model here has")
    for name, entry in header.items():
        try:
            start, end = entry["data_offsets"]
            if not (0 <= start <= end <= size - 8 - n):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"{path.name}: tensor {name!r} lies outside the file (truncated or corrupt)"
            ) from None
    return meta, header


def load_checkpoint(path, device: str = "cpu"):
    """Rebuild the model a checkpoint describes and load its weights (eval mode).
    Returns ``(model, metadata)`` with JSON fields decoded."""
    import torch
    from safetensors.torch import load_file

    from ..nets.registry import build_model, config_from_dict

    path = Path(path)
    meta, table = read_header(path)
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{path.name}: not a napari-genmed checkpoint (format {meta.get('format')!r})"
        )
    try:
        kind = meta["kind"]
        info = {k: json.loads(meta[k]) for k in ("config", "recipe", "metrics")}
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{path.name}: checkpoint metadata is incomplete ({exc})") from exc
    config = config_from_dict(kind, info["config"])
    try:
        with torch.device("meta"):  # the architecture's shapes, without allocating anything
            expected = build_model(kind, config).state_dict()
    except (
        RuntimeError,
        NotImplementedError,
    ):  # zuko's flows cannot be built on meta; they are small
        expected = build_model(kind, config).state_dict()
    missing = sorted(set(expected) - set(table))
    unexpected = sorted(set(table) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path.name}: weights do not match the {kind} architecture of its config "
            f"(missing {missing[:3]}{'...' if len(missing) > 3 else ''}, unexpected "
            f"{unexpected[:3]}{'...' if len(unexpected) > 3 else ''})"
        )
    for name, tensor in expected.items():
        entry = table[name]
        dtype = _DTYPES.get(entry.get("dtype"), entry.get("dtype"))
        if list(entry.get("shape", [])) != list(tensor.shape) or dtype != str(tensor.dtype).replace(
            "torch.", ""
        ):
            raise ValueError(
                f"{path.name}: tensor {name} is {entry.get('dtype')} {entry.get('shape')}, "
                f"the config's architecture needs {tensor.dtype} {list(tensor.shape)}"
            )
    needed = sum(t.numel() * t.element_size() for t in expected.values())
    if needed > path.stat().st_size:
        raise ValueError(
            f"{path.name}: the config asks for {needed} bytes of weights, the file holds fewer"
        )
    model = build_model(kind, config)
    try:
        weights = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for corrupt data
        raise ValueError(f"{path.name}: weights could not be read ({exc})") from exc
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"{path.name}: tensor {name} holds NaN or infinite values")
    model.load_state_dict(weights)
    model.eval()
    info.update({k: v for k, v in meta.items() if k not in info})
    return model.to(device), info


def load_model(name_or_path, device: str = "auto"):
    """A bundled model by name (SHA-256 verified) or a checkpoint file, in eval mode on
    ``device`` (``auto``: CUDA, then MPS, then the CPU), with its card (config,
    recipe, metrics) as ``model.card``."""
    from ..devices import resolve_device
    from .bundled import ALL, bundled_path

    if not isinstance(name_or_path, (str, Path)):
        raise ValueError(
            "load_model takes a bundled model's name or a checkpoint path, not "
            f"{type(name_or_path).__name__}"
        )
    dev = resolve_device(device)
    path = bundled_path(name_or_path) if name_or_path in ALL else Path(name_or_path)
    if not path.exists():
        raise ValueError(
            f"no model named {name_or_path!r}: not a bundled model ({', '.join(ALL)}) nor a file"
        )
    model, card = load_checkpoint(path, dev)
    model.card = card
    return model
