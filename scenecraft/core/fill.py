"""Filling a hole in an image from the pixels around it, which SLD (the places a moved or
removed object left) and SVGCraft (the region of an object it pastes back) both need."""

from __future__ import annotations

import numpy as np


def fill_from_around(
    image: np.ndarray, hole: np.ndarray, ignore: np.ndarray | None = None
) -> np.ndarray:
    """``image`` [H, W, 3] (uint8 or float in [0, 255]) as float32 [0, 255], with the pixels of
    ``hole`` [H, W] bool filled by biharmonic inpainting (skimage) from the pixels around it.

    ``ignore`` [H, W] bool: pixels the fill may not draw from (another object beside the hole,
    whose colour should not bleed into it); they are returned as they were.
    """
    out = np.asarray(image, np.float32).copy()
    unknown = hole if ignore is None else hole | ignore
    if not hole.any() or unknown.all():
        return out
    from skimage.restoration import inpaint_biharmonic

    filled = inpaint_biharmonic(out / 255, unknown, channel_axis=-1) * 255
    out[hole] = filled[hole]
    return out
