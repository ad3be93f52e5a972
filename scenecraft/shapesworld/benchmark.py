"""Benchmark prompt sets in the four LMD categories: negation, numeracy, attribute binding, spatial.

The standard set is 100 prompts per category from fixed seeds in the ``benchmark`` range; fresh
held-out sets come from the ``heldout_prompts`` range, which tests and tuning never use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenecraft.core.contracts import ObjectSpec, RelationSpec, SceneSpec
from scenecraft.shapesworld.grammar import COLORS, RELATIONS, SHAPES, plural
from scenecraft.shapesworld.scene import count_phrase

CATEGORIES: tuple[str, ...] = ("negation", "numeracy", "attribute", "spatial")
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


_MAKERS = {
    "negation": _negation,
    "numeracy": _numeracy,
    "attribute": _attribute,
    "spatial": _spatial,
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
    return [
        make_prompt(cat, base + ci * CATEGORY_STRIDE + i)
        for ci, cat in enumerate(categories)
        for i in range(n_per_category)
    ]
