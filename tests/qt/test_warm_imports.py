"""napari's lazy imports for the first Labels layer are made off the GUI thread."""

import sys
import threading


def test_the_lazy_imports_run_once_in_a_background_thread(monkeypatch):
    from napari_genmed._qt import jobs

    seen = []
    real = __import__("importlib").import_module

    def spy(name, *args):
        seen.append((name, threading.current_thread() is threading.main_thread()))
        return real(name, *args)

    monkeypatch.setattr(jobs, "_warming", None)
    monkeypatch.setattr(jobs, "_LAZY_IMPORTS", ("pickletools", "no_such_module_here"))
    monkeypatch.setattr("importlib.import_module", spy)
    jobs.warm_napari_imports()
    first = jobs._warming
    jobs.warm_napari_imports()  # once per process
    assert jobs._warming is first
    first.join(30)
    assert not first.is_alive()
    assert seen == [("pickletools", False), ("no_such_module_here", False)]
    assert "pickletools" in sys.modules  # a missing module is skipped, not raised


def test_the_dash_patterns_of_the_first_labels_layer_are_built_beforehand(make_napari_viewer):
    """The first Labels layer's polygon overlay reads vispy's dash patterns from the
    cache the warm-up filled: not one pattern is built on the GUI thread."""
    import numpy as np
    from vispy.visuals.line import dash_atlas

    from napari_genmed._qt import jobs

    viewer = make_napari_viewer()
    dash_atlas._make_pattern.cache_clear()
    jobs.warm_dash_patterns()
    warmed = dash_atlas._make_pattern.cache_info()
    assert warmed.currsize >= 13  # vispy's named patterns, solid to loosely dashdotdotted
    viewer.add_labels(np.zeros((8, 8, 8), dtype=np.uint8), name="mask")
    after = dash_atlas._make_pattern.cache_info()
    assert after.hits > warmed.hits  # the overlay's atlas was made, from the cache
    assert after.misses == warmed.misses
