"""The view sets and the rows of Cerrolaza et al.'s Table 1 (MICCAI 2018): plain
constants, light to import (the command line reads them at start-up)."""

VIEW_SETS = {
    "3 views": (1.0, 1.0, 1.0),
    "axial+sagittal": (1.0, 1.0, 0.0),
    "axial only": (1.0, 0.0, 0.0),
}

#: Table 1 of Cerrolaza et al. 2018: (DC, SEN, PPV) per view set
PAPER_TABLE1 = {
    "rec-cvae": {
        "3 views": (0.91, 0.91, 0.91),
        "axial+sagittal": (0.86, 0.88, 0.87),
        "axial only": (0.83, 0.86, 0.84),
    },
    "hirec-cvae": {
        "3 views": (0.91, 0.89, 0.93),
        "axial+sagittal": (0.89, 0.90, 0.91),
        "axial only": (0.86, 0.86, 0.90),
    },
    "tl-net": {
        "3 views": (0.89, 0.93, 0.86),
        "axial+sagittal": (0.89, 0.90, 0.90),
        "axial only": (0.85, 0.88, 0.80),
    },
}
