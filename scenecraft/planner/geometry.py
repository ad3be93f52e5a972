"""Geometry the planners share: which label is which object, relation tests, free-space search,
and the checklist a layout must pass against a spec (counts, negations, places, relations,
overlaps).

Relations and places use the judge's semantics (box centres, ``RELATION_MARGIN``, ``in_place``),
so a layout that passes here is one the judge would pass if every object were drawn inside its
box.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scenecraft.core.contracts import Box, Layout, LayoutItem, ObjectSpec, SceneSpec
from scenecraft.core.geometry import box_iou
from scenecraft.shapesworld.grammar import SIZES
from scenecraft.shapesworld.judge import (
    NEXT_TO,
    RELATION_MARGIN,
    counted,
    place_phrase,
    places_hold,
    relations_hold,
)

MAX_IOU = 0.1  # most overlap a planned layout allows between two boxes
GAP = 0.01  # free space left around a box the planner places

# vectorised test of candidate centres (cx, cy arrays) -> bool array
Allowed = Callable[[np.ndarray, np.ndarray], np.ndarray]


def centre(box: Box) -> tuple[float, float]:
    x, y, w, h = box
    return x + w / 2, y + h / 2


def words_of(label: str) -> list[str]:
    """Words of a label without its instance suffix ('red circle #2' -> ['red', 'circle'])."""
    return label.split("#")[0].split()


def label_matches(label: str, obj: ObjectSpec) -> bool:
    """Is a detected or planned object with this label an instance of ``obj``?

    The label must end with the object's name and carry every attribute that is not a size
    (detectors name colours, not sizes): 'red circle' is a 'large red circle' and a 'circle'."""
    words = words_of(label)
    name = obj.name.split()
    if words[-len(name) :] != name:
        return False
    return all(a in words for a in obj.attributes if a not in SIZES)


def layout_problems(layout: Layout, spec: SceneSpec, max_iou: float = MAX_IOU) -> list[str]:
    """Everything in which ``layout`` fails ``spec``, one line each; empty when it satisfies it.

    Unrequested extra objects are allowed (as in LMD and the judge); boxes are in bounds by
    construction (``LayoutItem`` validates them)."""
    problems = []
    groups = [[it for it in layout.items if label_matches(it.label, o)] for o in spec.objects]
    # objects one label can fit ('a big and a small circle') share the planned ones
    numbers = counted([it.label for it in layout.items], spec.objects, label_matches)
    for o, n in zip(spec.objects, numbers, strict=True):
        if n != o.count:
            problems.append(f"wanted {o.count} {o.phrase}, planned {n}")
    for n in spec.negations:
        found = [it for it in layout.items if label_matches(it.label, n)]
        if found:
            problems.append(f"wanted no {n.phrase}, planned {len(found)}")
    for r, ok in zip(spec.relations, relations_hold(spec, groups, lambda it: it.box), strict=True):
        name = f"{spec.objects[r.subject].phrase} {r.relation} {spec.objects[r.object].phrase}"
        if not ok:
            problems.append(f"'{name}' does not hold")
    for o, ok in zip(spec.objects, places_hold(spec, groups, lambda it: it.box), strict=True):
        if o.place is not None and ok is False:
            problems.append(f"'{o.phrase} {place_phrase(o.place)}' does not hold")
    items = layout.items
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            if box_iou(a.box, b.box) > max_iou:
                problems.append(
                    f"{a.label} and {b.label} overlap (IoU {box_iou(a.box, b.box):.2f})"
                )
    return problems


def free_box(
    w: float,
    h: float,
    occupied: list[Box],
    prefer: tuple[float, float],
    allowed: Allowed | None = None,
    step: float = 0.01,
    gap: float = GAP,
) -> Box | None:
    """The box of size (w, h) nearest to centre ``prefer`` that stays on the canvas, keeps
    ``gap`` from every occupied box, and whose centre ``allowed`` accepts; None if none does."""
    if w > 1 or h > 1:
        return None
    # a grid, plus the lines through the preferred spot and along the canvas edges, so that
    # moving along one axis only, or right up to an edge, is always a candidate
    px = float(np.clip(prefer[0], w / 2, 1 - w / 2))
    py = float(np.clip(prefer[1], h / 2, 1 - h / 2))
    xs = np.unique(np.append(np.arange(w / 2, 1 - w / 2, step), [w / 2, 1 - w / 2, px]))
    ys = np.unique(np.append(np.arange(h / 2, 1 - h / 2, step), [h / 2, 1 - h / 2, py]))
    cx, cy = (g.ravel() for g in np.meshgrid(xs, ys))
    ok = np.ones_like(cx, dtype=bool)
    for ox, oy, ow, oh in occupied:
        apart_x = (cx + w / 2 + gap <= ox) | (cx - w / 2 >= ox + ow + gap)
        apart_y = (cy + h / 2 + gap <= oy) | (cy - h / 2 >= oy + oh + gap)
        ok &= apart_x | apart_y
    if allowed is not None:
        ok &= allowed(cx, cy)
    if not ok.any():
        return None
    d = (cx - prefer[0]) ** 2 + (cy - prefer[1]) ** 2
    i = int(np.argmin(np.where(ok, d, np.inf)))
    x0 = float(np.clip(cx[i] - w / 2, 0.0, 1.0 - w))
    y0 = float(np.clip(cy[i] - h / 2, 0.0, 1.0 - h))
    return [x0, y0, w, h]


def relation_mask(
    relation: str,
    others: list[Box],
    as_subject: bool,
    cx: np.ndarray,
    cy: np.ndarray,
    margin: float = RELATION_MARGIN + 0.005,
) -> np.ndarray:
    """Which candidate centres keep ``relation`` with every box in ``others``: the candidate is
    the relation's subject (``as_subject``) or its reference object."""
    ok = np.ones_like(cx, dtype=bool)
    for box in others:
        bx, by = centre(box)
        rel = relation if as_subject else _CONVERSE.get(relation, relation)
        if rel == "left of":
            ok &= cx < bx - margin
        elif rel == "right of":
            ok &= cx > bx + margin
        elif rel == "above":
            ok &= cy < by - margin
        elif rel == "below":
            ok &= cy > by + margin
        elif rel == "next to":
            ok &= np.hypot(cx - bx, cy - by) < NEXT_TO - margin
    return ok


_CONVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}


def numbered(pairs: list[tuple[str, Box]]) -> list[LayoutItem]:
    """Layout items from (phrase, box) pairs, numbering instances per phrase ('star #2')."""
    seen: dict[str, int] = {}
    items = []
    for phrase, box in pairs:
        phrase = " ".join(words_of(phrase))
        seen[phrase] = seen.get(phrase, 0) + 1
        items.append(LayoutItem(label=f"{phrase} #{seen[phrase]}", box=box))
    return items


def negative_prompt(spec: SceneSpec) -> str:
    return ", ".join(n.phrase for n in spec.negations)
