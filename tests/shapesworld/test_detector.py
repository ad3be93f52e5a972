"""The ShapesWorld detector reads rendered and degraded images (thresholds from the issue)."""

import numpy as np

from scenecraft.eval.detector import evaluate
from scenecraft.shapesworld.detect import detect
from scenecraft.shapesworld.render import render_scene
from scenecraft.shapesworld.scene import sample_scene


def test_precision_recall_clean_and_degraded_on_a_fixed_sample():
    report = evaluate(n=40, size=128, split="val", offset=500, progress=False)
    for cond, r in report["results"].items():
        floor = 0.98 if cond == "clean" else 0.95
        assert r["precision"] >= floor, (cond, r)
        assert r["recall"] >= floor, (cond, r)


def test_detection_box_and_mask_sit_on_the_object():
    scene = sample_scene(5, min_objects=1, max_objects=1)
    out = render_scene(scene, 128)
    (det,) = detect(out.image)
    assert det.label == scene.objects[0].label
    x, y, w, h = det.box
    bx, by, bw, bh = scene.objects[0].box
    assert abs(x - bx) < 0.03 and abs(y - by) < 0.03 and abs(w - bw) < 0.04
    inter = (det.mask & (out.masks == 1)).sum()
    union = (det.mask | (out.masks == 1)).sum()
    assert inter / union > 0.9


def test_a_blank_or_noisy_image_has_no_objects():
    rng = np.random.default_rng(0)
    blank = np.full((96, 96, 3), 240, np.uint8)
    noisy = (blank + rng.normal(0, 6, blank.shape)).clip(0, 255).astype(np.uint8)
    assert detect(blank) == []
    assert detect(noisy) == []


def test_large_images_are_read_too():
    scene = sample_scene(8)
    out = render_scene(scene, 640)
    got = sorted(d.label for d in detect(out.image))
    assert got == sorted(o.label for o in scene.objects)
    assert detect(out.image)[0].mask.shape == (640, 640)
