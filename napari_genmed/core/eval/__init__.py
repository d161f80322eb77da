"""Evaluation jobs on held-out data: Table 1 and its targets, the ceiling of what the
views determine, missing views, density maps; the paper's rows and view sets."""
