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
