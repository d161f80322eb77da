"""The viewer state the panels share: plain Python with psygnal events, no Qt."""

import pytest

from napari_genmed.state import LatentMap, ViewerState, state_of


def record(signal) -> list:
    seen: list = []
    signal.connect(lambda *args: seen.append(args))
    return seen


def test_slots_hold_only_what_the_user_assigned():
    state = ViewerState()
    assert state.views == {"axial": None, "sagittal": None, "coronal": None}
    changes = record(state.views_changed)
    state.assign("axial", "my frame", pixel_mm=0.4)
    state.assign("axial", "my frame")  # the same choice again: no event
    assert state.assigned() == {"axial": "my frame"} and state.pixel_mm["axial"] == 0.4
    assert changes == [({"axial": "my frame", "sagittal": None, "coronal": None},)]
    state.assign("axial", None)
    assert state.assigned() == {} and len(changes) == 2
    with pytest.raises(ValueError, match="unknown view"):
        state.assign("transverse", "my frame")
    with pytest.raises(ValueError, match="layer name"):
        state.assign("axial", 3)
    with pytest.raises(ValueError, match="pixel spacing"):
        state.set_pixel_mm("axial", 0.0)


def test_a_forgotten_layer_leaves_every_slot_and_the_truth():
    state = ViewerState()
    state.assign("axial", "frame")
    state.assign("coronal", "frame")
    state.set_truth("frame")
    truths = record(state.truth_changed)
    state.forget_layer("frame")
    assert state.assigned() == {} and state.truth is None and truths == [(None,)]
    state.forget_layer("never assigned")  # nothing held it: nothing happens
    assert truths == [(None,)]


def test_results_partial_and_complete():
    state = ViewerState()
    shown = record(state.result_changed)
    made = record(state.reconstructed)
    state.set_reconstruction("first", {"axial": "image"})
    assert state.result == "first" and state.source_views == {"axial": "image"}
    state.show("a latent move", partial=True)  # the threshold still re-cuts the complete one
    assert state.result == "first"
    state.show("the last move")
    assert state.result == "the last move"
    assert shown == [("first", False), ("a latent move", True), ("the last move", False)]
    assert made == [("first", {"axial": "image"})]
    with pytest.raises(ValueError, match="threshold"):
        state.set_threshold(1.0)


def test_the_latent_map_is_asked_for_and_answered_through_the_state():
    state = ViewerState()
    asked = record(state.latent_map_requested)
    answers = record(state.latent_map_changed)
    state.request_latent_map()
    summary = LatentMap(rows=3, cols=5, here=(0.5, -1.0), log_q=-12.25, span_sigma=3.0)
    state.set_latent_map(summary)
    assert asked == [()] and answers == [(summary,)]
    assert "z3 = +0.50" in summary.describe() and "-12.2 nats" in summary.describe()


def test_one_state_per_viewer_whatever_proxy_hands_it():
    class Viewer:
        pass

    class Proxy:
        def __init__(self, wrapped):
            self.__wrapped__ = wrapped

    a, b = Viewer(), Viewer()
    assert state_of(a) is state_of(Proxy(a)) is state_of(a)
    assert state_of(b) is not state_of(a)
