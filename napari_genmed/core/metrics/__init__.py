"""Measures of a result: overlap and surface distances of volumes, similarity of
images, and the biometry (BPD, OFD, HC, GA) of a reconstructed skull."""
