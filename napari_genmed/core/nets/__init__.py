"""The networks: shared blocks, view conditioning, the interface every reconstruction
model shares, losses and latent Gaussians, REC-CVAE, HiREC-CVAE, TL-net, the warm
start, the mental map and its spatial scene code, and the registry of kinds."""
