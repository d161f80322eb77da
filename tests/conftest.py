"""Shared fixtures. Screenshots of what a user sees go to ``artifacts/`` (ignored)."""

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the on-disk caches (latent rankings) of a test run start empty and stay out of ~/.cache
os.environ.setdefault("NAPARI_GENMED_CACHE", tempfile.mkdtemp(prefix="genmed-test-cache-"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = ROOT / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def phantom28():
    from napari_genmed.core.sim.phantom import make_phantom

    return make_phantom(28.0, 5)
