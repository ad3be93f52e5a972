"""``scenecraft eval layout-fraction``: for how many of the denoising steps a UNet that takes a
layout map should be given it, and at which classifier-free guidance scale to sample, measured
on tuning layouts, not on ``eval world-model``'s.

Three kinds of prompt, all judged by the ShapesWorld detector with the judge's settings:

- one object from its words alone ("a red star", no box; per guidance scale only, as ``eval
  world-model``'s single objects but from other noise seeds): is it exactly that object;

- one object and one box ("a red star" in a box, as SVGCraft's per-box latents and SLD's added
  objects ask): is something in the box (IoU >= 0.5), is it the object asked for;
- scenes of 1-4 objects from the *train* split (``eval world-model`` uses validation seeds), each
  box with its phrase: objects in their box with the right label, and placement alone.

Writes a JSON report and prints a table, one row a (guidance, fraction) pair (fraction 0: the
map stays zero: text alone).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from rich.progress import track

from scenecraft.core.geometry import box_iou, match
from scenecraft.eval.common import print_table, write_json
from scenecraft.models import diffusion as D
from scenecraft.shapesworld.detect import JUDGE_CONFIG, detect
from scenecraft.shapesworld.grammar import COLORS, SHAPES
from scenecraft.shapesworld.scene import sample_scene, split_seed

TUNING_OFFSET = 90_000  # train-split scenes far beyond what the training cache renders


def single_boxes(n: int) -> list[tuple[str, list[float]]]:
    """``n`` (phrase, square box) pairs cycling through colours and shapes, boxes 25-45% wide."""
    rng = np.random.default_rng(7)
    colors = list(COLORS)
    out = []
    for i in range(n):
        phrase = f"{colors[(i // len(SHAPES) + i) % len(colors)]} {SHAPES[i % len(SHAPES)]}"
        w = float(rng.uniform(0.25, 0.45))
        x, y = (float(v) for v in rng.uniform(0.05, 0.95 - w, 2))
        out.append((phrase, [x, y, w, w]))
    return out


def judge_text(model: D.DiffusionModel, n: int, steps: int, guidance: float) -> float:
    """Share of ``n`` single-object prompts without a box drawn as exactly that object."""
    right = 0
    for i, (phrase, _) in enumerate(single_boxes(n)):
        img = D.sample(
            model,
            f"a {phrase}",
            steps=steps,
            guidance=guidance,
            generator=torch.Generator().manual_seed(TUNING_OFFSET + i),
        ).images[0]
        right += [d.label for d in detect(img, JUDGE_CONFIG)] == [phrase]
    return right / n


def judge_fraction(
    model: D.DiffusionModel, fraction: float, n: int, steps: int, guidance: float = 3.0
) -> dict:
    """Single boxes and scene layouts sampled with the map for ``fraction`` of the steps."""
    placed = right = anywhere = 0
    for i, (phrase, box) in enumerate(single_boxes(n)):
        g = D.Grounding([phrase], [box], layout_fraction=fraction)
        img = D.sample(
            model,
            f"a {phrase}",
            steps=steps,
            guidance=guidance,
            grounding=g,
            generator=torch.Generator().manual_seed(i),
        ).images[0]
        dets = detect(img, JUDGE_CONFIG)
        inside = [d for d in dets if box_iou(d.box, box) >= 0.5]
        placed += bool(inside)
        right += any(d.label == phrase for d in inside)
        anywhere += any(d.label == phrase for d in dets)
    found = located = total = 0
    for i in range(n):
        scene = sample_scene(split_seed("train", TUNING_OFFSET + i), 1, 4)
        gt = [(o.label, o.box) for o in scene.objects]
        g = D.Grounding([p for p, _ in gt], [b for _, b in gt], layout_fraction=fraction)
        img = D.sample(
            model,
            scene.caption(),
            steps=steps,
            guidance=guidance,
            grounding=g,
            generator=torch.Generator().manual_seed(i),
        ).images[0]
        pred = [(d.label, d.box) for d in detect(img, JUDGE_CONFIG)]
        found += match(pred, gt)
        located += match([("", b) for _, b in pred], [("", b) for _, b in gt])
        total += len(gt)
    return {
        "guidance": guidance,
        "fraction": fraction,
        "single_placed": placed / n,
        "single_right_in_box": right / n,
        "single_right_anywhere": anywhere / n,
        "scene_objects": total,
        "scene_right_in_box": found / total,
        "scene_placed": located / total,
    }


def main(
    model_id: str,
    out: Path,
    fractions: list[float],
    n: int = 24,
    steps: int = 20,
    guidances: tuple[float, ...] = (3.0,),
) -> dict:
    model = D.load(model_id, cache={})
    if not model.layout_channels:
        raise ValueError(f"{model_id} takes no layout map; nothing to measure")
    t0 = time.monotonic()
    grid = [(g, f) for g in guidances for f in fractions]
    text = {g: judge_text(model, n, steps, g) for g in guidances}
    rows = [
        {**judge_fraction(model, f, n, steps, g), "text_single_right": text[g]}
        for g, f in track(grid, description="guidance x layout fraction")
    ]
    report = {"model": model_id, "n": n, "steps": steps, "rows": rows}
    report["seconds"] = time.monotonic() - t0
    write_json(out, report)
    keys = [k for k in rows[0] if k not in ("guidance", "fraction", "scene_objects")]
    print_table(
        f"guidance and layout map share: {model_id} ({n} single boxes, {n} scenes, {steps} steps)",
        ["guidance", "fraction", *keys],
        [[r["guidance"], r["fraction"], *[r[k] for k in keys]] for r in rows],
    )
    return report
