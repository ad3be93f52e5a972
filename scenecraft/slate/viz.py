"""Pictures of slots: a segmentation in one colour per slot, and a slot's mask as an image."""

from __future__ import annotations

import numpy as np

# distinct colours (Sasha Trubetskoy's list); slot k is drawn in PALETTE[k % len(PALETTE)]
PALETTE = np.array(
    [
        [230, 25, 75],
        [60, 180, 75],
        [255, 225, 25],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [128, 128, 128],
    ],
    np.uint8,
)


def segmentation(masks: np.ndarray) -> np.ndarray:
    """masks [K, H, W] -> [H, W, 3] uint8: each pixel in the colour of its argmax slot."""
    return PALETTE[masks.argmax(0) % len(PALETTE)]


def mask_image(mask: np.ndarray) -> np.ndarray:
    """A soft mask [H, W] in 0..1 -> [H, W, 3] uint8 grey."""
    grey = (mask.clip(0, 1) * 255).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)
