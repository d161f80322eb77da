"""Datasets: phantom heads with their simulated views (training and held-out splits,
cached), scenes of slices for the view generators, patches for the flows, and the
sample head's files."""
