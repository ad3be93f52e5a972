"""Degradations that mimic generated images: blur, noise, JPEG, colour drift, low resolution."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

DEGRADATIONS: tuple[str, ...] = ("blur", "noise", "jpeg40", "color_jitter", "downscale64")


def degrade(image: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """Apply one named degradation to an [H, W, 3] uint8 image (deterministic given ``seed``)."""
    rng = np.random.default_rng(seed)
    pil = Image.fromarray(image)
    if kind == "blur":
        return np.asarray(pil.filter(ImageFilter.GaussianBlur(radius=1.5)))
    if kind == "noise":
        noisy = image.astype(np.float32) + rng.normal(0, 12.0, image.shape)
        return noisy.clip(0, 255).round().astype(np.uint8)
    if kind == "jpeg40":
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=40)
        return np.asarray(Image.open(buf).convert("RGB"))
    if kind == "color_jitter":
        gain = rng.uniform(0.9, 1.1, size=3)  # per channel: a colour cast, not just brightness
        return (image.astype(np.float32) * gain).clip(0, 255).round().astype(np.uint8)
    if kind == "downscale64":
        h, w = image.shape[:2]
        small = pil.resize((64, max(1, round(64 * h / w))), Image.BILINEAR)
        return np.asarray(small.resize((w, h), Image.BILINEAR))
    raise ValueError(f"unknown degradation {kind!r}; known: {', '.join(DEGRADATIONS)}")
