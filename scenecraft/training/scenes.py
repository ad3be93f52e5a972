"""Training examples for the world model, generated on the fly from train-split ShapesWorld seeds.

A scene comes in one of three kinds (single object, random 2-5 objects, or counted kinds such as
"three red stars and a heart" for numeracy); each training step then draws a caption for it —
full, partial or single-object — and its boxes with phrases for GLIGEN grounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenecraft.core.contracts import ObjectSpec, SceneSpec
from scenecraft.shapesworld.grammar import COLORS, SHAPES
from scenecraft.shapesworld.prompts import scene_from_spec
from scenecraft.shapesworld.scene import Scene, sample_scene, spec_caption, split_seed

# Share of each scene kind: single objects are what the >= 95% target measures, so they are common.
KIND_WEIGHTS = {"single": 0.35, "random": 0.4, "counted": 0.25}


def training_scene(index: int) -> Scene:
    """The ``index``-th training scene (train split seeds only; val/held-out never appear)."""
    seed = split_seed("train", index)
    rng = np.random.default_rng(seed)
    kind = rng.choice(list(KIND_WEIGHTS), p=list(KIND_WEIGHTS.values()))
    if kind == "single":
        return sample_scene(seed, 1, 1)
    if kind == "random":
        return sample_scene(seed, 2, 5)
    n_kinds = int(rng.integers(1, 3))
    shapes = rng.choice(SHAPES, n_kinds, replace=False)
    colors = rng.choice(list(COLORS), n_kinds, replace=False)
    total = int(rng.integers(n_kinds, 6))
    counts = np.ones(n_kinds, int)
    counts[0] += total - n_kinds
    rng.shuffle(counts)
    spec = SceneSpec(
        objects=[
            ObjectSpec(name=str(s), count=int(n), attributes=[str(c)])
            for s, c, n in zip(shapes, colors, counts, strict=True)
        ]
    )
    return scene_from_spec(spec, seed)


@dataclass
class Caption:
    text: str
    phrases: list[str]  # one per box, e.g. "red circle" or "a red circle"
    boxes: list[list[float]]  # [x0, y0, x1, y1] in [0, 1] (GLIGEN's convention)
    complete: bool  # the caption names every object (safe to train without boxes)


def _xyxy(box: list[float]) -> list[float]:
    x, y, w, h = box
    return [x, y, x + w, y + h]


def _article(words: str) -> str:
    return ("an " if words[0] in "aeiou" else "a ") + words


def make_caption(scene: Scene, rng: np.random.Generator) -> Caption:
    """A caption for a scene: full (70%) or partial, colour words sometimes left out, sometimes
    with the background; phrases and boxes always list every object."""
    spec = scene.spec()
    objects = list(spec.objects)
    complete = True
    if len(objects) > 1 and rng.random() < 0.3:
        keep = rng.choice(len(objects), int(rng.integers(1, len(objects))), replace=False)
        objects = [objects[i] for i in sorted(keep)]
        complete = False
    if rng.random() < 0.1:  # "a star": the caption does not pin the colour
        objects = [o.model_copy(update={"attributes": []}) for o in objects]
    text = spec_caption(SceneSpec(objects=objects))
    top, bottom = scene.background
    if top == bottom and rng.random() < 0.2:
        text += f" on a {top} background"
    article = rng.random() < 0.5
    phrases = [_article(o.label) if article else o.label for o in scene.objects]
    return Caption(text, phrases, [_xyxy(o.box) for o in scene.objects], complete)
