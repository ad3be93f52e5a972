"""ShapesWorld scenes: objects with shape, colour, size, position, rotation; sampling from seeds.

Seeds are split by range so that training, validation and held-out benchmark data never overlap:
train ``[0, 1_000_000)``, validation ``[1_000_000, 1_100_000)``, held-out ``[2_000_000, ...)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from scenecraft.core.contracts import Layout, LayoutItem, ObjectSpec, SceneSpec
from scenecraft.shapesworld.grammar import (
    BACKGROUNDS,
    COLORS,
    NUMBER_WORDS,
    ROTATION_PERIOD,
    SHAPES,
    SIZES,
    plural,
    transform,
    unit_outline,
)

SPLITS: dict[str, tuple[int, int]] = {
    "train": (0, 1_000_000),
    "val": (1_000_000, 1_100_000),
    "heldout": (2_000_000, 3_000_000),
}

MARGIN = 0.02  # least gap between two objects' circumcircles, fraction of the canvas


def split_seed(split: str, index: int) -> int:
    """The seed of the ``index``-th scene of a split (raises if it runs past the split's range)."""
    lo, hi = SPLITS[split]
    if not 0 <= index < hi - lo:
        raise ValueError(f"index {index} outside split {split!r} of size {hi - lo}")
    return lo + index


@dataclass
class ShapeObject:
    shape: str
    color: str
    size: str
    cx: float  # centre, fraction of canvas width
    cy: float  # centre, fraction of canvas height
    rotation: float = 0.0  # degrees

    @property
    def r(self) -> float:
        return SIZES[self.size]

    @property
    def label(self) -> str:
        return f"{self.color} {self.shape}"

    def outline(self) -> np.ndarray:
        """Outline polygon in canvas fractions, [N, 2]."""
        return transform(unit_outline(self.shape), self.cx, self.cy, self.r, self.rotation)

    @property
    def box(self) -> list[float]:
        pts = self.outline()
        x0, y0 = pts.min(0).clip(0, 1)
        x1, y1 = pts.max(0).clip(0, 1)
        return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


@dataclass
class Scene:
    objects: list[ShapeObject] = field(default_factory=list)
    background: tuple[str, str] = ("white", "white")  # (top, bottom) of a vertical gradient

    def to_dict(self) -> dict:
        return {"objects": [asdict(o) for o in self.objects], "background": list(self.background)}

    @classmethod
    def from_dict(cls, d: dict) -> Scene:
        return cls([ShapeObject(**o) for o in d["objects"]], tuple(d["background"]))

    def layout(self) -> Layout:
        counts: dict[str, int] = {}
        items = []
        for o in self.objects:
            counts[o.label] = counts.get(o.label, 0) + 1
            items.append(LayoutItem(label=f"{o.label} #{counts[o.label]}", box=o.box))
        return Layout(items=items, background=background_phrase(self.background))

    def spec(self) -> SceneSpec:
        """Counts of each (colour, shape) in the scene, in first-seen order."""
        counts: dict[tuple[str, str], int] = {}
        for o in self.objects:
            counts[(o.color, o.shape)] = counts.get((o.color, o.shape), 0) + 1
        return SceneSpec(
            objects=[ObjectSpec(name=s, count=n, attributes=[c]) for (c, s), n in counts.items()],
            background=background_phrase(self.background),
        )

    def caption(self) -> str:
        return spec_caption(self.spec())


def background_phrase(background: tuple[str, str]) -> str:
    top, bottom = background
    return top if top == bottom else f"{top} to {bottom} gradient"


def count_phrase(obj: ObjectSpec) -> str:
    noun = obj.name if obj.count == 1 else plural(obj.name)
    words = " ".join([*obj.attributes, noun])
    if obj.count == 1:
        return ("an " if words[0] in "aeiou" else "a ") + words
    return f"{NUMBER_WORDS.get(obj.count, str(obj.count))} {words}"


def spec_caption(spec: SceneSpec) -> str:
    """Canonical English for a spec with no relations or negations: 'two red circles and a star'."""
    phrases = [count_phrase(o) for o in spec.objects if o.count > 0]
    if not phrases:
        return "an empty scene"
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _random_rotation(shape: str, rng: np.random.Generator) -> float:
    period = ROTATION_PERIOD[shape]
    if period == 0:
        return 0.0
    return float(rng.uniform(0, period))


def _fits(cand: ShapeObject, placed: list[ShapeObject]) -> bool:
    return all(math.hypot(cand.cx - o.cx, cand.cy - o.cy) > cand.r + o.r + MARGIN for o in placed)


def place(
    wanted: list[tuple[str, str, str]],
    rng: np.random.Generator,
    constraint=None,
    tries: int = 400,
    bounds: list[tuple[float, float, float, float] | None] | None = None,
) -> list[ShapeObject] | None:
    """Place (shape, colour, size) objects at random without overlap.

    ``constraint(objects) -> bool`` is checked on the full placement; ``bounds`` (one per
    object, or None) keeps an object's centre in (x0, x1, y0, y1). Returns None if no placement
    was found in ``tries`` attempts.
    """
    for _ in range(tries):
        placed: list[ShapeObject] = []
        for k, (shape, color, size) in enumerate(wanted):
            r = SIZES[size]
            x0, x1, y0, y1 = (bounds[k] if bounds else None) or (0.0, 1.0, 0.0, 1.0)
            x0, x1 = max(x0, r + 0.01), min(x1, 1 - r - 0.01)
            y0, y1 = max(y0, r + 0.01), min(y1, 1 - r - 0.01)
            if x0 > x1 or y0 > y1:
                break
            for _ in range(60):
                cand = ShapeObject(
                    shape,
                    color,
                    size,
                    cx=float(rng.uniform(x0, x1)),
                    cy=float(rng.uniform(y0, y1)),
                    rotation=_random_rotation(shape, rng),
                )
                if _fits(cand, placed):
                    placed.append(cand)
                    break
            else:
                break
        if len(placed) == len(wanted) and (constraint is None or constraint(placed)):
            return placed
    return None


def random_background(rng: np.random.Generator) -> tuple[str, str]:
    names = list(BACKGROUNDS)
    top = names[rng.integers(len(names))]
    bottom = top if rng.random() < 0.5 else names[rng.integers(len(names))]
    return (top, bottom)


def sample_scene(
    seed: int, min_objects: int = 1, max_objects: int = 5, sizes: tuple[str, ...] | None = None
) -> Scene:
    """A random scene from a seed: 1-5 objects of any shape/colour/size, no overlaps."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(min_objects, max_objects + 1))
    sizes = sizes or tuple(SIZES)
    wanted = [
        (
            SHAPES[rng.integers(len(SHAPES))],
            list(COLORS)[rng.integers(len(COLORS))],
            sizes[rng.integers(len(sizes))],
        )
        for _ in range(n)
    ]
    while True:
        objs = place(wanted, rng)
        if objs is not None:
            return Scene(objs, random_background(rng))
        wanted = wanted[:-1]  # too crowded for these sizes: drop one and try again
