"""Offline edits (SLD's editing mode): an instruction and the detections -> the edited layout.

One instruction may hold several steps separated by ';' or 'then'. Each step is one of

- move:     "move the red circle to the left of the blue square" / "to the top right" / "up"
- swap:     "swap the red circle and the blue square"
- resize:   "make the star bigger" / "shrink the heart" / "make the circle large"
- recolour: "make the red circle blue" / "change the colour of the star to green"
- remove:   "remove the hearts" / "delete the leftmost star"
- add:      "add two green stars below the circle" / "add a heart in the top left corner"
- replace:  "replace the red circle with a blue star" / "turn the square into a heart"
- copy:     "duplicate the star" / "double the hearts": another of each, next to it

Objects are named as in prompts ("the red circle", "the stars", "all hearts"); when several
match a singular name, a position word picks one ("the leftmost star", "the top circle").
Moved, resized and added objects go to the nearest free spot that satisfies the instruction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scenecraft.core.contracts import Box, Detection, Layout, ObjectSpec
from scenecraft.core.errors import PlannerError
from scenecraft.planner.geometry import (
    Allowed,
    centre,
    free_box,
    label_matches,
    numbered,
    relation_mask,
    words_of,
)
from scenecraft.shapesworld.grammar import COLORS, SIZES
from scenecraft.shapesworld.judge import in_place, place_anchor, place_of
from scenecraft.shapesworld.prompts import parse_prompt

_COLOR_ALT = "|".join(COLORS)
_SIZE_ALT = "|".join(SIZES)
_FACTORS = {"bigger": 1.5, "larger": 1.5, "enlarge": 1.5, "grow": 1.5, "double": 2.0}
_FACTORS |= {"smaller": 1 / 1.5, "tinier": 1 / 1.5, "shrink": 1 / 1.5, "halve": 0.5}
_NUDGE = 0.2  # "move it left": a fifth of the canvas ("a bit": half that)
# where to look first for a spot "left of" (etc.) a reference: this far from its centre
_TOWARDS = {
    "left of": (-0.25, 0.0),
    "right of": (0.25, 0.0),
    "above": (0.0, -0.25),
    "below": (0.0, 0.25),
    "next to": (0.2, 0.0),
}
_PICKERS: dict[str, Callable[[Box], float]] = {
    "leftmost": lambda b: centre(b)[0],
    "left": lambda b: centre(b)[0],
    "rightmost": lambda b: -centre(b)[0],
    "right": lambda b: -centre(b)[0],
    "topmost": lambda b: centre(b)[1],
    "top": lambda b: centre(b)[1],
    "upper": lambda b: centre(b)[1],
    "bottommost": lambda b: -centre(b)[1],
    "bottom": lambda b: -centre(b)[1],
    "lower": lambda b: -centre(b)[1],
    "largest": lambda b: -b[2] * b[3],
    "biggest": lambda b: -b[2] * b[3],
    "smallest": lambda b: b[2] * b[3],
}
_PLACE = (
    r"(?P<rel>to the left of|left of|to the right of|right of|above|over|on top of|atop|below|"
    r"under|underneath|beneath|next to|beside|between)\s+(?P<ref>.+)"
)
_WHERE = (
    r"(?P<where>(?:top|bottom|upper|lower)?\s*(?:left|right|centre|center|middle|top|bottom)?)"
    r"(?: (?:corner|side|edge))?"
)
# the object a move names: definite, or 'everything', or a pronoun for an earlier step's object
_SUBJ = r"(?P<a>(?:(?:the|all|every|both|each) .+?|everything|it|them))"
_BIT = r"(?P<bit>(?:by )?(?:a (?:bit|little|tad)|slightly|a little bit))"
_STEP_PATTERNS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (kind, re.compile(p))
    for kind, p in (
        (
            "keep",
            r"^(?:(?:remove|delete|erase|get rid of|take away|take out|clear) (?:everything|"
            r"all(?: the)?(?: other)?(?: objects| shapes| things)?) (?:except|but|other than|"
            r"apart from|save)(?: for)? (?P<a>.+)|(?:keep|leave) only (?P<b>.+))$",
        ),
        (
            "remove",
            r"^(?:remove|delete|erase|get rid of|take away|take out|lose|drop|ditch|eliminate|"
            r"scrap) (?P<a>.+)$",
        ),
        (
            "swap",
            r"^(?:swap|switch|exchange|flip|trade|interchange) (?:the (?:positions|places) of )?"
            r"(?P<a>.+?) (?:and|with) (?P<b>.+?)(?: around)?$",
        ),
        (
            "swap",
            r"^(?P<a>(?:the|all|both) .+?) and (?P<b>.+?) (?:should )?(?:swap|switch|trade|"
            r"exchange) (?:places|positions)$",
        ),
        (
            "recolour_like",
            r"^(?:make|turn|paint|colou?r|recolou?r|change) (?P<a>.+?) (?:to )?the same colou?r "
            r"as (?P<r>.+)$",
        ),
        (
            "recolour",
            rf"^(?:can|could) (?P<a>.+?) (?:be|become|turn) (?:colou?red )?(?P<c>{_COLOR_ALT})$",
        ),
        (
            "recolour",
            rf"^(?:change|turn|make) (?P<a>.+?) (?:to|into) an? (?P<c>{_COLOR_ALT}) one$",
        ),
        ("replace", r"^(?:replace|substitute) (?P<a>.+?) (?:with|by) (?P<b>.+)$"),
        ("replace", r"^(?:turn|change|transform|convert) (?P<a>.+?) into (?P<b>.+)$"),
        ("recolour", rf"^(?:change|set) the colou?r of (?P<a>.+?) to (?P<c>{_COLOR_ALT})$"),
        ("recolour", rf"^(?:change|set) (?P<a>.+?)'s colou?r to (?P<c>{_COLOR_ALT})$"),
        (
            "recolour",
            rf"^(?:(?:i(?:'d| would) like|i want) (?P<a>.+?) to|(?P<b>.+?) should) "
            rf"(?:be|become|turn|look) (?:colou?red )?(?P<c>{_COLOR_ALT})$",
        ),
        (
            "recolour",
            rf"^(?:make|turn|paint|colou?r|recolou?r|change) (?P<a>.+?) "
            rf"(?:to |into )?(?P<c>{_COLOR_ALT})$",
        ),
        ("resize", r"^make (?P<a>.+?) (?P<f>bigger|larger|smaller|tinier)$"),
        ("resize", r"^make (?P<a>.+?) (?P<f>twice as (?:big|large)|half (?:the|its) size)$"),
        ("resize", rf"^make (?P<a>.+?) (?P<s>{_SIZE_ALT})$"),
        ("resize", r"^(?P<f>enlarge|grow|shrink) (?P<a>.+)$"),
        ("resize", r"^(?P<f>double|halve) the size of (?P<a>.+)$"),
        ("copy", r"^(?:duplicate|copy|clone|double) (?P<a>.+)$"),
        # a nudge: "move the star a bit to the left", "shift it up slightly"
        (
            "move",
            rf"^(?:move|shift|drag|push|slide) (?P<a>.+?) {_BIT} (?:to the )?"
            rf"(?P<dir>up|down|left|right)(?:wards?)?$",
        ),
        (
            "move",
            rf"^(?:move|shift|drag|push|slide) (?P<a>.+?) (?:to the )?"
            rf"(?P<dir>up|down|left|right)(?:wards?)? {_BIT}$",
        ),
        (
            "move",
            rf"^(?:move|shift|put|place|drag|push|slide) {_SUBJ} {_PLACE}$",
        ),
        (
            "move",
            rf"^(?:move|shift|put|place|drag|push|slide) {_SUBJ} "
            rf"(?:to|into|in|towards?) the {_WHERE}$",
        ),
        (
            "move",
            r"^(?:move|shift|drag|push|slide) (?P<a>.+?) (?P<dir>up|down|left|right)(?:wards?)?$",
        ),
        (
            "move",
            rf"^(?P<a>.+?) should (?:be|go|sit) (?:in|on|at|to) the {_WHERE}$",
        ),
        ("add", rf"^(?:add|insert|put|place|draw) (?P<a>.+?) {_PLACE}$"),
        (
            "add",
            rf"^(?:add|insert|put|place|draw) (?P<a>.+?) (?:to|into|in|at|on) the {_WHERE}$",
        ),
        ("add", r"^(?:add|insert|draw|put|place) (?P<a>(?!the |all |every |it$|them$).+)$"),
    )
)
_RELATION_OF = {
    "to the left of": "left of",
    "left of": "left of",
    "to the right of": "right of",
    "right of": "right of",
    "above": "above",
    "over": "above",
    "on top of": "above",
    "atop": "above",
    "underneath": "below",
    "below": "below",
    "under": "below",
    "beneath": "below",
    "next to": "next to",
    "beside": "next to",
    "between": "between",
}


@dataclass
class _Item:
    phrase: str
    box: Box


_VERBS = (
    "move|shift|drag|push|slide|put|place|make|paint|colou?r|recolou?r|remove|delete|erase|"
    "add|insert|draw|swap|switch|replace|turn|change|shrink|enlarge|grow|double|halve|keep"
)


def _steps(instruction: str) -> list[str]:
    text = re.sub(r"[-_]", " ", instruction.lower()).strip(" .!?")
    text = re.sub(r"\bplease\b", " ", text)
    # a polite frame around the step: "could you ...", "i'd like you to ..."
    text = re.sub(
        r"^\s*(?:(?:could|can|would|will) you|i(?:'d| would) like you to|i want you to|"
        r"(?:go ahead and|let's|lets))\s+",
        "",
        text,
    )
    text = re.sub(r"\bover to\b", "to", text)  # "move it over to the left" (not "over": above)
    text = re.sub(r"\s+instead\b", "", text)  # "can the circle be yellow instead"
    # steps: ';', '. ', 'then', or 'and' before a verb ("move the circle up and make it blue")
    parts = re.split(
        rf"\s*(?:;|\.\s|,?\s*\bthen\b|,?\s*\band then\b|,?\s*\band (?=(?:{_VERBS})\b))\s*",
        text,
    )
    return [re.sub(r"\s+", " ", p).strip(" ,") for p in parts if p.strip(" ,")]


def _object(phrase: str) -> ObjectSpec:
    spec = parse_prompt(phrase)
    if not spec.objects:
        raise PlannerError(f"could not tell which object {phrase!r} means")
    return spec.objects[0]


class _Editor:
    def __init__(self, detections: list[Detection]):
        self.items = [_Item(" ".join(words_of(d.label)), list(d.box)) for d in detections]
        self.named: list[_Item] = []  # what the last step named: "it" in the next one

    def select(self, phrase: str) -> list[_Item]:
        """The items a noun phrase names: all for plurals/'all', one for a singular name; 'it'
        or 'them' is what an earlier step named."""
        if phrase in ("it", "them", "they", "that", "those"):
            if not self.named:
                raise PlannerError(f"{phrase!r} names nothing: no earlier step named an object")
            return [it for it in self.named if it in self.items]
        if re.fullmatch(
            r"everything|all(?: of)? (?:the )?(?:objects|shapes|things)|all of them|"
            r"every (?:object|shape|thing)",
            phrase,
        ):
            return list(self.items)
        # "the circle and the star": each of them
        parts = re.split(r"\s*(?:,\s*(?:and\s+)?|\band\s+)(?=(?:the|all|every|both)\b)", phrase)
        if len(parts) > 1:
            return [it for part in parts for it in self._select(part)]
        return self._select(phrase)

    def subject(self, phrase: str) -> list[_Item]:
        """``select``, for the object a step acts on (which 'it' in a later step names)."""
        self.named = self.select(phrase)
        return self.named

    def _select(self, phrase: str) -> list[_Item]:
        words = phrase.split()
        named = " ".join(w for w in words if w not in _PICKERS)
        if one := re.fullmatch(rf"(?:(?:the|all|both) )?(?P<c>{_COLOR_ALT}) (?P<n>ones?)", named):
            # "the red one", "the blue ones": whatever is of that colour
            obj = ObjectSpec(
                name="object", count=1 if one["n"] == "one" else 2, attributes=[one["c"]]
            )
            found = [it for it in self.items if one["c"] in it.phrase.split()]
        else:
            obj = _object(named)
            found = [it for it in self.items if label_matches(it.phrase, obj)]
        if not found:
            seen = ", ".join(it.phrase for it in self.items) or "nothing"
            raise PlannerError(f"nothing in the image matches {obj.phrase!r}; it shows {seen}")
        picker = next((w for w in words if w in _PICKERS), None)
        if picker is not None:
            return [min(found, key=lambda it: _PICKERS[picker](it.box))]
        if words[0] in ("all", "every", "both") or obj.count > 1 or len(found) == 1:
            return found
        raise PlannerError(
            f"{len(found)} objects match {obj.phrase!r}; say which one "
            "(leftmost, rightmost, top, bottom, largest, smallest) or 'all'"
        )

    def place(
        self, item: _Item, prefer: tuple[float, float], allowed: Allowed | None = None
    ) -> None:
        """Put ``item`` at the free spot nearest ``prefer`` that ``allowed`` accepts."""
        occupied = [it.box for it in self.items if it is not item]
        _, _, w, h = item.box
        box = free_box(w, h, occupied, prefer, allowed)
        if box is None:
            raise PlannerError(f"no free space to put the {item.phrase} there")
        item.box = box

    def where(self, m: re.Match) -> tuple[tuple[float, float], Allowed]:
        """Preferred centre and allowed-centre test for a place phrase in the match."""
        groups = m.groupdict()
        if groups.get("rel"):
            relation = _RELATION_OF[groups["rel"]]
            if relation == "between":
                first, _, second = groups["ref"].partition(" and ")
                a, b = self.select(first)[0].box, self.select(second)[0].box
                lo, hi = sorted((centre(a)[0], centre(b)[0]))
                cy = (centre(a)[1] + centre(b)[1]) / 2
                return ((lo + hi) / 2, cy), lambda cx, cy: (cx > lo + 0.03) & (cx < hi - 0.03)
            refs = [it.box for it in self.select(groups["ref"])]
            rx = float(np.mean([centre(b)[0] for b in refs]))
            ry = float(np.mean([centre(b)[1] for b in refs]))
            dx, dy = _TOWARDS[relation]
            return (rx + dx, ry + dy), lambda cx, cy: relation_mask(relation, refs, True, cx, cy)
        words = (groups.get("where") or "").replace("upper", "top").replace("lower", "bottom")
        # "the top middle" is the top; nothing said but "middle" (or nothing) is the centre
        sides = [w for w in words.split() if w in ("left", "right", "top", "bottom")]
        place = place_of(sides) or "centre"
        return place_anchor(place), lambda cx, cy: in_place(cx, cy, place)

    def apply(self, step: str) -> None:
        for kind, pattern in _STEP_PATTERNS:
            m = pattern.match(step)
            if m:
                getattr(self, kind)(m)
                return
        raise PlannerError(
            f"could not understand the edit {step!r}; say move, swap, resize, recolour, "
            "remove, add or replace, e.g. 'move the red circle to the left of the star'"
        )

    def keep(self, m: re.Match) -> None:
        """'remove everything except the square', 'keep only the stars'."""
        kept = self.subject(m["a"] or m["b"])
        self.items = [it for it in self.items if it in kept]

    def remove(self, m: re.Match) -> None:
        """'remove the hearts', 'remove all stars except the leftmost one'."""
        which, *but = re.split(
            r"\s(?:except|but|other than|apart from)(?: for)?\s", m["a"], maxsplit=1
        )
        gone = self.subject(which)
        if but:  # "the leftmost one": one of those named first
            kept = self.select(re.sub(r"\bones?\b", _object(which).name, but[0]))
            gone = [it for it in gone if it not in kept]
        for it in gone:
            self.items.remove(it)

    def swap(self, m: re.Match) -> None:
        (a,), (b,) = self.subject(m["a"])[:1], self.select(m["b"])[:1]
        ca, cb = centre(a.box), centre(b.box)
        for it, target in ((a, cb), (b, ca)):
            it.box = _at(it.box, target)
        for it, target in ((a, cb), (b, ca)):
            self.place(it, target)

    def replace(self, m: re.Match) -> None:
        """'replace the circle with a star'; with more than one ('with two triangles'), the
        others stand next to the first, in the nearest free spots."""
        new = _object(m["b"])
        for it in self.subject(m["a"]):
            it.phrase = new.phrase
            for _ in range(new.count - 1):
                self.put(it.phrase, it.box, centre(it.box))

    def recolour_like(self, m: re.Match) -> None:
        """'make the star the same colour as the circle'."""
        (ref,) = self.select(m["r"])[:1]
        colour = next((w for w in ref.phrase.split() if w in COLORS), None)
        if colour is None:
            raise PlannerError(f"the {ref.phrase} has no colour to give")
        self.paint(self.subject(m["a"]), colour)

    def copy(self, m: re.Match) -> None:
        """'duplicate the star', 'double the hearts': one more of each, next to it."""
        self.named = [self.put(it.phrase, it.box, centre(it.box)) for it in self.subject(m["a"])]

    def put(
        self, phrase: str, box: Box, prefer: tuple[float, float], allowed: Allowed | None = None
    ) -> _Item:
        """A new item of ``box``'s size at the free spot nearest ``prefer`` (see ``place``)."""
        it = _Item(phrase, list(box))
        self.items.append(it)
        self.place(it, prefer, allowed)
        return it

    def recolour(self, m: re.Match) -> None:
        self.paint(self.subject(m["a"] or m.groupdict().get("b")), m["c"])

    @staticmethod
    def paint(items: list[_Item], colour: str) -> None:
        for it in items:
            kept = [w for w in it.phrase.split() if w not in COLORS]
            it.phrase = " ".join([colour, *kept])

    def resize(self, m: re.Match) -> None:
        groups = m.groupdict()
        for it in self.subject(m["a"]):
            _, _, w, h = it.box
            if groups.get("s"):
                factor = 2 * SIZES[groups["s"]] / max(w, h)
            elif groups["f"].startswith(("twice", "half")):
                factor = 2.0 if groups["f"].startswith("twice") else 0.5
            else:
                factor = _FACTORS[groups["f"]]
            factor = min(factor, 0.95 / max(w, h))
            it.box = _at([0, 0, w * factor, h * factor], centre(it.box))
            self.place(it, centre(it.box))

    def move(self, m: re.Match) -> None:
        groups = m.groupdict()
        for it in self.subject(m["a"]):
            if groups.get("dir"):
                step = _NUDGE / 2 if groups.get("bit") else _NUDGE
                dx, dy = {"up": (0, -step), "down": (0, step), "left": (-step, 0)}.get(
                    groups["dir"], (step, 0)
                )
                cx, cy = centre(it.box)
                self.place(it, (cx + dx, cy + dy))
                continue
            prefer, allowed = self.where(m)
            if not groups.get("rel"):
                # into a region: the nearest spot in it, not its middle (move only as needed)
                prefer = centre(it.box)
            self.place(it, prefer, allowed)

    def add(self, m: re.Match) -> None:
        obj = _object(m["a"])
        placed = "rel" in m.groupdict() or "where" in m.groupdict()
        prefer, allowed = self.where(m) if placed else ((0.5, 0.5), None)
        sides = [max(it.box[2], it.box[3]) for it in self.items]
        side = float(np.median(sides)) if sides else 2 * SIZES["medium"]
        self.named = [
            self.put(obj.phrase, [0.0, 0.0, side, side], prefer, allowed) for _ in range(obj.count)
        ]


def _at(box: Box, c: tuple[float, float]) -> Box:
    """``box``'s size centred on ``c``, shifted back onto the canvas."""
    _, _, w, h = box
    x = float(np.clip(c[0] - w / 2, 0.0, 1.0 - w))
    y = float(np.clip(c[1] - h / 2, 0.0, 1.0 - h))
    return [x, y, w, h]


def edit_layout(instruction: str, detections: list[Detection]) -> Layout:
    """The layout after applying ``instruction`` to the detected objects."""
    editor = _Editor(detections)
    steps = _steps(instruction)
    if not steps:
        raise PlannerError("the edit instruction is empty")
    for step in steps:
        editor.apply(step)
    return Layout(items=numbered([(it.phrase, it.box) for it in editor.items]))
