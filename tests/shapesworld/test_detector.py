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


def test_the_judge_names_generated_shapes_as_a_person_does_on_the_held_out_labels():
    """eval/judge_labels/test was labelled after the judge was chosen on dev; the judge must keep
    its measured agreement there and name the wrong shape rarely (the detector before the
    calibration agreed on 0.54 and named 25 of 171 another shape)."""
    from dataclasses import replace
    from pathlib import Path

    from scenecraft.eval.judge import score
    from scenecraft.shapesworld.detect import JUDGE_CONFIG

    labelled = Path(__file__).resolve().parents[2] / "eval" / "judge_labels" / "test"
    judged = score(labelled, JUDGE_CONFIG)
    before = score(labelled, replace(JUDGE_CONFIG, star_variants=False, min_score=0.55))
    assert judged["agreement"] >= 0.70, judged
    assert judged["other_shape"] <= 0.05 * judged["n"], judged
    assert before["agreement"] < judged["agreement"] - 0.1, (before, judged)


def test_fat_four_and_six_point_stars_are_stars():
    import math

    from PIL import Image, ImageDraw

    from scenecraft.shapesworld.grammar import star_outline

    for points, inner in ((5, 0.6), (4, 0.45), (6, 0.55)):
        img = Image.new("RGB", (128, 128), (240, 240, 240))
        pts = star_outline(points, 30, 30 * inner)
        a = math.radians(10)
        rot = [
            (x * math.cos(a) - y * math.sin(a) + 64, x * math.sin(a) + y * math.cos(a) + 64)
            for x, y in pts
        ]
        ImageDraw.Draw(img).polygon(rot, fill=(220, 30, 30))
        assert [d.label for d in detect(np.asarray(img))] == ["red star"], (points, inner)
