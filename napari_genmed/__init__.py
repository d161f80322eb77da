"""napari-genmed: generative models for fetal ultrasound in napari.

Importing the package is cheap on purpose: it imports neither torch nor napari.
The numerical core lives in :mod:`napari_genmed.core`, the public facade in
:mod:`napari_genmed.api`, the napari layer in :mod:`napari_genmed._qt`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("napari-genmed")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
