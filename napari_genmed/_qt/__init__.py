"""The napari + Qt layer: dock widgets and the conversion of core results to layers.

Widgets are thin: each owns core objects, runs long jobs in napari workers and
turns results into layers (:mod:`.layer_data`). No model maths here.
"""
