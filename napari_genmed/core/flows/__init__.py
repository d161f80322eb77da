"""Normalizing flows: Glow on view patches (the density maps), zuko's vector flows
(RealNVP, MAF), the patch grid they read, and the 2D teaching toy."""
