"""The embedded world model: a tiny Stable-Diffusion-architecture model of ShapesWorld (training
is in ``scenecraft.training``)."""
