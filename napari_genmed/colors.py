"""The colours the product's layers and preview tiles are drawn in (napari colormap
specs and label colour dicts; no Qt or napari import)."""

#: gray, with black (the background outside the fan) transparent so that in 3D the
#: skull shows around and through the slices
VIEW_COLORMAP = {
    "name": "gray (black transparent)",
    "colors": [[0.0, 0.0, 0.0, 0.0], [0.03, 0.03, 0.03, 1.0], [1.0, 1.0, 1.0, 1.0]],
    "controls": [0.0, 0.02, 1.0],
}
SKULL_SURFACE_COLORMAP = {
    "name": "bone surface",
    "colors": [[0.93, 0.87, 0.75, 1.0], [0.93, 0.87, 0.75, 1.0]],
}
RECONSTRUCTION_COLORMAP = {
    "name": "reconstruction surface",
    "colors": [[1.0, 0.62, 0.25, 1.0], [1.0, 0.62, 0.25, 1.0]],
}
#: the label values of sim/labels.py as the anatomy layers and tiles show them (RGBA):
#: bone bone-white, fluid spaces blue/cyan, the midline yellow, thalami orange
ANATOMY_COLORS = {
    None: (0.0, 0.0, 0.0, 0.0),
    0: (0.0, 0.0, 0.0, 0.0),  # fluid: transparent
    1: (0.93, 0.87, 0.75, 1.0),  # skull bone
    2: (0.55, 0.55, 0.6, 1.0),  # brain
    3: (1.0, 0.85, 0.1, 1.0),  # falx (midline)
    4: (0.3, 0.9, 0.9, 1.0),  # cavum septi pellucidi
    5: (0.2, 0.45, 1.0, 1.0),  # lateral ventricle
    6: (0.9, 0.3, 0.8, 1.0),  # choroid plexus
    7: (1.0, 0.55, 0.2, 1.0),  # thalamus
    8: (0.6, 0.4, 0.3, 1.0),  # scalp
    9: (0.3, 0.8, 0.3, 1.0),  # suture / fontanelle
}
SKULL_COLORS = {
    None: (0.0, 0.0, 0.0, 0.0),
    0: (0.0, 0.0, 0.0, 0.0),
    1: (0.93, 0.87, 0.75, 1.0),
}  #: bone
