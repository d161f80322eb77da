"""Workers cut loose as a panel or the viewer goes away."""

from napari.qt.threading import thread_worker

from napari_genmed._qt.jobs import abandon


def _sleepy():
    yield 0


def test_abandon_survives_signals_qt_already_deleted(qapp):
    """On closing, Qt may delete a worker's signal object before the panel's close
    hook abandons the worker; abandoning it must not raise (an error in a Qt slot
    aborts the process)."""
    from qtpy import sip

    worker = thread_worker(_sleepy, start_thread=False)()
    sip.delete(worker.signals)
    try:
        worker.returned  # noqa: B018  (the failure abandon must absorb)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the signals were not deleted: the test tests nothing")
    abandon(worker)  # raises RuntimeError without the guard


def test_abandon_disconnects_a_live_worker(qapp):
    worker = thread_worker(_sleepy, start_thread=False)()
    got = []
    worker.returned.connect(got.append)
    abandon(worker)
    worker.returned.emit(1)
    assert got == [], "abandon left the result connected"
