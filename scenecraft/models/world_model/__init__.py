"""The embedded world model: a tiny Stable-Diffusion-architecture model trained on ShapesWorld."""
