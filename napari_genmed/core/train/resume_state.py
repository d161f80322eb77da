"""What a training run keeps beside its checkpoints to resume exactly: the
optimizer's state, the counters and schedule, and every process's random streams
(rank 0's in ``train_state.safetensors``, each further process's in
``rng.rankN.safetensors``). All safetensors, each written whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path


def _rng_tensors(rng, all_devices: bool) -> dict:
    """The random streams of this process: the view-mask generator, torch's CPU
    generator (the reparameterisation noise) and the CUDA one(s)."""
    import torch

    tensors = {"rng": rng.get_state(), "torch_rng": torch.get_rng_state()}
    if torch.cuda.is_available():
        if all_devices:
            for i, state in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"cuda_rng.{i}"] = state
        else:
            tensors["cuda_rng"] = torch.cuda.get_rng_state()  # this process's device
    return tensors


def _set_rng(tensors: dict, rng) -> None:
    import torch

    rng.set_state(tensors["rng"])
    torch.set_rng_state(tensors["torch_rng"])
    if torch.cuda.is_available():
        if "cuda_rng" in tensors:
            torch.cuda.set_rng_state(tensors["cuda_rng"])
        cuda = [tensors[k] for k in sorted(tensors) if k.startswith("cuda_rng.")]
        if cuda:
            torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])


def save_state(path: Path, optimizer, counters: dict, rng) -> None:
    import torch

    sd = optimizer.state_dict()
    tensors = _rng_tensors(rng, all_devices=True)
    for idx, state in sd["state"].items():
        for key, value in state.items():
            tensors[f"state.{idx}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    _save_whole(
        path,
        tensors,
        {"param_groups": json.dumps(sd["param_groups"]), "counters": json.dumps(counters)},
    )


def _save_whole(path: Path, tensors: dict, meta: dict | None = None) -> None:
    """Write beside ``path``, then rename: a run stopped while saving leaves the old file."""
    from safetensors.torch import save_file

    tmp = path.with_suffix(".tmp.safetensors")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)


def load_state(path: Path, optimizer=None, rng=None) -> dict:
    """Counters of a saved training state; restores the optimizer and RNG if given."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if optimizer is not None:
        state: dict = {}
        for name, value in tensors.items():
            if name.startswith("state."):
                _, idx, key = name.split(".", 2)
                state.setdefault(int(idx), {})[key] = value
        optimizer.load_state_dict(
            {"state": state, "param_groups": json.loads(meta["param_groups"])}
        )
    if rng is not None:
        _set_rng(tensors, rng)
    return json.loads(meta["counters"])


def rank_rng_path(out: Path, rank: int) -> Path:
    return out / f"rng.rank{rank}.safetensors"


def save_rank_rng(path: Path, rng) -> None:
    """A process other than rank 0 keeps its own random streams (view masks, noise)
    beside the training state, so a resumed data-parallel run draws what it would have."""
    _save_whole(path, _rng_tensors(rng, all_devices=False))


def load_rank_rng(path: Path, rng) -> None:
    from safetensors import safe_open

    if not path.exists():
        raise ValueError(
            f"cannot resume exactly: {path.name} is missing (resume with as many processes as the "
            "run had)"
        )
    with safe_open(str(path), "pt") as f:
        _set_rng({k: f.get_tensor(k) for k in f.keys()}, rng)
