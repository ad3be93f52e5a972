"""A training config for seconds-long runs on tiny models (tests, smoke runs)."""

from __future__ import annotations

from scenecraft.training.world_model import TrainConfig


def tiny_train_config(**overrides) -> TrainConfig:
    """A ``TrainConfig`` for a seconds-long run of ``train`` on a tiny model: a few VAE and UNet
    steps, a handful of cached latents, an eval and a checkpoint at every chance."""
    base = dict(
        vae_steps=2,
        vae_batch=2,
        vae_crop=16,
        n_latents=8,
        unet_steps=2,
        batch=4,
        eval_every=2,
        eval_samples=2,
        checkpoint_s=0,
        log_every=1,
    )
    return TrainConfig(**(base | overrides))
