"""Developer tools: ``genmed bench`` (timing rows and their helpers), ``genmed
bundle`` (weights and measurements into the package) and the GUI stall meter."""
