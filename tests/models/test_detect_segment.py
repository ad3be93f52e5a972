"""Detector and segmenter backends: ShapesWorld ones on renders, OWLv2/SAM on tiny random configs.

The OWLv2 and SAM checkpoints are built from tiny configs, saved and reloaded offline, so these
tests check shapes, formats and thresholds, not quality.
"""

from __future__ import annotations

import numpy as np
import pytest

from scenecraft.core.errors import ModelNotFound
from scenecraft.models.detect import OwlV2Detector, ShapesDetector, load_detector
from scenecraft.models.segment import SamSegmenter, ShapesSegmenter, load_segmenter
from scenecraft.shapesworld.render import render_scene
from scenecraft.shapesworld.scene import Scene, ShapeObject


@pytest.fixture(scope="module")
def scene() -> tuple[Scene, np.ndarray]:
    s = Scene(
        [
            ShapeObject("circle", "red", "large", 0.3, 0.3),
            ShapeObject("star", "blue", "medium", 0.7, 0.7),
        ]
    )
    return s, render_scene(s, 128).image


def test_shapes_detector_keeps_only_what_is_asked(scene):
    _, img = scene
    det = ShapesDetector()
    assert [d.label for d in det(img, ["red circle", "blue star"])] == ["red circle", "blue star"]
    assert [d.label for d in det(img, ["star"])] == ["blue star"]  # a bare noun matches any colour
    assert det(img, ["green star"]) == []


def test_shapes_segmenter_returns_the_object_in_each_box(scene):
    s, img = scene
    masks = ShapesSegmenter(dilation=0)(img, [o.box for o in s.objects] + [[0.0, 0.8, 0.1, 0.1]])
    assert len(masks) == 3 and all(m.shape == (128, 128) and m.dtype == bool for m in masks)
    truth = render_scene(s, 128).masks
    for k in range(2):
        iou = (masks[k] & (truth == k + 1)).sum() / (masks[k] | (truth == k + 1)).sum()
        assert iou > 0.9
    assert masks[2].sum() > 0  # empty box: falls back to the box region


def test_owlv2_end_to_end_on_a_tiny_checkpoint(tiny_owl, scene):
    _, img = scene
    det = load_detector("owlv2", tiny_owl, cache={})
    assert isinstance(det, OwlV2Detector)
    det.attr_threshold, det.noun_threshold = 1.01, 1.01  # sigmoid scores never reach it
    assert det(img[:96], ["red circle"]) == []
    det.attr_threshold, det.noun_threshold = 0.0, 0.0
    for d in det(img[:96], ["red circle"]):
        x, y, w, h = d.box
        assert d.label in ("red circle", "circle")
        assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= 1 + 1e-6 and y + h <= 1 + 1e-6


def test_owlv2_queries_thresholds_nms_and_box_axes(tiny_owl):
    import torch

    det = load_detector("owlv2", tiny_owl, cache={})
    assert det.queries(["red circle", "blue star", "circle"]) == [
        ("image of a red circle", "red circle", det.attr_threshold),
        ("image of a blue star", "blue star", det.attr_threshold),
        ("image of a circle", "circle", det.noun_threshold),
        ("image of a star", "star", det.noun_threshold),
    ]
    # patches x queries ("red circle" at 0.6, "circle" at 0.2), as probabilities
    probs = torch.tensor([[0.9, 0.0], [0.7, 0.0], [0.0, 0.3], [0.5, 0.5]])
    boxes = torch.tensor(  # cx, cy, w, h in the padded square
        [
            [0.25, 0.25, 0.2, 0.2],
            [0.26, 0.25, 0.2, 0.2],
            [0.25, 0.25, 0.2, 0.2],
            [0.7, 0.2, 0.1, 0.1],
        ]
    )
    out = type("Out", (), {"logits": torch.logit(probs)[None], "pred_boxes": boxes[None]})
    det.model = lambda **inputs: out
    found = det(np.zeros((64, 128, 3), np.uint8), ["red circle"])
    got = sorted((d.label, round(d.score, 2), [round(v, 3) for v in d.box]) for d in found)
    assert got == [
        ("circle", 0.3, [0.15, 0.3, 0.2, 0.4]),  # same box, other query: kept by class-aware NMS
        ("circle", 0.5, [0.65, 0.3, 0.1, 0.2]),  # 0.5 passes the noun threshold ...
        ("red circle", 0.9, [0.15, 0.3, 0.2, 0.4]),  # ... the 0.7 duplicate is suppressed
    ]  # ... and 0.5 fails the attribute threshold; y is stretched by the 2:1 padding


def test_owlv2_drops_boxes_that_clamp_to_under_a_pixel(tiny_owl):
    import torch

    det = load_detector("owlv2", tiny_owl, cache={})
    probs = torch.tensor([[0.9], [0.9], [0.9]])
    boxes = torch.tensor(  # cx, cy, w, h in the padded square; the image is its top half
        [
            [0.25, 0.25, 0.2, 0.2],  # inside
            [0.75, 0.55, 0.2, 0.1001],  # reaches 0.0001 into the image: a 0.006 px sliver
            [0.75, 0.80, 0.2, 0.2],  # all in the padding
        ]
    )
    out = type("Out", (), {"logits": torch.logit(probs)[None], "pred_boxes": boxes[None]})
    det.model = lambda **inputs: out
    found = det(np.zeros((64, 128, 3), np.uint8), ["circle"])
    assert [[round(v, 3) for v in d.box] for d in found] == [[0.15, 0.3, 0.2, 0.4]]


def test_sam_masks_per_box_at_image_size_and_dilated(tiny_sam, scene):
    s, img = scene
    seg = load_segmenter("sam", tiny_sam, cache={})
    assert isinstance(seg, SamSegmenter)
    boxes = [o.box for o in s.objects]
    seg.dilation = 0
    plain = seg(img[:, :100], boxes)
    seg.dilation = 3
    grown = seg(img[:, :100], boxes)
    assert [m.shape for m in plain] == [(128, 100)] * 2 and plain[0].dtype == bool
    for a, b in zip(plain, grown, strict=True):
        assert (b | a).sum() == b.sum()  # dilation only adds pixels
        assert b.sum() >= a.sum()


def test_unknown_or_missing_backends_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="known: shapes, owlv2"):
        load_detector("yolo")
    with pytest.raises(ModelNotFound):
        load_detector("owlv2", str(tmp_path / "missing"))
    with pytest.raises(ModelNotFound, match="SCENECRAFT_SEGMENTER_MODEL"):
        load_segmenter("sam", "")
