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
