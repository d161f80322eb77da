"""npe2 sample data: "Synthetic fetal head" (skull and labels, three planes at their
poses). Made on the fly from the same (GA, seed) as the files in ``sample_data/``."""

from __future__ import annotations


def sample_head():
    from ._qt.layer_data import phantom_layers
    from .core.sample import sample_scan

    scan = sample_scan()
    return phantom_layers(scan.phantom, scan.views)
