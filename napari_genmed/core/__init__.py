"""The numerical core of napari-genmed: numpy and torch only, never Qt or napari.

Organised by role (docs/design.md, "Layers", has the import rules):

- :mod:`.sim`      the synthetic world: labels, biometry charts, plane geometry, the
  phantom and its brain landmarks, the acoustic medium, the B-mode renderer, a scan
- :mod:`.data`     datasets of phantoms and scenes, their caches, the sample head,
  patches for the flows
- :mod:`.io`       files (NIfTI, DICOM, frames, meshes), checkpoints, bundled weights
- :mod:`.nets`     the networks and their losses, and the registry of model kinds
- :mod:`.flows`    normalizing flows
- :mod:`.metrics`  overlap, image similarity, biometry of a reconstructed volume
- :mod:`.tasks`    what a user asks for: reconstruction, view generation, latent
  exploration, density maps, planes through a volume
- :mod:`.train`, :mod:`.eval`  training and evaluation jobs
- :mod:`.progress`, :mod:`.devices`  typed job progress, compute devices (shared)

Nothing is imported here so that ``import napari_genmed.core`` stays cheap.
"""
