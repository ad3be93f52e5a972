"""Prompts of ShapesWorld: a slot-filling parser for its grammar, and scenes placed from a spec.

The parser reads the canonical benchmark sentences and the ordinary English around them
("3 red circles", "a couple of stars", "a star to the left of a heart", "without any hearts").
"""

from __future__ import annotations

import re

import numpy as np

from scenecraft.contracts import ObjectSpec, RelationSpec, SceneSpec
from scenecraft.errors import InvalidParams
from scenecraft.world.grammar import BACKGROUNDS, COLORS, NUMBER_WORDS, SHAPES, SIZES, plural
from scenecraft.world.scene import Scene, ShapeObject, place, random_background

_COUNTS = {w: n for n, w in NUMBER_WORDS.items() if n > 0} | {"a": 1, "an": 1, "single": 1}
_SHAPE_FORMS = {plural(s): s for s in SHAPES} | {s: s for s in SHAPES}
_NEGATORS = {"without", "no", "not", "none"}
_BACKGROUND_RE = re.compile(
    r"\b(?:on|against|over) an? ({}) background\b".format("|".join(BACKGROUNDS))
)
_RELATION_WORDS = {"left": "left of", "right": "right of", "above": "above", "below": "below"}


def _tokens(text: str) -> list[str]:
    text = text.lower()
    text = re.sub(r"\ba (couple|pair) of\b", "two", text)
    text = re.sub(r"\bnext to\b", "nextto", text)
    text = re.sub(r"\bnot any\b", "no", text)
    return re.findall(r"[a-z]+|\d+", text)


def parse_prompt(text: str) -> SceneSpec:
    """Parse a ShapesWorld prompt into a SceneSpec (objects, relations, negations, background)."""
    background = None
    m = _BACKGROUND_RE.search(text.lower())
    if m:
        background = m.group(1)
        text = text[: m.start()] + text[m.end() :]
    toks = _tokens(text)
    objects: list[ObjectSpec] = []
    negations: list[ObjectSpec] = []
    relations: list[RelationSpec] = []
    count: int | None = None
    attrs: list[str] = []
    negating = False
    pending_rel: str | None = None
    last_obj: int | None = None
    between: list[int] = []
    for i, t in enumerate(toks):
        if t.isdigit() or t in _COUNTS:
            count = int(t) if t.isdigit() else _COUNTS[t]
        elif t in COLORS or t in SIZES:
            attrs.append(t)
        elif t in _NEGATORS:
            negating = True
        elif t in _RELATION_WORDS and (t in ("above", "below") or toks[i + 1 : i + 2] == ["of"]):
            pending_rel = _RELATION_WORDS[t]
        elif t in ("nextto", "beside"):
            pending_rel = "next to"
        elif t == "between":
            pending_rel = "between"
        elif t in _SHAPE_FORMS:
            shape = _SHAPE_FORMS[t]
            is_plural = t != shape
            n = count if count is not None else (2 if is_plural else 1)
            spec = ObjectSpec(name=shape, count=n, attributes=attrs)
            if negating:
                negations.append(spec.model_copy(update={"count": 0}))
            else:
                objects.append(spec)
                idx = len(objects) - 1
                if pending_rel == "between":
                    between.append(idx)
                    if len(between) == 2 and last_obj is not None:
                        relations.append(
                            RelationSpec(
                                subject=last_obj,
                                relation="between",
                                object=between[0],
                                object2=between[1],
                            )
                        )
                        pending_rel, between = None, []
                elif pending_rel is not None and last_obj is not None:
                    relations.append(
                        RelationSpec(subject=last_obj, relation=pending_rel, object=idx)
                    )
                    pending_rel = None
                if pending_rel != "between":
                    last_obj = idx
            count, attrs = None, []
    return SceneSpec(
        objects=objects, relations=relations, negations=negations, background=background
    )


def _relation_ok(objs: list[ShapeObject], groups: list[list[int]], spec: SceneSpec) -> bool:
    for rel in spec.relations:
        for a in groups[rel.subject]:
            for b in groups[rel.object]:
                oa, ob = objs[a], objs[b]
                ok = {
                    "left of": oa.cx < ob.cx - 0.05,
                    "right of": oa.cx > ob.cx + 0.05,
                    "above": oa.cy < ob.cy - 0.05,
                    "below": oa.cy > ob.cy + 0.05,
                    "next to": np.hypot(oa.cx - ob.cx, oa.cy - ob.cy) < 0.45,
                    "between": True,
                }[rel.relation]
                if rel.relation == "between" and rel.object2 is not None:
                    for c in groups[rel.object2]:
                        lo, hi = sorted((ob.cx, objs[c].cx))
                        ok = ok and lo < oa.cx < hi
                if not ok:
                    return False
    return True


def scene_from_spec(spec: SceneSpec, seed: int) -> Scene:
    """A scene with exactly what ``spec`` asks for, placed to satisfy its relations."""
    rng = np.random.default_rng(seed)
    banned = {(n.name, c) for n in spec.negations for c in _colors_of(n)}
    wanted: list[tuple[str, str, str]] = []
    groups: list[list[int]] = []
    for i, o in enumerate(spec.objects):
        if o.name not in SHAPES:
            raise InvalidParams.single(
                f"prompt.objects[{i}]",
                f"ShapesWorld has no {o.name!r}; it draws {', '.join(SHAPES)}",
            )
        color = next((a for a in o.attributes if a in COLORS), None)
        size = next((a for a in o.attributes if a in SIZES), None)
        groups.append(list(range(len(wanted), len(wanted) + o.count)))
        for _ in range(o.count):
            options = [c for c in COLORS if (o.name, c) not in banned] if color is None else [color]
            if not options:
                raise InvalidParams.single("prompt", f"every colour of {o.name} is negated")
            c = options[rng.integers(len(options))]
            s = size or list(SIZES)[rng.integers(len(SIZES))]
            wanted.append((o.name, c, s))
    for attempt in range(8):
        objs = place(wanted, rng, lambda objs: _relation_ok(objs, groups, spec))
        if objs is not None:
            break
        # crowded: shrink everything one size step and retry
        wanted = [(sh, c, "small" if attempt >= 1 else "medium") for sh, c, _ in wanted]
    else:
        raise InvalidParams.single("prompt", "could not place that many objects on one canvas")
    background = random_background(rng)
    if spec.background in BACKGROUNDS:
        background = (spec.background, spec.background)
    return Scene(objs, background)


def _colors_of(o: ObjectSpec) -> list[str]:
    colors = [a for a in o.attributes if a in COLORS]
    return colors or list(COLORS)
