"""What a user asks for, as functions and jobs: views brought to a model, the skull
reconstructed, a missing view generated, planes through a volume, the latent space
(conditions, ranking, an explorer's state, its density), density maps of views."""
