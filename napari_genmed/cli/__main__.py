"""``python -m napari_genmed.cli``: what torchrun starts for data-parallel training."""

import sys

from . import main

sys.exit(main())
