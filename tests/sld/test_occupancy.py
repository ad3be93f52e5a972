"""What the image holds that the loop's detector was not asked about (obstacles for the planner)."""

from __future__ import annotations

import numpy as np

from scenecraft.core.geometry import box_iou
from scenecraft.shapesworld.detect import detect
from scenecraft.shapesworld.prompts import parse_prompt, scene_from_spec
from scenecraft.shapesworld.render import render_scene
from scenecraft.sld.occupancy import unexplained_boxes


def _scene(prompt: str, seed: int = 3) -> tuple[np.ndarray, list]:
    image = render_scene(scene_from_spec(parse_prompt(prompt), seed), 128).image
    return image, detect(image)


def test_objects_no_detection_accounts_for_are_reported_where_they_are():
    image, dets = _scene("a red circle, a blue star and a green square")
    assert len(dets) == 3
    circle = [d for d in dets if d.label == "red circle"]
    others = [d.box for d in dets if d.label != "red circle"]
    boxes = unexplained_boxes(image, circle)
    assert len(boxes) == 2
    for want in others:
        assert max(box_iou(want, b) for b in boxes) > 0.7
    assert unexplained_boxes(image, dets) == []


def test_a_lump_no_shape_template_fits_is_an_obstacle_too():
    image, dets = _scene("a red circle")
    image = image.copy()
    (circle,) = dets
    assert circle.box[1] > 0.5  # the bar goes above it
    image[10:30, 60:110] = (40, 160, 60)  # a green bar: no ShapesWorld shape
    assert [d.label for d in detect(image)] == ["red circle"]
    (box,) = unexplained_boxes(image, detect(image))
    assert np.allclose(box, [60 / 128, 10 / 128, 50 / 128, 20 / 128], atol=1 / 128)


def test_a_busy_picture_reports_nothing():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
    assert unexplained_boxes(photo, []) == []


def test_on_pictures_nobody_here_made():
    """scikit-image's samples: the horse silhouette on white is one obstacle where it stands;
    photographs are mostly foreground and report nothing (the planner sees its detections)."""
    from skimage import data
    from skimage.color import gray2rgb

    horse = gray2rgb(data.horse().astype(np.uint8) * 255)  # a black horse on white
    (box,) = unexplained_boxes(horse, [])
    assert box[2] > 0.8 and box[3] > 0.8
    for photo in (data.astronaut(), data.coffee(), data.chelsea()):
        assert unexplained_boxes(photo, []) == []
