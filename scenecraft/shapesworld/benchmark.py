"""Benchmark prompt sets in the four LMD categories: negation, numeracy, attribute binding, spatial.

The standard set is 100 prompts per category from fixed seeds in the ``benchmark`` range; fresh
held-out sets come from the ``heldout_prompts`` range, which tests and tuning never use. A fifth
category, ``placement`` (an object at a place on the canvas: "two red circles in the top right
corner"), is not LMD's and is asked for by name; each category keeps its own seed range whatever
else is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

import numpy as np

from scenecraft.core.contracts import ObjectSpec, PlaceName, RelationSpec, SceneSpec
from scenecraft.shapesworld.grammar import COLORS, RELATIONS, SHAPES, plural
from scenecraft.shapesworld.judge import place_phrase
from scenecraft.shapesworld.scene import count_phrase

CATEGORIES: tuple[str, ...] = ("negation", "numeracy", "attribute", "spatial")
EXTRA_CATEGORIES: tuple[str, ...] = ("placement",)
PLACES: tuple[PlaceName, ...] = get_args(PlaceName)
PROMPT_SEEDS: dict[str, int] = {"benchmark": 5_000_000, "heldout_prompts": 6_000_000}
CATEGORY_STRIDE = 100_000


@dataclass(frozen=True)
class BenchmarkPrompt:
    id: str
    category: str
    seed: int
    prompt: str
    spec: SceneSpec

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "category": self.category,
            "seed": self.seed,
            "prompt": self.prompt,
            "spec": self.spec.model_dump(),
        }


def _pick(rng: np.random.Generator, items, k: int = 1, exclude=()) -> list:
    pool = [x for x in items if x not in exclude]
    return [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]


def _negation(rng: np.random.Generator) -> tuple[str, SceneSpec]:
    shape, neg_shape = _pick(rng, SHAPES, 2)
    pos = ObjectSpec(name=shape, count=int(rng.integers(1, 3)), attributes=_pick(rng, COLORS))
    neg_attrs = _pick(rng, COLORS) if rng.random() < 0.5 else []
    neg = ObjectSpec(name=neg_shape, count=0, attributes=neg_attrs)
    text = f"{count_phrase(pos)} without any {' '.join([*neg_attrs, plural(neg_shape)])}"
    return text, SceneSpec(objects=[pos], negations=[neg])


def _numeracy(rng: np.random.Generator) -> tuple[str, SceneSpec]:
    kinds = int(rng.integers(1, 3))
    shapes = _pick(rng, SHAPES, kinds)
    colors = _pick(rng, COLORS, kinds)
    objs = []
    for s, c in zip(shapes, colors, strict=True):
        attrs = [c] if rng.random() < 0.7 else []
        objs.append(
            ObjectSpec(name=s, count=int(rng.integers(1, 6 - 2 * (kinds - 1))), attributes=attrs)
        )
    return " and ".join(count_phrase(o) for o in objs), SceneSpec(objects=objs)


def _attribute(rng: np.random.Generator) -> tuple[str, SceneSpec]:
    shapes = _pick(rng, SHAPES, 2)
    colors = _pick(rng, COLORS, 2)
    objs = [
        ObjectSpec(name=s, count=1, attributes=[c]) for s, c in zip(shapes, colors, strict=True)
    ]
    return " and ".join(count_phrase(o) for o in objs), SceneSpec(objects=objs)


def _spatial(rng: np.random.Generator) -> tuple[str, SceneSpec]:
    shapes = _pick(rng, SHAPES, 2)
    colors = _pick(rng, COLORS, 2)
    objs = [
        ObjectSpec(name=s, count=1, attributes=[c]) for s, c in zip(shapes, colors, strict=True)
    ]
    rel = RELATIONS[rng.integers(len(RELATIONS))]
    word = {"left of": "to the left of", "right of": "to the right of"}.get(rel, rel)
    text = f"{count_phrase(objs[0])} {word} {count_phrase(objs[1])}"
    return text, SceneSpec(
        objects=objs, relations=[RelationSpec(subject=0, relation=rel, object=1)]
    )


def _placement(rng: np.random.Generator) -> tuple[str, SceneSpec]:
    """One to three of a kind at a place; half the time two more kinds, one each, anywhere (with
    one other kind the parser reads a side as relative to it)."""
    kinds = 1 if rng.random() < 0.5 else 3
    shapes = _pick(rng, SHAPES, kinds)
    colors = _pick(rng, COLORS, kinds)
    place = PLACES[rng.integers(len(PLACES))]
    count = int(rng.integers(1, 4 if " " not in place else 3))
    objs = [ObjectSpec(name=shapes[0], count=count, attributes=[colors[0]], place=place)]
    objs += [
        ObjectSpec(name=s, attributes=[c]) for s, c in zip(shapes[1:], colors[1:], strict=True)
    ]
    text = f"{count_phrase(objs[0])} {place_phrase(place)}"
    if kinds == 3:
        text += f", {count_phrase(objs[1])} and {count_phrase(objs[2])}"
    return text, SceneSpec(objects=objs)


_MAKERS = {
    "negation": _negation,
    "numeracy": _numeracy,
    "attribute": _attribute,
    "spatial": _spatial,
    "placement": _placement,
}


def make_prompt(category: str, seed: int) -> BenchmarkPrompt:
    text, spec = _MAKERS[category](np.random.default_rng(seed))
    return BenchmarkPrompt(f"{category}-{seed}", category, seed, text, spec)


def prompt_set(
    n_per_category: int = 100,
    which: str = "benchmark",
    offset: int = 0,
    categories: tuple[str, ...] = CATEGORIES,
) -> list[BenchmarkPrompt]:
    """``which='benchmark'``: the standard set. ``'heldout_prompts'`` with a new ``offset``: a
    fresh set no test or tuning has seen."""
    base = PROMPT_SEEDS[which] + offset
    every = (*CATEGORIES, *EXTRA_CATEGORIES)
    return [
        make_prompt(cat, base + every.index(cat) * CATEGORY_STRIDE + i)
        for cat in categories
        for i in range(n_per_category)
    ]
