"""Does an image satisfy a prompt? Counts, colours, shapes, relations, negations, with reasons."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar, cast

import numpy as np

from scenecraft.core.contracts import Detection, ObjectSpec, PlaceName, SceneSpec
from scenecraft.shapesworld.grammar import COLORS, SHAPES, SIZES

RELATION_MARGIN = 0.02  # centres must differ by this much (fraction of the canvas)
NEXT_TO = 0.45  # "next to": centres closer than this (fraction of the canvas)
PLACE_EDGE = 0.35  # "on the left": the centre within this fraction of the canvas of that edge
PLACE_MIDDLE = 0.15  # "in the middle": the centre within this of the canvas's, along each axis
MAX_ASSIGNMENTS = 20_000  # ways of telling alike objects apart tried before judging as a group

T = TypeVar("T")


@dataclass
class Verdict:
    ok: bool
    reasons: list[str] = field(default_factory=list)  # why not, one line per failed check
    checks: dict[str, bool] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "reasons": self.reasons, "checks": self.checks}


def matches(det_label: str, obj: ObjectSpec) -> bool:
    """Does a detection ('red circle') match an object spec (name + optional colour)?"""
    colour, _, shape = det_label.partition(" ")
    if shape != obj.name:
        return False
    wanted = [a for a in obj.attributes if a in COLORS]
    return not wanted or colour in wanted


def _describe(obj: ObjectSpec) -> str:
    return " ".join([*[a for a in obj.attributes if a in COLORS], obj.name])


def counted(
    labels: list[str], objects: list[ObjectSpec], fits: Callable[[str, ObjectSpec], bool]
) -> list[int]:
    """How many of ``labels`` each object of a spec finds, when objects that one label can fit
    share them: each label goes to one object it fits (the more specific objects first, and to
    each the labels that fit fewest others), and a label left over counts for every object it
    fits. 'A big and a small circle' finds one circle each in two circles (sizes are not in a
    label); 'a red circle and a circle' finds one each in two red circles."""
    fitting = [[j for j, label in enumerate(labels) if fits(label, o)] for o in objects]
    taken: set[int] = set()
    got = [0] * len(objects)
    specific = sorted(range(len(objects)), key=lambda k: -len(_judged(objects[k])))
    for k in specific:
        free = [j for j in fitting[k] if j not in taken]
        free.sort(key=lambda j: sum(j in f for f in fitting))
        mine = free[: objects[k].count]
        taken |= set(mine)
        got[k] = len(mine)
    return [got[k] + sum(j not in taken for j in fitting[k]) for k in range(len(objects))]


def _judged(obj: ObjectSpec) -> list[str]:
    return [a for a in obj.attributes if a not in SIZES]


def judge(detections: list[Detection], spec: SceneSpec) -> Verdict:
    """Check detections against a spec. Unrequested extra objects are allowed (as in LMD)."""
    reasons: list[str] = []
    checks: dict[str, bool] = {}
    groups: list[list[Detection]] = []
    numbers = counted([d.label for d in detections], spec.objects, matches)
    for obj, n in zip(spec.objects, numbers, strict=True):
        found = [d for d in detections if matches(d.label, obj)]
        groups.append(found)
        key = f"count {_describe(obj)}"
        if obj.name not in SHAPES:
            checks[key] = False
            reasons.append(f"{obj.name!r} is not a ShapesWorld shape; it cannot be judged")
            continue
        # objects the judge reads alike ('a big and a small circle') share one check
        if key not in checks:
            checks[key] = True
        if n != obj.count and checks[key]:
            checks[key] = False
            alike = sum(o.count for o in spec.objects if _describe(o) == _describe(obj))
            reasons.append(f"wanted {alike} {_describe(obj)}, found {len(found)}")
    for neg in spec.negations:
        found = [d for d in detections if matches(d.label, neg)]
        key = f"no {_describe(neg)}"
        checks[key] = not found
        if found:
            reasons.append(f"wanted no {_describe(neg)}, found {len(found)}")
    for obj, ok in zip(spec.objects, places_hold(spec, groups, lambda d: d.box), strict=True):
        if obj.place is None:
            continue
        key = f"{_describe(obj)} {place_phrase(obj.place)}"
        checks[key] = checks.get(key, True) and bool(ok)
        if ok is None:
            reasons.append(f"cannot check '{key}': the object is missing")
        elif not ok:
            reasons.append(f"'{key}' does not hold")
    held = relations_hold(spec, groups, lambda d: d.box)
    for rel, ok in zip(spec.relations, held, strict=True):
        key = f"{_describe(spec.objects[rel.subject])} {rel.relation} " + _describe(
            spec.objects[rel.object]
        )
        # relations said alike ('three circles in a row': circle left of circle, twice) share
        # a check, which holds only when each of them does
        checks[key] = checks.get(key, True) and bool(ok)
        if ok is None:
            reasons.append(f"cannot check '{key}': an object is missing")
        elif not ok:
            reasons.append(f"'{key}' does not hold")
    return Verdict(ok=all(checks.values()), reasons=reasons, checks=checks)


def relations_hold(
    spec: SceneSpec, groups: Sequence[Sequence[T]], box: Callable[[T], list[float]]
) -> list[bool | None]:
    """Whether each of ``spec.relations`` holds among ``groups`` (what each spec object found:
    detections, or a layout's items; ``box`` gives one's box); None where an object is missing.

    Single objects that can be read as one another ('three squares in a row, the middle one
    red': the red square is a square too) are told apart first: each is given one of the
    things found, no two the same, in the way that leaves fewest relations failing, and each
    relation is checked on those. Without that, every square would have to stand left of the
    red square, the one on its right included. Other objects are checked as groups (``related``).
    """
    alike = _alike(spec, groups)
    if alike:
        best = _best_assignment(spec, groups, alike, box)
        if best is not None:
            return best
    return [_holds(r, groups, box) for r in spec.relations]


def _best_assignment(
    spec: SceneSpec,
    groups: Sequence[Sequence[T]],
    alike: list[int],
    box: Callable[[T], list[float]],
) -> list[bool | None] | None:
    """Each alike object given one thing of its finds, no two the same, in the way that leaves
    fewest relations failing: a depth-first search in the order of the finds that checks each
    relation as soon as its objects are given and drops a branch that already fails as many as
    the best so far (so a 3x3 grid of alike squares is told apart in a few steps, where trying
    every way would take 9^9). At most ``MAX_ASSIGNMENTS`` steps; None when no way was found."""
    depth = {k: d for d, k in enumerate(alike)}
    # each relation is checked once the last alike object it names is given
    due: list[list[int]] = [[] for _ in alike]
    for n, r in enumerate(spec.relations):
        named = [depth[k] for k in (r.subject, r.object, r.object2) if k in depth]
        due[max(named) if named else 0].append(n)
    view = [list(g) for g in groups]
    held: list[bool | None] = [None] * len(spec.relations)
    best: list[bool | None] | None = None
    best_fails = len(spec.relations) + 1
    used: set[int] = set()
    steps = 0

    def visit(d: int, fails: int) -> bool:  # True: stop (all hold, or out of steps)
        nonlocal best, best_fails, steps
        if d == len(alike):
            if fails < best_fails:
                best, best_fails = list(held), fails
            return fails == 0
        for x in groups[alike[d]]:
            if id(x) in used:
                continue
            steps += 1
            if steps > MAX_ASSIGNMENTS:
                return True
            used.add(id(x))
            view[alike[d]] = [x]
            more = 0
            for n in due[d]:
                held[n] = _holds(spec.relations[n], view, box)
                more += held[n] is not True
            if fails + more < best_fails and visit(d + 1, fails + more):
                return True
            used.discard(id(x))
        return False

    visit(0, 0)
    return best


def _alike(spec: SceneSpec, groups: Sequence[Sequence[T]]) -> list[int]:
    """Single objects in relations whose finds overlap another such object's finds."""
    related_ = {
        k for r in spec.relations for k in (r.subject, r.object, r.object2) if k is not None
    }
    singles = [k for k in sorted(related_) if spec.objects[k].count == 1 and groups[k]]
    ids = {k: {id(x) for x in groups[k]} for k in singles}
    return [k for k in singles if any(ids[k] & ids[j] for j in singles if j != k)]


def _holds(rel, groups: Sequence[Sequence[T]], box: Callable[[T], list[float]]) -> bool | None:
    subj, obj = groups[rel.subject], groups[rel.object]
    if not subj or not obj:
        return None
    if rel.relation == "between":
        # "a circle between two stars": the references may be read alike; a star is not on both
        # sides of it
        others = groups[rel.object2] if rel.object2 is not None else []
        return rel.object2 is not None and all(
            between(box(a), box(b), box(c)) for a in subj for b in obj for c in others if c is not b
        )
    return related([box(a) for a in subj], [box(b) for b in obj], rel.relation)


def place_bounds(place: PlaceName) -> tuple[float, float, float, float]:
    """The centres (x0, x1, y0, y1, canvas fractions) in ``place``: a side is the band within
    ``PLACE_EDGE`` of that edge, a corner where two such bands meet, the centre the square
    within ``PLACE_MIDDLE`` of the canvas's centre."""
    if place == "centre":
        lo, hi = 0.5 - PLACE_MIDDLE, 0.5 + PLACE_MIDDLE
        return lo, hi, lo, hi
    x0, x1, y0, y1 = 0.0, 1.0, 0.0, 1.0
    for word in place.split():
        if word == "left":
            x1 = PLACE_EDGE
        elif word == "right":
            x0 = 1 - PLACE_EDGE
        elif word == "top":
            y1 = PLACE_EDGE
        elif word == "bottom":
            y0 = 1 - PLACE_EDGE
    return x0, x1, y0, y1


def in_place(cx: T, cy: T, place: PlaceName) -> T:
    """Is a centre (canvas fractions; floats or arrays) in ``place`` (``place_bounds``)?"""
    x0, x1, y0, y1 = place_bounds(place)
    cx_, cy_ = np.asarray(cx, dtype=float), np.asarray(cy, dtype=float)
    ok = (cx_ >= x0) & (cx_ <= x1) & (cy_ >= y0) & (cy_ <= y1)
    return ok if ok.ndim else bool(ok)  # type: ignore[return-value]


def place_of(words: Sequence[str]) -> PlaceName | None:
    """The place that side words name ('top', 'left' -> 'top left'; 'middle' -> 'centre'), or
    None when they name none ('left', 'right')."""
    if not words:
        return None
    if set(words) <= {"middle", "centre", "center"}:
        return "centre"
    across = {w for w in words if w in ("left", "right")}
    down = {w for w in words if w in ("top", "bottom")}
    if len(across) > 1 or len(down) > 1 or len(across) + len(down) != len(set(words)):
        return None
    return cast(PlaceName, " ".join([*down, *across]))


def place_anchor(place: PlaceName) -> tuple[float, float]:
    """Where in ``place`` a planner aims an object: the middle of its band or corner."""
    x0, x1, y0, y1 = place_bounds(place)
    return (x0 + x1) / 2, (y0 + y1) / 2


def place_phrase(place: PlaceName) -> str:
    """How a place reads after an object: 'in the top left corner', 'on the left'."""
    if place == "centre":
        return "in the centre"
    if " " in place:
        return f"in the {place} corner"
    return f"on the {place}" if place in ("left", "right") else f"at the {place}"


def places_hold(
    spec: SceneSpec, groups: Sequence[Sequence[T]], box: Callable[[T], list[float]]
) -> list[bool | None]:
    """Whether each object of ``spec`` with a place stands there (None: nothing found, or no
    place asked). Of what its group holds, as many as it asks for must be in place: a group of
    objects read alike ('a circle at the top and a red circle') holds the others' finds too."""
    out: list[bool | None] = []
    for obj, found in zip(spec.objects, groups, strict=True):
        if obj.place is None or not found:
            out.append(None)
            continue
        inside = sum(bool(in_place(*_box_centre(box(f)), obj.place)) for f in found)
        out.append(inside >= min(obj.count, len(found)))
    return out


def _box_centre(box: list[float]) -> tuple[float, float]:
    x, y, w, h = box
    return x + w / 2, y + h / 2


def holds(a: list[float], b: list[float], relation: str) -> bool:
    """Does ``a relation b`` hold between two boxes ('between' is checked by ``between``)?"""
    (ax, ay), (bx, by) = _box_centre(a), _box_centre(b)
    m = RELATION_MARGIN
    return {
        "left of": ax < bx - m,
        "right of": ax > bx + m,
        "above": ay < by - m,
        "below": ay > by + m,
        "next to": ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 < NEXT_TO,
    }[relation]


def related(subj: list[list[float]], obj: list[list[float]], relation: str) -> bool:
    """Does ``relation`` (not 'between') hold from the boxes ``subj`` to the boxes ``obj``? Every
    pair must hold, a box never related to itself ('a red circle above a circle': the red one is
    among the circles). When both sides are the same boxes, objects read alike ('two squares,
    one above the other'), one of them must stand in the relation to another."""
    pairs = [(a, b) for a in subj for b in obj if a is not b]
    same = bool(subj) and {id(a) for a in subj} == {id(b) for b in obj}
    return (any if same else all)(holds(a, b, relation) for a, b in pairs)


def between(a: list[float], b: list[float], c: list[float]) -> bool:
    """Is box ``a``'s centre horizontally between those of ``b`` and ``c``?"""
    ax, bx, cx = _box_centre(a)[0], _box_centre(b)[0], _box_centre(c)[0]
    return min(bx, cx) < ax < max(bx, cx)
