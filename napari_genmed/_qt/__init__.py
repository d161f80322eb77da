"""The napari + Qt layer: dock widgets, their sections, workers, reading layers.

Widgets are thin: each owns core objects, runs core jobs in napari workers and
translates between layers and arrays (:mod:`.layers` reads layers,
:mod:`napari_genmed.layer_data` builds them). Panels share the viewer's state
(:mod:`napari_genmed.state`) and never import one another. No model maths here.
"""
