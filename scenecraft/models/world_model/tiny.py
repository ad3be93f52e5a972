"""A tiny random-weight checkpoint of the world model's architecture, saved like a real one.

For plumbing tests (SLD, SVGCraft, the backend) and for trying the pipelines without a trained
model: ``save_tiny_pipeline(path)`` writes a diffusers folder that ``from_pretrained`` loads.
"""

from __future__ import annotations

from pathlib import Path

import torch

from scenecraft.models.world_model.architecture import (
    WorldModelConfig,
    assemble_pipeline,
    build_scheduler,
    build_text_encoder,
    build_tokenizer,
    build_unet,
    build_vae,
)

TINY = WorldModelConfig(
    image_size=64,
    latent_channels=4,
    vae_channels=(16, 16, 16, 16),
    text_hidden=32,
    text_layers=1,
    text_heads=2,
    unet_channels=(32, 32, 32),
    unet_head_dim=8,
)


def save_tiny_pipeline(path: Path, cfg: WorldModelConfig = TINY, gligen: bool = True) -> Path:
    torch.manual_seed(0)
    tokenizer = build_tokenizer(cfg.max_tokens)
    unet = build_unet(cfg)
    if not gligen:
        from diffusers import UNet2DConditionModel

        unet = UNet2DConditionModel.from_config({**unet.config, "attention_type": "default"})
    pipe = assemble_pipeline(
        build_vae(cfg), build_text_encoder(cfg, tokenizer), tokenizer, unet, build_scheduler()
    )
    pipe.save_pretrained(path)
    return path
