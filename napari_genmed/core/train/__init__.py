"""Training jobs: the reconstruction models (settings, batches, the loop and its
resume state), the view generators, the patch and toy flows, the latent flow."""
