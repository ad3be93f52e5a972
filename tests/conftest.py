"""Fixtures shared across the suite: tiny random-weight diffusers checkpoints saved offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from scenecraft.models.world_model.tiny import save_tiny_pipeline  # noqa: E402


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="session")
def tiny_sd_plain(tmp_path_factory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd-plain"), gligen=False)


@pytest.fixture(scope="session")
def tiny_sd_layout(tmp_path_factory) -> Path:
    """The tiny checkpoint with a layout map beside GLIGEN, as the shipped model has."""
    from dataclasses import replace

    from scenecraft.models.world_model.tiny import TINY

    return save_tiny_pipeline(
        tmp_path_factory.mktemp("tiny-sd-layout"), replace(TINY, layout_map=True)
    )


@pytest.fixture
def world_model(tiny_sd, monkeypatch) -> Path:
    """Settings point at the tiny random GLIGEN checkpoint (plumbing tests of sld / svgcraft)."""
    from scenecraft.core.settings import get_settings

    monkeypatch.setenv("SCENECRAFT_WORLD_MODEL", str(tiny_sd))
    get_settings.cache_clear()
    yield tiny_sd
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def tiny_owl(tmp_path_factory) -> str:
    """A tiny random OWLv2 checkpoint (the world model's tokenizer), saved for offline loading."""
    from transformers import (
        Owlv2Config,
        Owlv2ForObjectDetection,
        Owlv2ImageProcessor,
        Owlv2Processor,
    )

    from scenecraft.models.world_model.architecture import build_tokenizer

    tok = build_tokenizer(16)
    text = dict(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=16,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    vision = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=64,
        patch_size=16,
    )
    cfg = Owlv2Config(text_config=text, vision_config=vision, projection_dim=32)
    path = tmp_path_factory.mktemp("owlv2")
    Owlv2ForObjectDetection(cfg).save_pretrained(path)
    proc = Owlv2Processor(
        image_processor=Owlv2ImageProcessor(size={"height": 64, "width": 64}), tokenizer=tok
    )
    proc.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_sam(tmp_path_factory) -> str:
    """A tiny random SAM checkpoint for 64 px inputs, saved for offline loading."""
    from transformers import SamConfig, SamImageProcessor, SamModel, SamProcessor
    from transformers.models.sam.configuration_sam import (
        SamMaskDecoderConfig,
        SamPromptEncoderConfig,
        SamVisionConfig,
    )

    cfg = SamConfig(
        vision_config=SamVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=64,
            patch_size=16,
            output_channels=16,
            global_attn_indexes=[0],
            mlp_dim=64,
            num_pos_feats=8,
        ),
        prompt_encoder_config=SamPromptEncoderConfig(
            hidden_size=16, image_size=64, patch_size=16, mask_input_channels=4
        ),
        mask_decoder_config=SamMaskDecoderConfig(
            hidden_size=16,
            mlp_dim=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            iou_head_hidden_dim=16,
        ),
    )
    path = tmp_path_factory.mktemp("sam")
    SamModel(cfg).save_pretrained(path)
    SamProcessor(
        image_processor=SamImageProcessor(
            size={"longest_edge": 64},
            pad_size={"height": 64, "width": 64},
            mask_size={"longest_edge": 16},
            mask_pad_size={"height": 16, "width": 16},
        )
    ).save_pretrained(path)
    return str(path)
