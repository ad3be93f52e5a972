"""Offline corrections (SLD's controller): what a detector found -> the layout the prompt wants.

The rules, in order: delete anything the prompt negates; keep every object that matches the
spec where it is; of too many, delete those that break the spec's relations most (then the
least confident); recolour a same-shaped leftover in place before adding a new object; move
objects that break a relation only as far as the relation needs (to the nearest free spot that
satisfies it); move an object out of the place the prompt gives it back in, near that place's
anchor; add what is still missing in free space, near where a fresh layout would put it.
Objects the prompt does not mention are left alone (extra objects are allowed, as in LMD).

Given ``obstacles`` (what the image holds that the detector was not asked about:
``scenecraft.sld.occupancy``; may be empty), an added or moved object is put clear of them too
and a wider gap (``WIDE_GAP``) from everything, where the canvas has room; else as close as
``GAP``, over obstacles last. Drawn a pixel or two apart, two objects of one colour run together
into one the judge reads as neither. Without (None): ``GAP`` from the detections alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from scenecraft.core.contracts import Box, Detection, Layout, ObjectSpec, RelationSpec, SceneSpec
from scenecraft.planner.geometry import (
    GAP,
    Allowed,
    centre,
    free_box,
    label_matches,
    layout_problems,
    negative_prompt,
    numbered,
    relation_mask,
    words_of,
)
from scenecraft.planner.layout import place_kinds, plan_layout
from scenecraft.shapesworld.grammar import SIZES
from scenecraft.shapesworld.judge import RELATION_MARGIN, between, holds, in_place, place_anchor

log = logging.getLogger(__name__)

_CLEAR = RELATION_MARGIN / 2 + 0.01  # how far past the dividing line a moved object goes
_SHRINK = (1.0, 0.85, 0.7)  # when no free spot fits a new object, try it smaller
WIDE_GAP = 0.03  # the gap an added or moved object keeps where it can (about 4 px at 128)
# how far subject centre s is on the wrong side of object centre t (> 0: the relation fails)
_AXIS_GAP = {
    "left of": lambda s, t: s[0] - t[0] + RELATION_MARGIN,
    "right of": lambda s, t: t[0] - s[0] + RELATION_MARGIN,
    "above": lambda s, t: s[1] - t[1] + RELATION_MARGIN,
    "below": lambda s, t: t[1] - s[1] + RELATION_MARGIN,
}


@dataclass
class _Obj:
    phrase: str
    box: Box
    kind: int | None  # index into spec.objects; None for objects the prompt does not mention
    score: float = 1.0


class _Corrector:
    def __init__(
        self, spec: SceneSpec, detections: list[Detection], obstacles: list[Box] | None = None
    ):
        self.spec = spec
        self.obstacles = list(obstacles or [])
        self.gaps = (GAP,) if obstacles is None else (WIDE_GAP, GAP)
        self.ideal = place_kinds(spec)
        self.objs = [
            _Obj(" ".join(words_of(d.label)), list(d.box), None, d.score)
            for d in detections
            if not any(label_matches(d.label, n) for n in spec.negations)
        ]

    def of_kind(self, k: int) -> list[_Obj]:
        return [o for o in self.objs if o.kind == k]

    def run(self) -> list[_Obj]:
        self.assign()
        self.recolour()
        for _ in range(3):
            broken = [r for r in self.spec.relations if not self.relation_ok(r)]
            if not broken:
                break
            for r in broken:
                self.fix(r)
        self.fix_places()
        self.add_missing()
        return self.objs

    def assign(self) -> None:
        """Give each detection (surest first) to the most specific kind it matches that still
        wants one, else to the most specific (an extra); drop the extras. Kinds a detection
        cannot tell apart ('a big and a small circle') so share the detections."""
        kinds = sorted(
            range(len(self.spec.objects)),
            key=lambda k: -len([a for a in self.spec.objects[k].attributes if a not in SIZES]),
        )
        for o in sorted(self.objs, key=lambda o: -o.score):
            fits = [k for k in kinds if label_matches(o.phrase, self.spec.objects[k])]
            room = [k for k in fits if len(self.of_kind(k)) < self.spec.objects[k].count]
            o.kind = (room or fits or [None])[0]
        for k, want in enumerate(self.spec.objects):
            found = self.of_kind(k)
            if len(found) > want.count:
                # the extras farthest from the spec (relations broken most, then least sure) go
                found.sort(key=lambda o: (self.violation(o), -o.score))
                for o in found[want.count :]:
                    self.objs.remove(o)

    def recolour(self) -> None:
        """A leftover of the right shape but the wrong colour becomes the missing object."""
        for k, want in enumerate(self.spec.objects):
            missing = want.count - len(self.of_kind(k))
            same_noun = [
                o
                for o in self.objs
                if o.kind is None and label_matches(o.phrase, ObjectSpec(name=want.name))
            ]
            for o in sorted(same_noun, key=lambda o: -o.score)[: max(missing, 0)]:
                o.phrase, o.kind = want.phrase, k

    def violation(self, o: _Obj) -> float:
        """How far (canvas fractions) ``o`` is from keeping its kind's relations."""
        total = 0.0
        for r in self.spec.relations:
            if o.kind not in (r.subject, r.object) or r.relation not in _AXIS_GAP:
                continue
            as_subject = o.kind == r.subject
            for b in self.of_kind(r.object if as_subject else r.subject):
                s, t = (o, b) if as_subject else (b, o)
                total += max(0.0, _AXIS_GAP[r.relation](centre(s.box), centre(t.box)))
        return total

    def relation_ok(self, r: RelationSpec) -> bool:
        subj, obj = self.of_kind(r.subject), self.of_kind(r.object)
        if r.relation == "between" and r.object2 is not None:
            obj2 = self.of_kind(r.object2)
            return all(
                between(a.box, b.box, c.box) for a in subj for b in obj for c in obj2 if c is not b
            )
        return all(holds(a.box, b.box, r.relation) for a in subj for b in obj)

    def others_mask(
        self, o: _Obj, skip: RelationSpec | None, cx: np.ndarray, cy: np.ndarray
    ) -> np.ndarray:
        """Candidate centres at which ``o`` keeps its place and every relation of its kind but
        ``skip``."""
        ok = np.ones_like(cx, dtype=bool)
        place = self.spec.objects[o.kind].place if o.kind is not None else None
        if place is not None:
            ok &= in_place(cx, cy, place)
        for r in self.spec.relations:
            if r is skip or r.relation == "between" or o.kind not in (r.subject, r.object):
                continue
            as_subject = o.kind == r.subject
            other = r.object if as_subject else r.subject
            boxes = [b.box for b in self.of_kind(other) if b is not o]
            ok &= relation_mask(r.relation, boxes, as_subject, cx, cy)
        for r in self.spec.relations:
            if r is not skip and r.relation == "between" and o.kind == r.subject:
                ok &= self.between_mask(r, cx)
        return ok

    def between_mask(self, r: RelationSpec, cx: np.ndarray) -> np.ndarray:
        assert r.object2 is not None
        pairs = [
            (centre(b.box)[0], centre(c.box)[0])
            for b in self.of_kind(r.object)
            for c in self.of_kind(r.object2)
            if c is not b
        ]
        lo = max((min(p) for p in pairs), default=0.0) + RELATION_MARGIN
        hi = min((max(p) for p in pairs), default=1.0) - RELATION_MARGIN
        return (cx > lo) & (cx < hi)

    def move(
        self,
        o: _Obj,
        skip: RelationSpec | None,
        extra: Allowed,
        towards: tuple[float, float] | None = None,
    ) -> None:
        """Move ``o`` to the free spot nearest ``towards`` (default: where it is) at which
        ``extra`` and its kind's other relations hold (clear of the obstacles where one is)."""
        occupied = [b.box for b in self.objs if b is not o]
        _, _, w, h = o.box

        def allowed(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
            return extra(cx, cy) & self.others_mask(o, skip, cx, cy)

        for clutter in self.clutters():
            for gap in self.gaps:
                box = free_box(w, h, occupied + clutter, towards or centre(o.box), allowed, gap=gap)
                if box is not None:
                    o.box = box
                    return

    def clutters(self) -> list[list[Box]]:
        """What a placed object keeps clear of besides the known objects: the obstacles, and
        where no spot is clear of them, nothing."""
        return [self.obstacles, []] if self.obstacles else [[]]

    def fix_places(self) -> None:
        """Move each object out of its place (the spec's, 'a star in the top left corner') to
        the free spot nearest the place's anchor at which its relations hold, smaller if only
        a smaller one fits there."""
        for k, want in enumerate(self.spec.objects):
            if want.place is None:
                continue
            for o in self.of_kind(k):
                if in_place(*centre(o.box), want.place):
                    continue
                occupied = [b.box for b in self.objs if b is not o]
                box = self.fitted(o, o.box[2], o.box[3], occupied, place_anchor(want.place))
                if box is not None:
                    o.box = box

    def fix(self, r: RelationSpec) -> None:
        subj, obj = self.of_kind(r.subject), self.of_kind(r.object)
        if not subj or not obj:
            return
        if r.relation == "next to":
            boxes = [b.box for b in obj]
            for a in subj:
                if not all(holds(a.box, b, "next to") for b in boxes):
                    self.move(a, r, lambda cx, cy: relation_mask("next to", boxes, True, cx, cy))
        elif r.relation == "between":
            for a in subj:
                self.move(a, r, lambda cx, cy: self.between_mask(r, cx))
        else:
            self.split(r, subj, obj)

    def split(self, r: RelationSpec, subj: list[_Obj], obj: list[_Obj]) -> None:
        """Fix 'left of' and the like: pick the dividing line that needs the least movement
        (moving the subject when it costs the same), then move only what is on the wrong side."""
        axis = 0 if r.relation in ("left of", "right of") else 1
        first, second = (subj, obj) if r.relation in ("left of", "above") else (obj, subj)
        pos = [[centre(o.box)[axis] for o in group] for group in (first, second)]
        half = [[o.box[2 + axis] / 2 for o in group] for group in (first, second)]
        t_min, t_max = max(half[0]) + _CLEAR, 1 - max(half[1]) - _CLEAR
        if t_min > t_max:
            return
        weight = (1.0, 1.001) if first is subj else (1.001, 1.0)

        def cost(t: float) -> float:
            before = sum(max(0.0, c - (t - _CLEAR)) for c in pos[0])
            after = sum(max(0.0, (t + _CLEAR) - c) for c in pos[1])
            return weight[0] * before + weight[1] * after

        candidates = [c + _CLEAR for c in pos[0]] + [c - _CLEAR for c in pos[1]] + [t_min, t_max]
        t = min((float(np.clip(c, t_min, t_max)) for c in candidates), key=cost)
        for group, side, wrong in ((first, -1, pos[0]), (second, 1, pos[1])):
            edge = t + side * _CLEAR
            for o, c in zip(group, wrong, strict=True):
                if side * (c - edge) < 0:
                    # aim just across the line, keeping the other coordinate
                    towards = list(centre(o.box))
                    towards[axis] = edge
                    self.move(
                        o,
                        r,
                        lambda cx, cy, edge=edge, side=side: side * ((cx, cy)[axis] - edge) >= 0,
                        (towards[0], towards[1]),
                    )

    def add_missing(self) -> None:
        """New objects, sized like their kind's others, at the free spot nearest to where a
        fresh layout would put them that keeps their relations."""
        for k, want in enumerate(self.spec.objects):
            have = self.of_kind(k)
            for i in range(len(have), want.count):
                ideal = self.ideal[k][i]
                sizes = [o.box[2:] for o in have] or [ideal[2:]]
                w, h = (float(v) for v in np.median(sizes, axis=0))
                new = _Obj(want.phrase, [0.0, 0.0, w, h], k)
                box = self.fitted(new, w, h, [o.box for o in self.objs], centre(ideal))
                if box is not None:
                    new.box = box
                    self.objs.append(new)

    def fitted(
        self, o: _Obj, w: float, h: float, occupied: list[Box], prefer: tuple[float, float]
    ) -> Box | None:
        """The free box nearest ``prefer`` at which ``o`` keeps its place and relations, at its
        size (w, h) or, where only a smaller one fits, the largest of ``_SHRINK`` that does;
        clear of the obstacles at any size before over them, and the wider gap first."""
        for clutter in self.clutters():
            for scale in _SHRINK:
                for gap in self.gaps:
                    box = free_box(
                        w * scale,
                        h * scale,
                        occupied + clutter,
                        prefer,
                        lambda cx, cy: self.others_mask(o, None, cx, cy),
                        gap=gap,
                    )
                    if box is not None:
                        return box
        return None


def correct_layout(
    spec: SceneSpec, detections: list[Detection], obstacles: list[Box] | None = None
) -> Layout:
    """The layout that repairs ``detections`` into what ``spec`` asks for, changing least;
    added and moved objects kept clear of ``obstacles`` where there is room."""
    objs = _Corrector(spec, detections, obstacles).run()
    layout = Layout(
        items=numbered([(o.phrase, o.box) for o in objs]),
        background=spec.background or "",
        negative_prompt=negative_prompt(spec),
    )
    problems = layout_problems(layout, spec, max_iou=1.0)
    if problems:
        log.warning(
            "could not repair the detections in place (%s); planning the layout afresh",
            "; ".join(problems),
        )
        return plan_layout(spec)
    return layout
