"""Where an image already holds something the loop's detector was not asked about.

SLD's detector is asked only for the prompt's objects, so its correction planner sees free
canvas where an object the prompt does not mention (or a lump the detector reads as no shape)
stands, and puts an added or moved object on top of it: the two run together, and neither is
read afterwards. Rounds then add the same object again at the same spot. The planner gets these
places as obstacles to keep clear of where the canvas has room (``correct_layout``).

The foreground is found as the ShapesWorld detector finds it (distance from a per-row estimate
of a light, neutral background), which holds for any flat-backed picture; where most of the
image differs from that estimate (a photograph), nothing is reported and the planner sees only
the detections, as before.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from scenecraft.core.contracts import Box, Detection
from scenecraft.shapesworld.detect import LOOP_CONFIG, background

# a foreground pixel and the least region reported, as the loop's detector counts them
MIN_FG = LOOP_CONFIG.min_fg  # colour distance from the background (RGB, 0..1)
MIN_AREA = LOOP_CONFIG.min_area  # share of the image
MAX_SHARE = 0.5  # more foreground than this: not a flat-backed picture, report nothing
EXPLAINED = 0.5  # a region this much inside detected boxes is those detections' own


def unexplained_boxes(image: np.ndarray, detections: list[Detection]) -> list[Box]:
    """Boxes ``[x, y, w, h]`` (canvas fractions) of the foreground regions of an [H, W, 3]
    uint8 image that no detection accounts for (less than half inside any detected box)."""
    img = image[..., :3].astype(np.float32) / 255.0
    h, w = img.shape[:2]
    fg = np.sqrt(((img - background(img)) ** 2).sum(-1)) >= MIN_FG
    if fg.mean() > MAX_SHARE:
        return []
    covered = np.zeros_like(fg)
    for d in detections:
        x, y, bw, bh = d.box
        rows = slice(int(y * h), math.ceil((y + bh) * h))
        cols = slice(int(x * w), math.ceil((x + bw) * w))
        covered[rows, cols] = True
    comp, _ = ndimage.label(fg, structure=np.ones((3, 3)))
    boxes: list[Box] = []
    for i, sl in enumerate(ndimage.find_objects(comp), start=1):
        region = comp[sl] == i
        area = int(region.sum())
        if area < MIN_AREA * h * w or (covered[sl] & region).sum() >= EXPLAINED * area:
            continue
        ys, xs = sl
        boxes.append(
            [xs.start / w, ys.start / h, (xs.stop - xs.start) / w, (ys.stop - ys.start) / h]
        )
    return boxes
