"""Segmenter backends: a mask per box. ``shapes`` (ShapesWorld detector) and ``sam`` (SamModel).

SLD cuts objects out with SAM prompted by their detected boxes; masks are dilated a little so a
moved or deleted object takes its anti-aliased rim with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy import ndimage

from scenecraft.core.contracts import Box
from scenecraft.core.errors import ModelNotFound
from scenecraft.core.geometry import box_iou
from scenecraft.models import load_backend
from scenecraft.shapesworld.detect import DetectorConfig, detect


class Segmenter(Protocol):
    def __call__(self, image: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
        """One [H, W] bool mask per ``[x, y, w, h]`` box in [0, 1]."""
        ...


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    return ndimage.binary_dilation(mask, iterations=pixels) if pixels > 0 else mask


def _box_region(shape: tuple[int, int], box: Box) -> np.ndarray:
    h, w = shape
    x, y, bw, bh = box
    region = np.zeros((h, w), bool)
    region[int(y * h) : int(np.ceil((y + bh) * h)), int(x * w) : int(np.ceil((x + bw) * w))] = True
    return region


@dataclass
class ShapesSegmenter:
    """The mask of the ShapesWorld object that best fills each box (else the box itself)."""

    dilation: int = 1
    config: DetectorConfig = field(default_factory=DetectorConfig)

    def __call__(self, image: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
        dets = detect(image, self.config)
        masks = []
        for box in boxes:
            best = max(dets, key=lambda d: box_iou(d.box, box), default=None)
            if best is not None and box_iou(best.box, box) >= 0.3 and best.mask is not None:
                m = best.mask
            else:
                m = _box_region(image.shape[:2], box)
            masks.append(dilate(m, self.dilation))
        return masks


@dataclass
class SamSegmenter:
    """transformers SamModel prompted with one box per object; single-mask output."""

    model: Any
    processor: Any
    dilation: int = 2
    device: str = "cpu"

    @classmethod
    def load(cls, model_id: str, device: str = "cpu", dilation: int = 2) -> SamSegmenter:
        from transformers import SamModel, SamProcessor

        if not model_id:
            raise ModelNotFound("the sam segmenter needs SCENECRAFT_SEGMENTER_MODEL (folder or id)")
        try:
            model = SamModel.from_pretrained(model_id, local_files_only=True)
            processor = SamProcessor.from_pretrained(model_id, local_files_only=True)
        except OSError as e:
            raise ModelNotFound(f"SAM checkpoint {model_id!r} not found locally: {e}") from e
        return cls(model.to(device).eval(), processor, dilation=dilation, device=device)

    def __call__(self, image: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
        import torch

        if not boxes:
            return []
        h, w = image.shape[:2]
        pixel_boxes = [[x * w, y * h, (x + bw) * w, (y + bh) * h] for x, y, bw, bh in boxes]
        inputs = self.processor(images=image, input_boxes=[pixel_boxes], return_tensors="pt")
        inputs = inputs.to(self.device)
        with torch.no_grad():
            out = self.model(**inputs, multimask_output=False)
        masks = self.processor.image_processor.post_process_masks(
            out.pred_masks.cpu(),
            inputs["original_sizes"].cpu(),
            inputs["reshaped_input_sizes"].cpu(),
        )[0]  # [boxes, 1, H, W] bool
        return [dilate(m[0].numpy(), self.dilation) for m in masks]


def load_segmenter(
    backend: str, model_id: str = "", device: str = "cpu", cache: dict | None = None
) -> Segmenter:
    """A segmenter by name (``shapes`` | ``sam``), kept warm in ``cache`` when given."""
    makers = {"shapes": ShapesSegmenter, "sam": lambda: SamSegmenter.load(model_id, device)}
    return load_backend("segmenter", backend, makers, model_id, device, cache)
