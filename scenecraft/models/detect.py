"""Open-vocabulary detector backends behind the Detection contract: ``shapes`` and ``owlv2``.

``shapes`` is the ShapesWorld detector (exact on this world, no weights). ``owlv2`` wraps
transformers' Owlv2ForObjectDetection the way SLD uses it: each object is queried as
"image of a {attributes} {noun}" and as "image of a {noun}", each kind of query with its own
score threshold, then class-aware NMS. Boxes come out as ``[x, y, w, h]`` in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from scenecraft.core.contracts import Detection, ObjectSpec
from scenecraft.core.errors import ModelNotFound
from scenecraft.models import load_backend
from scenecraft.shapesworld.detect import DetectorConfig, detect
from scenecraft.shapesworld.judge import matches


class Detector(Protocol):
    def __call__(self, image: np.ndarray, phrases: list[str]) -> list[Detection]:
        """Objects in an [H, W, 3] uint8 image that match any phrase ("red circle", "star")."""
        ...


def _spec(phrase: str) -> ObjectSpec:
    *attrs, noun = phrase.split()
    return ObjectSpec(name=noun, attributes=attrs)


@dataclass
class ShapesDetector:
    """The ShapesWorld detector, keeping only detections a phrase asks for."""

    config: DetectorConfig = field(default_factory=DetectorConfig)

    def __call__(self, image: np.ndarray, phrases: list[str]) -> list[Detection]:
        specs = [_spec(p) for p in phrases]
        return [d for d in detect(image, self.config) if any(matches(d.label, s) for s in specs)]


@dataclass
class OwlV2Detector:
    """OWLv2 with SLD's querying: attribute queries and bare-noun queries, thresholded apart."""

    model: Any
    processor: Any
    attr_threshold: float = 0.6
    noun_threshold: float = 0.2
    nms_iou: float = 0.5
    device: str = "cpu"

    @classmethod
    def load(cls, model_id: str, device: str = "cpu", **thresholds: float) -> OwlV2Detector:
        from transformers import Owlv2ForObjectDetection, Owlv2Processor

        if not model_id:
            raise ModelNotFound("the owlv2 detector needs SCENECRAFT_DETECTOR_MODEL (folder or id)")
        try:
            model = Owlv2ForObjectDetection.from_pretrained(model_id, local_files_only=True)
            processor = Owlv2Processor.from_pretrained(model_id, local_files_only=True)
        except OSError as e:
            raise ModelNotFound(f"OWLv2 checkpoint {model_id!r} not found locally: {e}") from e
        return cls(model.to(device).eval(), processor, device=device, **thresholds)

    def queries(self, phrases: list[str]) -> list[tuple[str, str, float]]:
        """(query text, label, threshold) per distinct query, attribute queries first."""
        out: dict[str, tuple[str, str, float]] = {}
        for p in phrases:
            words = p.split()
            if len(words) > 1:
                out.setdefault(p, (f"image of a {p}", p, self.attr_threshold))
        for p in phrases:
            noun = p.split()[-1]
            out.setdefault(noun, (f"image of a {noun}", noun, self.noun_threshold))
        return list(out.values())

    def __call__(self, image: np.ndarray, phrases: list[str]) -> list[Detection]:
        import torch
        from torchvision.ops import batched_nms

        queries = self.queries(phrases)
        if not queries:
            return []
        h, w = image.shape[:2]
        inputs = self.processor(
            text=[[q for q, _, _ in queries]], images=image, return_tensors="pt"
        ).to(self.device)
        with torch.no_grad():
            out = self.model(**inputs)
        scores = out.logits[0].sigmoid()  # [patches, queries]
        boxes = out.pred_boxes[0]  # [patches, 4] cx, cy, w, h relative to the padded square
        thresholds = torch.tensor([t for _, _, t in queries], device=scores.device)
        patch, query = torch.nonzero(scores >= thresholds, as_tuple=True)
        if len(patch) == 0:
            return []
        # OWLv2 pads the image to a square at the bottom/right: rescale to the image's own axes
        side = max(h, w)
        cx, cy, bw, bh = boxes[patch].unbind(-1)
        xyxy = torch.stack(
            [
                ((cx - bw / 2) * side / w).clamp(0, 1),
                ((cy - bh / 2) * side / h).clamp(0, 1),
                ((cx + bw / 2) * side / w).clamp(0, 1),
                ((cy + bh / 2) * side / h).clamp(0, 1),
            ],
            dim=-1,
        )
        s = scores[patch, query]
        keep = batched_nms(xyxy, s, query, self.nms_iou)  # class-aware: per query
        dets = []
        for k in keep.tolist():
            x0, y0, x1, y1 = xyxy[k].tolist()
            if (x1 - x0) * w < 1 or (y1 - y0) * h < 1:
                continue  # under a pixel once clamped: a box (almost) all in the padding or off
            label = queries[int(query[k])][1]
            dets.append(Detection(label, [x0, y0, x1 - x0, y1 - y0], float(s[k])))
        return dets


def load_detector(
    backend: str, model_id: str = "", device: str = "cpu", cache: dict | None = None
) -> Detector:
    """A detector by name (``shapes`` | ``owlv2``), kept warm in ``cache`` when given."""
    makers = {"shapes": ShapesDetector, "owlv2": lambda: OwlV2Detector.load(model_id, device)}
    return load_backend("detector", backend, makers, model_id, device, cache)
