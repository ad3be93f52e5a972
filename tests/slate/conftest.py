"""A tiny SLATE (16x16 images, 4x4 tokens) so the tests exercise every path in seconds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scenecraft.slate.concepts import ConceptLibrary
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
    dvae_init_steps=5,
    batch_size=4,
)


@pytest.fixture
def tiny() -> SlateConfig:
    torch.manual_seed(0)
    return TINY


def hand_library(slot_size: int) -> ConceptLibrary:
    """Slots of two images: (background, red circle, background), (background, blue star, mixed)."""
    return ConceptLibrary(
        slots=torch.randn(6, slot_size),
        labels=["background", "red circle", "background", "background", "blue star", "mixed"],
        centres=np.array([[0.5, 0.5], [0.3, 0.3], [0.5, 0.5], [0.5, 0.5], [0.7, 0.7], [0.5, 0.5]]),
        radii=np.array([0, 0.1, 0, 0, 0.1, 0], np.float32),
        sources=np.array([0, 0, 0, 1, 1, 1]),
        cluster=np.array([0, 1, 0, 0, 2, 3]),
        names=["background", "red circle", "blue star", "mixed"],
        purity=[1.0, 1.0, 1.0, 1.0],
    )


@pytest.fixture
def library(tiny) -> ConceptLibrary:
    return hand_library(tiny.slot_size)
