"""Files in and out, each read and validated before use: NIfTI volumes, DICOM and
PNG / TIFF frames, surface meshes, safetensors checkpoints (never pickles) and the
bundled weights with their SHA-256 manifest."""
