"""The numerical core of napari-genmed: numpy and torch only, never Qt or napari.

Modules, each one concept:

- :mod:`.labels`     label values of phantom volumes and their acoustic properties
- :mod:`.biometry`   INTERGROWTH-21st and Hadlock fetal head size formulas
- :mod:`.geometry`   plane poses, standard planes, pose jitter, plane sampling
- :mod:`.phantom`    procedural fetal skull (vault, plates, sutures, fontanelles)
- :mod:`.brain`      intracranial landmarks of the standard planes
- :mod:`.ultrasound` B-mode simulation of any plane through a label volume
- :mod:`.dataset`    torch ``Dataset`` of phantoms and their simulated planes
- :mod:`.nifti`, :mod:`.dicom`, :mod:`.frames`  file formats, read and validated
- :mod:`.sample`     the bundled sample head (files under ``sample_data/``)

Nothing is imported here so that ``import napari_genmed.core`` stays cheap.
"""
