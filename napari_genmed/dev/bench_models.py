"""``genmed bench`` rows of the models: loading, reconstruction, latent moves, view
generation, training steps, density maps and the decoder's growth with the grid."""

from __future__ import annotations

import numpy as np

from .timing import row, skipped_row, time_ms


def model_rows(repeats: int, device: str = "cpu") -> list[dict]:
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
            load = time_ms(lambda: api.load_model(name, device), max(3, repeats // 3))
        except ValueError as exc:
            rows.append(skipped_row(f"{name}: load", str(exc)))
            continue
        model = api.load_model(name, device)
        rows.append(row(f"{name}: load bundled weights", load))
        rows.append(
            row(
                f"{name}: reconstruct, 3 views, 64^3",
                time_ms(lambda: api.reconstruct(model, views), repeats),
            )
        )
        batch = torch.rand(16, 3, 128, 128, device=device)
        mask = torch.ones(16, 3, device=device)
        ms = time_ms(lambda: model.reconstruct(batch, mask), max(2, repeats // 3))
        rows.append(
            row(
                f"{name}: batch of 16 reconstructions",
                ms,
                f"{16000.0 / np.median(ms):.1f} volumes/s",
            )
        )
        rows += latent_rows(name, model, views, repeats)
    return rows


def latent_rows(name: str, model, views: dict, repeats: int) -> list[dict]:
    """A latent slider move as the explorer's worker serves it when a newer move
    waits (decode and threshold: the probability and labels layers' data) and when
    none does (+ surface and biometry), against a bare forward pass of the decoder
    with a ready input (its skull logits: a layered decoder's layers combined;
    synchronised on CUDA), measured in the same run."""
    import torch

    from ..core.nets.skull_layers import skull_logits
    from ..core.tasks.latent import latent_reconstruction
    from ..core.tasks.latent_ranking import LatentDirections, latent_groups
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
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def forward():  # the decoder alone (its input a concatenation; a lifted one's skips ready)
        skull_logits(model.decode_raw(z, condition))
        sync()

    with torch.inference_mode():
        bare = time_ms(forward, n, warmup=3)
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

    moved = time_ms(lambda: move(False), n, warmup=3)
    settled = time_ms(lambda: move(True), n, warmup=3)
    return [
        row(f"{name}: bare decoder forward, 64^3", bare),
        row(
            f"{name}: latent slider move, 64^3",
            moved,
            f"{np.median(moved) / np.median(bare):.2f}x the bare decoder (probability and labels "
            "layers' data)",
        ),
        row(
            f"{name}: latent move + surface + biometry, 64^3",
            settled,
            f"{np.median(settled) / np.median(bare):.2f}x (whenever no newer move waits, e.g. the "
            "last of a drag)",
        ),
    ]


def generator_rows(repeats: int, device: str = "cpu") -> list[dict]:
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
            rows.append(skipped_row(f"{name}: generate", str(exc)))
            continue
        rows.append(
            row(
                f"{name}: generate a missing view from 2 slices",
                time_ms(lambda: api.generate_view(model, views, query), repeats),
            )
        )
        rows.append(
            row(
                f"{name}: ... with one B-mode sample (texture)",
                time_ms(lambda: api.generate_view(model, views, query, texture=True), repeats),
            )
        )
        rows.append(
            row(
                f"{name}: ... with 8 samples (+ std map)",
                time_ms(
                    lambda: api.generate_view(model, views, query, n_samples=8),
                    max(3, repeats // 3),
                ),
            )
        )
    return rows


def training_rows(repeats: int, batch: int = 8, device: str = "cpu") -> list[dict]:
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

        ms = time_ms(step, repeats)
        rows.append(
            row(
                f"{kind}: training step, batch {batch}",
                ms,
                f"{batch * 1000.0 / np.median(ms):.1f} samples/s",
            )
        )
    return rows


def density_rows(repeats: int, device: str = "cpu") -> list[dict]:
    """A density map of a 128 x 128 view with the bundled patch flow."""
    from .. import api
    from ..core.sim.phantom import make_phantom
    from ..core.sim.ultrasound import simulate_views

    try:
        flow = api.load_model("patch-flow", device)
    except ValueError as exc:
        return [skipped_row("density map, 128 x 128 view", str(exc))]
    image = simulate_views(make_phantom(28.0, 1).labels, seed=1, views=("axial",))["axial"].image
    rows = [
        row(
            "density map, 128 x 128 view (patch flow)",
            time_ms(lambda: api.density_map(image, flow), repeats),
        )
    ]
    try:
        latent = api.load_model("latent-flow", device)
    except ValueError as exc:
        return rows + [skipped_row("latent density map", str(exc))]
    from ..core.tasks.latent_density import density_slice

    d = latent.config.features
    z, ones = np.zeros(d, np.float32), np.ones(d, np.float32)
    rows.append(
        row(
            "latent density map, 64 x 64 cells (latent flow)",
            time_ms(lambda: density_slice(latent, z, (0, 1), ones, z, 64, 3.0), repeats),
        )
    )
    return rows


def grid_rows(repeats: int) -> list[dict]:
    """How a decode (one volume, the HiREC-CVAE decoder widths) grows with the grid."""
    import torch

    from ..core.nets.blocks import Decoder3D

    rows = []
    for grid, channels in ((32, (64, 32, 16)), (64, (64, 64, 32, 16)), (128, (64, 64, 32, 16, 16))):
        torch.manual_seed(0)
        dec = Decoder3D(288, grid, channels).eval()
        x = torch.randn(1, 288)
        with torch.inference_mode():
            ms = time_ms(lambda: dec(x), repeats, warmup=2)
        rows.append(
            row(
                f"decoder forward at {grid}^3 (one volume)",
                ms,
                f"{grid**3 / 1e3 / np.median(ms):.0f} kvoxels/ms",
            )
        )
    return rows
