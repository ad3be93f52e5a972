"""A tiny SLATE (16x16 images, 4x4 tokens) so the tests exercise every path in seconds."""

from __future__ import annotations

import pytest
import torch

from scenecraft.slate.config import SlateConfig

# one thread: tiny matrices gain nothing from two, and spinning threads stall on a shared CPU
torch.set_num_threads(1)

TINY = SlateConfig(
    image_size=16,
    vocab_size=16,
    dvae_hidden=8,
    d_model=16,
    n_blocks=1,
    n_heads=2,
    num_slots=3,
    slot_size=16,
    slot_mlp_hidden=16,
    mixture_hidden=8,
    tau_steps=4,
    batch_size=4,
)


@pytest.fixture
def tiny() -> SlateConfig:
    torch.manual_seed(0)
    return TINY
