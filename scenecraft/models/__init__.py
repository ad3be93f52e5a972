"""Model backends behind small protocols: diffusion, detection, segmentation, the world model."""
