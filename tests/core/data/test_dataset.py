import numpy as np
import pytest
import torch

from napari_genmed.core.data.dataset import DatasetConfig, PhantomDataset, subject_seed

SMALL = DatasetConfig(grid=(32, 32, 32), spacing_mm=4.0, view_shape=(64, 64), pixel_mm=2.0)


def test_items_are_reproducible_and_typed():
    ds = PhantomDataset("train", 4, SMALL)
    a, b = ds[1], PhantomDataset("train", 4, SMALL)[1]
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert a["skull"].shape == (1, 32, 32, 32) and a["skull"].dtype == torch.float32
    assert a["labels"].shape == (32, 32, 32) and a["labels"].dtype == torch.uint8
    assert a["views"].shape == (3, 64, 64) and a["poses"].shape == (3, 10)
    assert 16.0 <= float(a["ga"]) <= 38.0 and float(a["biometry"][3]) == pytest.approx(
        float(a["ga"])
    )
    assert torch.equal(a["skull"][0] > 0, a["labels"] == 1)
    assert not torch.equal(ds[0]["skull"], ds[1]["skull"])


def test_splits_are_disjoint():
    train = {subject_seed("train", i) for i in range(1000)}
    val = {subject_seed("val", i) for i in range(1000)}
    test = {subject_seed("test", i) for i in range(1000)}
    assert not (train & val or train & test or val & test)
    with pytest.raises(ValueError):
        subject_seed("holdout", 0)


def test_disk_cache_round_trip(tmp_path):
    ds = PhantomDataset("val", 2, SMALL, cache_dir=tmp_path)
    first = ds.arrays(0)
    files = list(tmp_path.rglob("*.npz"))
    assert len(files) == 1
    again = PhantomDataset("val", 2, SMALL, cache_dir=tmp_path).arrays(0)
    for key in first:
        assert np.array_equal(first[key], again[key])
    files[0].write_bytes(b"broken")  # a damaged cache entry is remade, not trusted
    assert np.array_equal(
        PhantomDataset("val", 2, SMALL, cache_dir=tmp_path).arrays(0)["labels"], first["labels"]
    )


def test_feeds_a_dataloader():
    loader = torch.utils.data.DataLoader(PhantomDataset("train", 4, SMALL), batch_size=2)
    batch = next(iter(loader))
    assert batch["views"].shape == (2, 3, 64, 64)


def test_parallel_fill_makes_the_same_items(tmp_path):
    serial = PhantomDataset("train", 3, SMALL, cache_dir=tmp_path / "a")
    parallel = PhantomDataset("train", 3, SMALL, cache_dir=tmp_path / "b")
    assert serial.fill_cache() == 3 and parallel.fill_cache(workers=2) == 3
    assert parallel.fill_cache(workers=2) == 0  # nothing left to make
    stacked = parallel.stacked(("labels", "views"))
    assert stacked["labels"].shape == (3, *SMALL.grid) and stacked["views"].shape == (3, 3, 64, 64)
    for i in range(3):
        a, b = serial.arrays(i), parallel.arrays(i)
        assert all(np.array_equal(a[k], b[k]) for k in a)
        assert np.array_equal(stacked["labels"][i], a["labels"])
    with pytest.raises(ValueError, match="cache_dir"):
        PhantomDataset("train", 3, SMALL).fill_cache()


def test_a_dataset_of_several_shape_families():
    """Subjects draw their family by seed; the held-out family is refused for training;
    the phantom-only key is that of caches made before families existed."""
    from napari_genmed.core.data.dataset import DatasetConfig, PhantomDataset, subject_family
    from napari_genmed.core.sim.families import FAMILIES, TRAINING

    small = dict(grid=(32, 32, 32), spacing_mm=4.0, view_shape=(32, 32), pixel_mm=4.0)
    mixed = DatasetConfig(**small, families=TRAINING)
    drawn = {subject_family(seed, mixed) for seed in range(40)}
    assert drawn == set(TRAINING)
    item = PhantomDataset("val", 3, mixed).arrays(0)
    assert FAMILIES[int(item["family"])] == subject_family(10_000_000, mixed)
    with pytest.raises(ValueError, match="held out"):
        PhantomDataset("train", 3, DatasetConfig(**small, families=("phantom", "deformed")))
    PhantomDataset("test", 3, DatasetConfig(**small, families=("deformed",)))  # evaluation: fine
    with pytest.raises(ValueError, match="unknown shape family"):
        DatasetConfig(families=("cube",))
    assert DatasetConfig().key() == DatasetConfig(families=("phantom",)).key() != mixed.key()
