"""Tiny model and data settings that train in seconds (tests only)."""

from napari_genmed.core.data.dataset import DatasetConfig

TINY_DATA = dict(grid=(16, 16, 16), spacing_mm=8.0, view_shape=(32, 32), pixel_mm=4.0)
TINY_MODEL = {
    "rec-cvae": dict(
        grid=16,
        spacing_mm=8.0,
        view_size=32,
        view_pixel_mm=4.0,
        latent_dim=4,
        view_features=8,
        condition_dim=16,
        view_channels=(8, 8),
        enc_channels=(4, 8),
        dec_channels=(8, 4),
    ),
    "hirec-cvae": dict(
        grid=16,
        spacing_mm=8.0,
        view_size=32,
        view_pixel_mm=4.0,
        level_dims=(2, 2, 2),
        view_features=8,
        condition_dim=16,
        view_channels=(8, 8),
        enc_channels=(4, 8),
        dec_channels=(8, 4),
    ),
    "tl-net": dict(
        grid=16,
        spacing_mm=8.0,
        view_size=32,
        view_pixel_mm=4.0,
        code_dim=8,
        view_features=8,
        condition_dim=16,
        view_channels=(8, 8),
        enc_channels=(4, 8),
        dec_channels=(8, 4),
    ),
}
TINY_DATASET = DatasetConfig(**TINY_DATA)


def assert_seeded_sampling_and_round_trip(model, views, mask, path, flag: str) -> None:
    """A reconstruction model's sampling repeats with the same generator, gives a
    spread, and survives a checkpoint round trip (its config keeps ``flag`` on)."""
    import torch

    from napari_genmed.core.io.checkpoint import load_checkpoint, save_checkpoint

    model.eval()
    a, std = model.reconstruct(views, mask, n_samples=4, generator=torch.Generator().manual_seed(3))
    b, _ = model.reconstruct(views, mask, n_samples=4, generator=torch.Generator().manual_seed(3))
    assert a.shape == (len(views), 1, *[model.config.grid] * 3)
    assert torch.equal(a, b) and std is not None
    again, card = load_checkpoint(save_checkpoint(path, model))
    assert card["config"][flag] is True
    assert torch.equal(again.reconstruct(views, mask)[0], model.reconstruct(views, mask)[0])


#: a mental map (view generator) that trains in seconds
TINY_MAP = dict(
    channels=(8, 16, 16, 16), rep_dim=32, pose_dim=16, latent_dim=4, dec_channels=(16, 16, 16, 8, 8)
)
