"""Prompts of ShapesWorld: a slot-filling parser for its grammar, and scenes placed from a spec.

The parser reads the canonical benchmark sentences and the ordinary English around them
("3 red circles", "a couple of discs coloured violet", "to the left of a star is a heart",
"no hearts, just a triangle", "i'd like a pair of grey squares pls"), one-letter typos of shape
and colour words ("a red cirlce"), and everyday nouns a real detector knows ("a brown dog next to
a wooden chair"), so a real-world prompt still yields objects to detect. Any other word never
becomes an object: the spec's ``warnings`` name what was ignored, and the typos it read.
It is the offline planner's parser too: one set of rules for planner, judge and benchmark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from scenecraft.core.contracts import ObjectSpec, RelationSpec, SceneSpec
from scenecraft.core.errors import InvalidParams
from scenecraft.shapesworld.grammar import BACKGROUNDS, COLORS, NUMBER_WORDS, SHAPES, SIZES, plural
from scenecraft.shapesworld.judge import in_place, place_bounds, place_of
from scenecraft.shapesworld.scene import Scene, ShapeObject, place, random_background
from scenecraft.shapesworld.words import COMMON_NOUNS, FILLER, POSITION_WORDS, correct_typo

_TEENS = ("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen")
_COUNTS = (
    {w: n for n, w in NUMBER_WORDS.items() if n > 0}
    | {w: 11 + i for i, w in enumerate(_TEENS)}
    | {"eighteen": 18, "nineteen": 19, "twenty": 20, "single": 1, "lone": 1}
)
_ARTICLES = {"a", "an"}
_DETERMINERS = {
    "the", "some", "several", "many", "few", "these", "those", "this", "that", "multiple", "various"
}  # fmt: skip
# every written form of a shape -> (shape, is the form plural?)
_SHAPE_FORMS: dict[str, tuple[str, bool]] = (
    {s: (s, False) for s in SHAPES}
    | {plural(s): (s, True) for s in SHAPES}
    | {"disc": ("circle", False), "disk": ("circle", False)}
    | {"discs": ("circle", True), "disks": ("circle", True)}
    | {"dot": ("circle", False), "dots": ("circle", True)}
)
_COLOR_SYNONYMS = {
    "violet": "purple",
    "magenta": "pink",
    "turquoise": "cyan",
    "aqua": "cyan",
    "teal": "cyan",
    "scarlet": "red",
    "crimson": "red",
    "maroon": "red",
    "navy": "blue",
    "azure": "blue",
    "cobalt": "blue",
    "lilac": "purple",
    "lavender": "purple",
    "mauve": "purple",
    "indigo": "purple",
    "emerald": "green",
    "jade": "green",
    "lime": "green",
    "cerulean": "blue",
    "sapphire": "blue",
    "ruby": "red",
    "mustard": "yellow",
    "amber": "orange",
    "tangerine": "orange",
    "fuchsia": "pink",
}
_SIZE_SYNONYMS = {
    "big": "large",
    "huge": "large",
    "massive": "large",
    "giant": "large",
    "enormous": "large",
    "gigantic": "large",
    "tiny": "small",
    "little": "small",
    "lil": "small",
    "mini": "small",
    "teeny": "small",
    "wee": "small",
}
# a colour said near enough ("pinkish") and its shades ("dark blue") read as the colour, reported
_COLOUR_NEAR = {
    "reddish": "red",
    "bluish": "blue",
    "blueish": "blue",
    "greenish": "green",
    "yellowish": "yellow",
    "purplish": "purple",
    "pinkish": "pink",
    "orangish": "orange",
    "orangey": "orange",
    "greyish": "gray",
    "grayish": "gray",
}
_SHADES = "dark|light|pale|bright|deep|vivid|pastel|neon"
# colours a real detector knows but ShapesWorld does not draw; kept as plain attributes
_OTHER_COLORS = {"black", "white", "gray", "brown", "gold", "silver", "beige", "golden"}
_NEGATORS = {"without", "no", "not", "none", "zero", "excluding", "dont"}
_RELATIONS = {
    "leftof": "left of",
    "rightof": "right of",
    "above": "above",
    "below": "below",
    "nextto": "next to",
    "between": "between",
    # read when complete (``_Parser.surround``): a pair around an object, or on either side of
    # it, holds it between them; three or four around it take a side each
    "aroundrel": "around",
    "surroundedby": "surrounded by",
    "flanking": "flanking",
}
# the sides three or four around an object take, one each, in this order
_AROUND = ("left of", "right of", "above", "below")
# "from left to right: a, b, c": each object said in that order stands so to the next
_ORDERS = {
    "orderleftright": "left of",
    "orderrightleft": "right of",
    "ordertopbottom": "above",
    "orderbottomtop": "below",
}
_SIDES = {
    "sideleft": "left",
    "sideright": "right",
    "sidetop": "top",
    "sidebottom": "bottom",
    "sidemiddle": "middle",
    "sidecentre": "centre",
    "sidecenter": "center",
    # a corner is two sides
    "sidetopleft": "top left",
    "sidetopright": "top right",
    "sidebottomleft": "bottom left",
    "sidebottomright": "bottom right",
}
_MIDDLES = {"middle", "centre", "center"}
_PRONOUNS = {"it", "them"}
# words that end a clause: a negation stops here, and the next word may start a noun phrase
_BOUNDARIES = {",", "and", "but", "plus", "with", "while", "whereas", "just", "only", "then"}
_ADJECTIVE_SUFFIXES = ("ful", "ous", "less", "ish", "ic", "ive", "en", "ed", "ing", "y")
# "-ing" words that are nouns, not verbs ("a man riding a horse" has two objects, "a building" one)
_ING_NOUNS = {
    "building",
    "ceiling",
    "clothing",
    "dumpling",
    "duckling",
    "earring",
    "evening",
    "morning",
    "painting",
    "pudding",
    "sibling",
    "spring",
    "string",
    "wedding",
}
_IRREGULAR_PLURALS = {
    "people": "person",
    "men": "man",
    "women": "woman",
    "children": "child",
    "mice": "mouse",
    "geese": "goose",
    "feet": "foot",
    "teeth": "tooth",
}
_MAX_COUNT = 20
_NOUN_WORDS = frozenset(w for noun in COMMON_NOUNS for w in noun.split())
# tokens the rewrites below produce, and words the parser reads by name
# "in a row", "lined up" / "in a column": the group said last in a chain, or else every object
# said before it in the order said (as "from left to right" / "from top to bottom" after them)
_LINES = {"inarow": "left of", "inacolumn": "above"}
# "in a 2x3 grid", "in two rows of three", "in a grid": rows and columns (None: from the count)
_GRID_SIDE = {w: n for n, w in NUMBER_WORDS.items() if 1 <= n <= 4}
_GRIDS: dict[str, tuple[int, int] | None] = {"gridany": None} | {
    f"grid{a}by{b}": (r, c) for a, r in _GRID_SIDE.items() for b, c in _GRID_SIDE.items()
}
_MAX_GRID = 9  # "a 3x3 grid of circles" fits one canvas
_MARKERS = {
    "chainpick",
    "sidebyside", "countis", "pairedas", "stacked", "both", "one", "ones", "allof", *_ORDERS,
    *_LINES, *_GRIDS, *(f"nocolour{c}" for c in COLORS)
}  # fmt: skip
# "three circles of different colours", "two squares of the same colour": colours the prompt
# leaves to the parser, told apart or alike (the marker a rewrite leaves -> what was said)
_PARTS_SAID = {"2": "two", "3": "three", "4": "four"}
_COLOURINGS = {
    "colourstwo": "two colours",
    "coloursthree": "three colours",
    "coloursfour": "four colours",
    "coloursdiffer": "different colours",
    "colourssame": "the same colour",
    "colourssameall": "the same colour",
}
# the order colours are chosen in: far apart first
_CHOSEN_ORDER = ("red", "blue", "green", "yellow", "purple", "orange", "cyan", "pink")
_MAX_CHAIN = 4  # "four squares stacked": a column of four fits one canvas, five do not
_SCENE_NOUNS = (
    "park|forest|beach|kitchen|street|room|living room|bedroom|field|garden|desert|city|sky|"
    "ocean|sea|meadow|lake|snow|office|classroom|library|farm|jungle|countryside|space"
)
_SHAPE_ALT = "|".join(SHAPES)
_SHAPE_WORD_ALT = "|".join(sorted(_SHAPE_FORMS, key=len, reverse=True))
_COLOUR_ALT = "|".join(COLORS)
# what follows a colour when it is a shape's ("no red or blue squares"), not a colour alone
_THEN_SHAPE = rf"(?: (?:or|and|nor|,))*(?: (?:{_COLOUR_ALT}))* ?(?:{_SHAPE_WORD_ALT})\b"
_COUNT_ALT = "|".join(_COUNTS)
# Placements the spec cannot say (it only relates objects to each other): cut out and reported.
_UNPLACEABLE = re.compile(
    r"\b(?:in|into|forming|on|at|along|across) (?:a|an|one|the) (?:neat |straight |perfect )?"
    r"(?:row|line|column|circle|ring|grid|cluster|pile|stack|pattern|corner|middle|centre|center|"
    r"edge|diagonal)s?\b(?: of the (?:picture|image|scene|canvas|page))?"
)

# Rewrites applied in order before tokenising: idioms become words or single tokens the parser
# knows ("to the left of" -> "leftof", "a couple of" -> "two", "on the right" -> "sideright").
_REWRITES = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"\b(?:please )?(?:draw|generate|create|render|make|paint|produce|show)(?: me)?\b", " "),
        (
            r"\b(?:a|an|the) (?:photo|photograph|picture|image|drawing|painting|illustration|"
            r"rendering|render|sketch|scene|view|composition) (?:of|with|showing|containing|"
            r"featuring|that shows)\b",
            " ",
        ),
        (r"&", " and "),
        # a colour negated with no shape of it: nothing of that colour at all ("nothing red", "no
        # red shapes", "without any red in the picture"); "no red squares" is one negation, and a
        # bare "no red" after objects is their colour ("six circles, no red")
        (
            rf"\bnothing(?: else)? ({_COLOUR_ALT})\b(?!{_THEN_SHAPE})",
            r" nocolour\1 ",
        ),
        (
            r"\b(?:no|without(?: any)?|not any|none)(?: other| more)? "
            rf"({_COLOUR_ALT})(?: (?:shapes?|objects?|things?|items?|at all|anywhere|"
            r"in the (?:picture|image|scene|canvas)))+\b"
            rf"(?!{_THEN_SHAPE})",
            r" nocolour\1 ",
        ),
        (r"\bfrom (left|right|top|bottom) to (left|right|top|bottom)\b", r" order\1\2 "),
        # "..., all at the top": the side that follows is every object's said so far
        (
            r"\b(?:all|everything)(?: of them| of it)?(?: are| is| placed| sitting)? "
            r"(?=(?:(?:up |down |over )?(?:at|on|in|along|near|towards?|to) the)\b)",
            " allof ",
        ),
        # a place "of the picture" is a place on the canvas, not a relation to an object
        (
            r"\b((?:top|bottom|upper|lower|left|right|middle|centre|center)(?: hand)?"
            r"(?: corner| side| half| edge| part)?) of the (?:whole )?"
            r"(?:picture|image|scene|canvas|page|frame)\b",
            r"\1",
        ),
        # "at the top left", "in the bottom right corner", "near the top left": a corner, two
        # sides; "a blue square, top left" and "top left: a red star" too
        (
            r"(?:\b(?:up |down |over )?(?:at|in|on|to|into|near|towards?|along) the (?:very )?|"
            r"(?:^|(?<=[.;,]))\s*)"
            r"(?:(top|bottom)|(?:upper|lower))[ ]?(left|right)"
            r"(?: hand)?(?: corner| side)?\b(?! of)(?: ?:)?",
            lambda m: f" side{m[1] or ('top' if 'upper' in m[0] else 'bottom')}{m[2]} ",
        ),
        # "the left one is a red star and the right one a blue circle": a side said first
        (
            r"\b(?:the|on the|at the) (?:(top|bottom|upper|lower) ?)?"
            r"(left|right|top|bottom|upper|lower)(?:most|hand)?"
            r"(?: one| shape| object| thing| side)?"
            r"(?: (?:is|should be|will be|must be|has|shows|holds|contains|:)|"
            rf" (?=(?:a|an|one|two|three|four|five|\d+|{_COLOUR_ALT}) ))",
            lambda m: (
                " side"
                + "".join({"upper": "top", "lower": "bottom"}.get(w, w) for w in (m[1] or "", m[2]))
                + " "
            ),
        ),
        # "near the top", "along the bottom edge", "up at the top": a side
        (
            r"\b(?:(?:up|down|over|out|off) (?:at|in|on|to) the|(?:near|along|towards?) the)"
            r" (?:very )?(top|bottom|left|right)(?: hand)?(?: side| edge| border| half)?\b(?! of)",
            r" side\1 ",
        ),
        (r"(?<=,) ?(top|bottom)(?= ?(?:[,;.!]|$))", r" side\1 "),
        (r"\b(?:centred|centered)\b", " sidecentre "),
        (r"\bright (?=next to|beside|above|below|under|over|on top)", " "),
        # "on the far left": a side; "left: a red star. right: a blue heart."
        (r"\b(?:far|very|extreme) (left|right|top|bottom)\b", r"\1"),
        (r"(?:^|(?<=[.;,]))\s*(left|right|top|bottom) ?: ", r" side\1 "),
        (r"\b(\d+) ?x\b", r" \1 "),
        # a count after its noun: "red circles x3", "hexagons, three of them"
        (r"(?:\bx|×) ?(\d+)\b", r" countis \1 "),
        (rf"\b({_COUNT_ALT}|\d+) of (?:them|those|these)\b", r" countis \1 "),
        # a tally: "stars: 3, circles: 2", "hearts (4)"; not "two circles: one red, one blue"
        (
            rf"\b((?:{_SHAPE_ALT})(?:e?s)?) ?(?:[:=] ?|\( ?)({_COUNT_ALT}|\d+)"
            r"(?: ?\)|(?= ?(?:[,;.!]|$|and\b)))",
            r" \1 countis \2 ",
        ),
        (r"\b(?:lots|loads|plenty|a lot|a bunch|a handful|a number) of\b", " several "),
        (r"\bside by side\b", " sidebyside "),
        (r"\b(?:a|one) (?:couple|pair)(?: of)?\b", " two "),
        (r"\ba trio of\b", " three "),
        (r"\bhalf (?:a|one) dozen\b", " six "),  # before "a dozen", which would make it 12
        (r"\ba dozen\b", " twelve "),
        (r"\b(?:not|without) (?:a single|one|any)\b", " no "),
        (r"\bnone of the\b", " no "),
        # "everything but hearts: a star and a square" drew two hearts
        (
            r"\b(?:everything|anything|any shape|all shapes) (?:but|except|other than|apart from)"
            r"(?: for)?\b",
            " no ",
        ),
        (r"\bneither\b", " no "),  # "neither hearts nor circles"
        # "no red nor blue triangles": one negation per colour, of the shape after them
        (rf"\bno +((?:{_COLOUR_ALT}) +)nor +(?=(?:{_COLOUR_ALT})\b)", r"no \1or "),
        (r"\bnor\b", " , no "),
        (r"\b(?:circular|round) (?:shape|object|thing|figure)(s?)\b", r" circle\1 "),
        (r"\b(?:triangular|three sided) (?:shape|object|thing|figure)(s?)\b", r" triangle\1 "),
        (r"\b(?:hexagonal|six sided) (?:shape|object|thing|figure)(s?)\b", r" hexagon\1 "),
        (r"\blove (hearts?)\b", r" \1 "),
        (rf"\b({_SHAPE_ALT}) shaped (?:object|thing|figure)(s?)\b", r" \1\2 "),
        (rf"\b({_SHAPE_ALT}) shape(s?)\b", r" \1\2 "),
        (r"\b(?:medium|mid) sized?\b", " medium "),
        (r"\b(?:to|on) (?:its|their) (left|right)\b", r" \1of it "),
        # "to the upper left of": above (below) and left (right) of
        (
            r"\b(?:(?:to|on|at) the )?upper (left|right)(?: hand)?(?: side)? of\b",
            r" above and \1of ",
        ),
        (
            r"\b(?:(?:to|on|at) the )?lower (left|right)(?: hand)?(?: side)? of\b",
            r" below and \1of ",
        ),
        (r"\b(?:to|on|at) the (left|right)(?: hand)?(?: side)? of\b", r" \1of "),
        (r"\b(left|right)(?: hand)?(?: side)? of\b", r" \1of "),
        (r"\b(?:to|on|at) the (left|right)(?: hand)?(?: side)?\b", r" side\1 "),
        # "stacked": on top of each other, or of what follows
        (
            r"\b(?:stacked|piled)(?: up)? (?:on top of|on|upon|above|over) "
            r"(?:each other|one another)\b",
            " stacked ",
        ),
        (r"\b(?:stacked|piled)(?: up)? (?:on top of|on|upon|onto|above|over)\b", " above "),
        (r"\b(?:stacked|piled)(?: up)?(?: vertically)?\b", " stacked "),
        (r"\bone (?:on top of|above|over) (?:the )?another\b", " pairedas above "),
        # "four squares in two colours": the group split into that many parts, a colour each
        (
            r"\b(?:in|of|with) (two|three|four|2|3|4) (?:different |distinct )?colou?rs\b",
            lambda m: f" colours{_PARTS_SAID.get(m[1], m[1])} ",
        ),
        (r"\b(?:of |in )?(?:various|varied|assorted|mixed|many) colou?rs\b", " coloursdiffer "),
        (
            r"\b(?:(?:each|all)(?: one| of them)?(?: a)? )?"
            rf"(?:(?:of|in|with) (?:(?:a|{_COUNT_ALT}|\d+) )?)?"
            r"(?:different|distinct|varying|unique|differently) colou?r(?:s|ed)?\b",
            " coloursdiffer ",
        ),
        (
            r"\b(?:all|every one)(?: of them)? (?:(?:of|in|with|are) )?(?:the )?"
            r"(?:same|matching|identical) colou?r(?:s|ed)?\b",
            " colourssameall ",
        ),
        (
            r"\b(?:(?:both|each)(?: of them)? )?(?:(?:of|in|with|are|is) )?(?:the )?"
            r"(?:same|matching|identical) colou?r(?:s|ed)?\b",
            " colourssame ",
        ),
        (r"\b(?:on top of|atop|over|higher than|further up than)\b", " above "),
        (r"\b(?:under|underneath|beneath|lower than|further down than)\b", " below "),
        (r"\bon top\b", " sidetop "),
        (
            r"\b(?:at|on|in) the (top|bottom)(?: of the (?:picture|image|scene|canvas))?\b",
            r" side\1 ",
        ),
        (r"\b(?:next to|beside|alongside|near|close to|adjacent to|by the side of)\b", " nextto "),
        (r"\bin between\b", " between "),
        # "two squares, one on top of the other": the pair, one related to the other
        (
            r"\b(?:with +)?one(?: +of +them)? +(above|below|leftof|rightof|nextto) +the +other"
            r"(?: +one)?\b",
            r" pairedas \1 ",
        ),
        (r"\b(above|below|nextto) +(?:each +other|one +another)\b", r" pairedas \1 "),
        # "a couple of circles, one red, the other blue"
        (
            rf"\bthe other(?: one)?(?: is| being)? (?=(?:{'|'.join([*COLORS, *SIZES])})\b)",
            " one ",
        ),
        # terse sides: "blue triangle left, red triangle right"
        (r"\b(left|right)\b(?= ?(?:[,;.!]|$))", r" side\1 "),
        (r"(?<!the )\b(middle|centre|center)\b(?= ?(?:[,;.!]|$))", r" side\1 "),
        (r"\b(?:as well as|along with|together with|in addition to)\b", " and "),
    )
)
_BACKGROUND_RES = (
    re.compile(
        r"\b(?:on|against|over|with|in front of) (?:a |an |the )?((?:[a-z]+ ){0,2}?[a-z]+)"
        r" (?:colou?red )?background\b"
    ),
    re.compile(rf"\b(?:in|at|on) (?:a |an |the )((?:[a-z]+ )?(?:{_SCENE_NOUNS}))$"),
)


_MIDDLE = r"(?:very )?(middle|centre|center)"
_WHOLE = r"(?:picture|image|scene|canvas|page)"
# "three squares in a row, the middle one red": one of a chain named by its place, and its colour
_PLACES = {
    "middle": "middle", "centre": "middle", "center": "middle",
    "left": "first", "leftmost": "first", "first": "first", "top": "first", "topmost": "first",
    "right": "last", "rightmost": "last", "last": "last", "bottom": "last", "bottommost": "last",
}  # fmt: skip
_PLACE_ALT = "|".join(_PLACES)
_SIDE_NUMBER = r"([1-4]|one|two|three|four)"
_BY = r" ?(?:x|by|\u00d7|\*) ?"


def _grid(rows: str, cols: str) -> str:
    """The marker of a grid of ``rows`` by ``cols`` (digits or words)."""
    word = lambda n: n if n in _GRID_SIDE else NUMBER_WORDS[int(n)]  # noqa: E731
    return f" grid{word(rows)}by{word(cols)} "


def _side(n: str) -> int:
    return int(n) if n.isdigit() else _GRID_SIDE[n]


_GRID_REWRITES = tuple(
    (re.compile(p), r)
    for p, r in (
        # "a 2x2 grid of red circles": as many as the grid holds, then the grid
        (
            rf"\b(?:a|an|one) {_SIDE_NUMBER}{_BY}{_SIDE_NUMBER} (?:grid|array|matrix) "
            rf"(?:of|with) ((?:[a-z]+ ){{0,3}}?(?:{_SHAPE_WORD_ALT}))\b",
            lambda m: f" {_side(m[1]) * _side(m[2])} {m[3]} {_grid(m[1], m[2])} ",
        ),
        (
            r"\b(?:(?:arranged|laid out|placed|set out|put) )?(?:in|into|on|as|forming) "
            rf"(?:a|an|one) {_SIDE_NUMBER}{_BY}{_SIDE_NUMBER} (?:grid|array|matrix|square)\b",
            lambda m: _grid(m[1], m[2]),
        ),
        # "in two rows of three", "in 2 rows and 3 columns", "in three columns of two"
        (
            rf"\b(?:(?:arranged|laid out|placed|set out|put) )?in {_SIDE_NUMBER} rows? "
            rf"(?:of|and|by) {_SIDE_NUMBER}(?: columns?)?\b",
            lambda m: _grid(m[1], m[2]),
        ),
        (
            rf"\b(?:(?:arranged|laid out|placed|set out|put) )?in {_SIDE_NUMBER} columns? "
            rf"(?:of|and|by) {_SIDE_NUMBER}(?: rows?)?\b",
            lambda m: _grid(m[2], m[1]),
        ),
        (
            r"\b(?:(?:arranged|laid out|placed|set out|put) )?(?:in|into|on|as|forming) "
            r"(?:a|an|one) (?:neat |regular |square |tidy )?(?:grid|array|matrix)"
            r"(?: pattern| formation| layout| arrangement)?\b",
            " gridany ",
        ),
    )
)
_LINE_REWRITES = _GRID_REWRITES + tuple(
    (re.compile(p), r)
    for p, r in (
        (
            rf"\b(?:with |and )?the ({_PLACE_ALT}) one(?: of them)? "
            rf"(?:is |being |in |coloured |colored )?({'|'.join(COLORS)})\b",
            r" chainpick \1 \2 ",
        ),
        (
            r"\b(?:(?:in|into|forming) (?:a|one) (?:neat |straight |single )?vertical (?:row|line)"
            r"|(?:in|into|forming) (?:a|one) (?:neat |straight |single |vertical )*column"
            r"|lined up vertically)\b",
            " inacolumn ",
        ),
        (
            r"\b(?:(?:in|into|forming) (?:a|one) (?:neat |straight |single |horizontal )*"
            r"(?:row|line)|lined up(?: horizontally)?)\b",
            " inarow ",
        ),
    )
)
# around, surrounded by, on either side: before "on the left" and counts read "around" as about
_AROUND_REWRITES = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"\b(?:surrounded|encircled|ringed|circled|framed) by\b", " surroundedby "),
        (r"\bflanked (?:by|with)\b", " between "),
        (r"\b(?:on|at) (?:either|each|both) sides? of\b", " flanking "),
        # "a star with two circles on either side (of it)": the pair flanks what it is with
        (r"\b(?:on|at) (?:either|each|both) sides?(?: of (?:it|them))?\b", " flanking it "),
        (
            rf"\b(?:all )?(?:around|surrounding|encircling|circling)\b"
            rf"(?! (?:{_COUNT_ALT}|\d|about|roughly))",
            " aroundrel ",
        ),
    )
)
# "a star in the middle of two squares" is a star between them; "a circle in the middle, a star
# on the left and a heart on the right" a circle between the two (a side, read with the others)
_MIDDLE_REWRITES = tuple(
    (re.compile(p), r)
    for p, r in (
        (rf"\b(?:right )?(?:in|at) the {_MIDDLE} (?=between\b)", " "),
        (
            rf"\b(with (?:a|an|one) (?:[a-z]+ ){{0,2}}?[a-z]+) (?:in the {_MIDDLE}|in between)"
            r"(?= ?(?:[,;.!]|$))",
            r" \1 between them ",
        ),
        (r"\bin between(?= ?(?:[,;.!]|$))", " between them "),
        (rf"\b(?:right )?(?:in|at) the {_MIDDLE} of\b(?! the {_WHOLE}\b)", " between "),
        (rf"\b(?:right )?(?:in|at) the {_MIDDLE}(?: of the {_WHOLE})?\b", r" side\1 "),
    )
)

# A bound on a count, which a spec cannot say ("no more than three circles" read "no" as a
# negation and drew none): the number is read as the exact count, and a warning says so.
_LIMITS = re.compile(
    r"\b(?:no|not) (?:more|fewer|less) than\b|\bat (?:most|least)\b|\bup to\b|"
    r"\ba (?:minimum|maximum) of\b|\bor (?:more|fewer|less)\b"
)


_INSIDE = re.compile(
    r"\b(?:(?:placed|drawn|sitting|set|standing) )?(?:(?:inside(?: of)?|within|enclosed (?:by|in)|"
    r"contained in|nested in)(?= (?:a|an|one|the|some) )|"
    r"in the (?:middle|centre|center) of(?= (?:a|an|one)(?: [a-z]+){0,2}? (?:"
    + _SHAPE_WORD_ALT
    + r")\b))"
)
_ONE_SIDE_CORNER = re.compile(
    r"\b(?:at|in|into|to|near|towards?) the (?:very |far )?(left|right|top|bottom)(?: hand)? corner"
    r"(?: of the (?:picture|image|scene|canvas|page|frame))?\b"
)
_COLOUR_WORDS = "|".join([*COLORS, *_COLOR_SYNONYMS, *_OTHER_COLORS])
_SHADE_RE = re.compile(rf"\b(?:{_SHADES}) ({_COLOUR_WORDS})\b")
_NEAR_RE = re.compile(rf"\b({'|'.join(_COLOUR_NEAR)})\b")


def _normalise(text: str) -> tuple[str, str | None, list[str], list[str], list[str]]:
    """Lower-case, cut out the background phrase, the placements and the bounds on a count
    the spec cannot say (returned separately), read shades as their colour (returned as
    notes), rewrite idioms."""
    text = " " + re.sub(r"[-_/]", " ", text.lower().replace("\u2019", "'")) + " "
    text = re.sub(r"\bgrey\b", "gray", text)
    # contractions: "don't" negates, "i'd like" / "that's" are filler once the suffix is gone
    text = re.sub(r"\b(ca|wo)n't\b", lambda m: {"ca": "can", "wo": "will"}[m[1]] + " not", text)
    text = re.sub(r"n't\b", " not", text)
    # "a star to the circle's right": right of the circle
    text = re.sub(r"\b(?:to|on|at) the (\w+)'s (left|right)\b", r" \2 of the \1 ", text)
    text = re.sub(r"'(?:s|d|ll|ve|re|m)\b", " ", text)
    background = None
    for pattern in _BACKGROUND_RES:
        m = pattern.search(text.rstrip(" .!"))
        if m:
            background = m.group(1)
            text = text[: m.start()] + " , " + text[m.end() :]
            break
    # after the background, whose names hold shades ("light gray", "pale blue")
    notes = [f"read '{m[0]}' as '{m[1]}'" for m in _SHADE_RE.finditer(text)]
    notes += [f"read '{m[1]}' as '{_COLOUR_NEAR[m[1]]}'" for m in _NEAR_RE.finditer(text)]
    text = _SHADE_RE.sub(r" \1 ", _NEAR_RE.sub(lambda m: f" {_COLOUR_NEAR[m[1]]} ", text))
    # "a red circle inside a blue square": both drawn, apart (no shape holds another here)
    notes += [
        f"ignored '{m[0].strip()}': shapes are drawn apart, never one inside another"
        for m in _INSIDE.finditer(text)
    ]
    text = _INSIDE.sub(" , ", text)
    # "in the left corner" names one side of two corners: read as that side, and said so
    notes += [f"read 'the {m[1]} corner' as 'the {m[1]}'" for m in _ONE_SIDE_CORNER.finditer(text)]
    text = _ONE_SIDE_CORNER.sub(r" at the \1 ", text)
    for pattern, repl in _MIDDLE_REWRITES:
        text = pattern.sub(repl, text)
    for pattern, repl in (*_LINE_REWRITES, *_AROUND_REWRITES):
        text = pattern.sub(repl, text)
    unplaceable = [m.group(0) for m in _UNPLACEABLE.finditer(text)]
    text = _UNPLACEABLE.sub(" , ", text)
    limits = [m.group(0).strip() for m in _LIMITS.finditer(text)]
    text = _LIMITS.sub(" ", text)
    for pattern, repl in _REWRITES:
        text = pattern.sub(repl, text)
    return text, background, unplaceable, limits, notes


def _tokens(text: str) -> list[str]:
    return [t if t.isalnum() else "," for t in re.findall(r"[a-z]+|\d+|[,;.:!?]", text)]


def _singular(word: str) -> str:
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def _known(word: str) -> bool:
    """Is ``word`` in the parser's vocabulary (so never read as a typo of another word)?"""
    return (
        word.isdigit()
        or any(
            word in vocabulary
            for vocabulary in (
                _SHAPE_FORMS,
                COLORS,
                SIZES,
                _OTHER_COLORS,
                _COUNTS,
                _ARTICLES,
                _DETERMINERS,
                _NEGATORS,
                _RELATIONS,
                _SIDES,
                _PRONOUNS,
                _BOUNDARIES,
                FILLER,
                POSITION_WORDS,
                _NOUN_WORDS,
                _MARKERS,
            )
        )
        or _singular(word) in _NOUN_WORDS
    )


def _is_adjective(word: str) -> bool:
    return (
        word in COLORS
        or word in SIZES
        or word in _OTHER_COLORS
        or (len(word) > 4 and word.endswith(_ADJECTIVE_SUFFIXES))
    )


def _is_verb_form(word: str) -> bool:
    return len(word) > 5 and word.endswith(("ing", "ed")) and word not in _ING_NOUNS


def _canonical_attributes(attrs: list[str]) -> list[str]:
    """Sizes, then colours, then anything else, without repeats ('red big' -> 'large red')."""
    out: list[str] = []
    for group in (
        [a for a in attrs if a in SIZES],
        [a for a in attrs if a in COLORS],
        [a for a in attrs if a not in SIZES and a not in COLORS],
    ):
        out += [a for a in dict.fromkeys(group) if a not in out]
    return out


@dataclass
class _Pending:
    """A relation read but not complete: its subject (if read yet) and the references so far."""

    relation: str
    subject: int | None  # None: the subject comes after the references ("left of X is Y")
    refs: list[int] = field(default_factory=list)
    also: list[str] = field(default_factory=list)  # "below and to the right of": both hold

    @property
    def refs_needed(self) -> int:
        return 2 if self.relation == "between" else 1


class _Parser:
    """Reads tokens left to right, filling (count, attributes, noun) slots into objects."""

    def __init__(self) -> None:
        self.objects: list[ObjectSpec] = []
        self.negations: list[ObjectSpec] = []
        self.relations: list[RelationSpec] = []
        self.sides: list[tuple[int, str]] = []  # (object, side said of it: 'left', 'top left')
        self.order: tuple[int, str] | None = None  # "from left to right": (objects before, how)
        self.count: int | None = None
        self.from_article = False
        self.attrs: list[str] = []
        self.words: list[str] = []  # unknown words of a generic noun phrase being read
        self.open = True  # may an unknown word start a noun phrase here?
        self.negating = False
        # the word that negated: after "not" a colour is the last object's ("a star, not red");
        # after "no" it waits for its noun ("a square, no red or blue triangles") to a boundary
        self.negator: str | None = None
        self.pending: _Pending | None = None
        self.pending_side: str | None = None
        # "a red circle, top left, and ...": a side set off by commas after an object is its own
        self.side_back: int | None = None  # the object a pending side goes back to, so set off
        self.side_all: str | None = None  # a side said of everything, before any object
        self.colour_negated: list[str] = []  # "nothing red": colours no object may have
        self.last: ObjectSpec | None = None  # the object (or negation) read last
        self.last_idx: int | None = None  # its index when it is an object, not a negation
        self.after_noun = False  # only filler read since the last noun
        self.comma_noun = False  # the last comma came straight after an object
        self.definite = False  # "the": the noun may name an object already mentioned
        self.count_word: str | None = None  # the word the count was read from
        self.recount = False  # "x3", "three of them": the next number is the last object's count
        self.counted: set[int] = set()  # objects whose count was said in words or digits
        self.part: str | None = None  # "two of them" said of a group already counted
        self.both = False  # "both red": colour the last two objects (or the last pair)
        self.pairing = False  # "one above the other": the next relation splits the last pair
        # the last chain a group became (its members in order, each related so to the next)
        self.chain: tuple[list[int], str] | None = None
        self.split: dict[int, list[int]] = {}  # each object a group became -> all its objects
        self.picking: list[str] | None = None  # "the middle one red": place and colour so far
        # relations among the members of a group ("two squares, one above the other"), kept out
        # of what is given to every member at the end
        self.inner: list[RelationSpec] = []
        self.colouring: str | None = None  # "three differently coloured circles": for the noun
        self.previous = ","  # the token read before this one
        self.count_after: str | None = None  # the token before the count being read
        self.palettes: list[str] = []  # what each colour placeholder ("%0.1") was said as
        self.ignored: list[str] = []  # words not understood, in the order read
        self.unattached: list[str] = []  # counts and colours with no object to go with
        # counted colours whose noun is still to come or was said before: "a red and a blue
        # circle" (the circle's), "four stars, two red and two blue" (the stars' parts)
        self.elided: list[tuple[int, str | None, list[str]]] = []  # (count, word, attributes)
        # objects said as one: a group's parts, or colours sharing a noun; relations are read
        # for the last of them and given to every one at the end. By the last one's index.
        self.groups: dict[int, range] = {}
        self.typos: list[tuple[str, str]] = []  # (as typed, as read)
        self.warnings: list[str] = []

    def feed(self, toks: list[str]) -> None:
        for t in toks:
            t = _COLOR_SYNONYMS.get(t, _SIZE_SYNONYMS.get(t, t))
            if not _known(t) and (fixed := correct_typo(t)):
                self.typos.append((t, fixed))
                t = "gray" if fixed == "grey" else fixed
            self.step(t)
        self.end_phrase(boundary=True)
        self.side_back_ends()
        if self.side_all:
            self.sides += [(j, self.side_all) for j, o in enumerate(self.objects) if o.count]
        if self.elided and not self.split_last():
            self.unattached += [" ".join([w or "", *a]).strip() for _, w, a in self.elided]
        self.elided = []
        p = self.pending
        if p and p.subject is None and len(p.refs) == p.refs_needed and p.refs[0] > 0:
            # "X, to the left of Y": no subject followed, so it is the object before Y
            self.add_relation(p.refs[0] - 1, p)
        elif (
            p
            and p.refs_needed == 1
            and p.subject is not None
            and not p.refs
            and (self._other(p.subject) is not None)
        ):
            # "a circle and a square, with the circle above": above the other one
            p.refs = [self._other(p.subject)]
            self.add_relation(p.subject, p)
        if self.pending:
            p = self.pending
            wanted = "two objects" if p.refs_needed == 2 else "an object"
            self.warnings.append(f"ignored '{p.relation}': it needs {wanted} to relate to")
        self.relations = self.group_relations() + self.inner + self.ordered()
        # "a red star and no other red shapes": every shape of the colour but those asked for
        asked = {(o.name, a) for o in self.objects for a in o.attributes}
        self.negations += [
            ObjectSpec(name=shape, count=0, attributes=[c])
            for c in dict.fromkeys(self.colour_negated)
            for shape in SHAPES
            if (shape, c) not in asked
        ]

    def _other(self, i: int) -> int | None:
        """The one other object, when two are said (and it is not negated away)."""
        if len(self.objects) != 2 or self.objects[1 - i].count == 0:
            return None
        return 1 - i

    def side_back_ends(self) -> None:
        """A side set off by commas after an object ends at a boundary: it was that object's."""
        if self.pending_side and self.side_back is not None:
            self.sides.append((self.side_back, self.pending_side))
            self.pending_side = self.side_back = None

    def group_relations(self) -> list[RelationSpec]:
        """Each relation read for the last object of a group, given to every object of it ('a
        star above a red and a blue circle': the star is above both circles)."""
        out: list[RelationSpec] = []
        for r in self.relations:
            variants = [r]
            for f in ("subject", "object", "object2"):
                members = self.groups.get(getattr(r, f))
                if members is not None:
                    variants = [v.model_copy(update={f: j}) for v in variants for j in members]
            out += [v for v in variants if v not in out]
        return out

    def step(self, t: str) -> None:
        self.read(t)
        self.previous = t

    def parts_of_last(self) -> bool:
        """Is the phrase being read ('a big one') a part of the last object, a group ('two stars,
        a big one and a small one'; 'hearts: two red ones and a blue one', whose parts then say
        how many), not a new object ('and a blue one')?"""
        i = self.last_idx
        told_apart = self.count_after == "," or (self.elided and self.count_after == "and")
        return (
            told_apart
            and i is not None
            and i == len(self.objects) - 1
            and self.objects[i].count >= 2
            and self.pending is None
        )

    def read(self, t: str) -> None:
        if t in _SHAPE_FORMS:
            shape, is_plural = _SHAPE_FORMS[t]
            self.ignore(*self.words)  # "a lonely star": ShapesWorld draws no loneliness
            self.emit(shape, is_plural)
        elif t in ("one", "ones") and self.attrs and self.parts_of_last():
            self.drop_unattached()  # "two stars, a big one and a small one": parts of the stars
        elif t in ("one", "ones") and self.attrs and self.last is not None:
            self.emit(self.last.name, is_plural=t == "ones")  # "a red circle and a blue one"
        elif t == "chainpick":
            self.end_phrase(boundary=True)
            self.picking = []
        elif self.picking is not None:
            self.picking.append(t)  # the place, then the colour
            if len(self.picking) == 2:
                self.pick(*self.picking)
                self.picking = None
        elif t == "sidebyside":
            self.end_phrase(boundary=True)
            if self.last is not None and self.last.count >= 2:  # "three circles side by side"
                self.line_up("left of", said="side by side")
            elif len(self.objects) >= 2:  # "a square and a circle side by side"
                n = len(self.objects)
                self.relations.append(RelationSpec(subject=n - 2, relation="next to", object=n - 1))
            else:
                self.warnings.append("ignored 'side by side': it needs two objects")
        elif t == "pairedas":
            self.end_phrase(boundary=True)
            self.pairing = True
        elif self.pairing and t in _RELATIONS:
            self.pairing = False
            self.pair_up(_RELATIONS[t], said=f"one {_RELATIONS[t]} the other")
        elif t in _ORDERS:
            self.end_phrase(boundary=True)
            self.order = (len(self.objects), _ORDERS[t])
        elif t == "stacked":
            self.end_phrase(boundary=True)
            self.pair_up("above", said="stacked")
        elif t in _GRIDS:
            self.end_phrase(boundary=True)
            self.grid_up(_GRIDS[t])
        elif t in _LINES:
            self.end_phrase(boundary=True)
            self.line_up(_LINES[t], said="in a row" if t == "inarow" else "in a column")
        elif t in _COLOURINGS:
            if self.count is not None or self.attrs or self.words:
                self.colouring = t  # "three differently coloured circles": for the noun to come
            else:
                self.end_phrase()
                self.recolour(t, self.last_idx)
        elif t == "countis":
            self.end_phrase()
            self.recount = True
        elif self.recount and (t.isdigit() or t in _COUNTS):
            self.recount = False
            if self.last_idx in self.counted:
                # "four triangles, two of them green": a part of a group, which a spec cannot say
                self.part = f"{t} of them"
            elif self.last_idx is not None:
                last = self.objects[self.last_idx]
                last.count = _checked_count(int(t) if t.isdigit() else _COUNTS[t], last.name)
        elif t.isdigit() or t in _COUNTS or t in _ARTICLES:
            self.end_phrase()
            if self.count is not None and self.attrs:  # "one red one blue": "one red" is dangling
                self.drop_unattached()
            self.count_after = self.previous
            self.count = int(t) if t.isdigit() else _COUNTS.get(t, 1)
            self.count_word = t
            self.from_article = t in _ARTICLES
            self.open = True
        elif t in _DETERMINERS:
            self.end_phrase()
            self.definite = t == "the"
            self.open = True
        elif t in COLORS or t in SIZES or t in _OTHER_COLORS:
            self.attrs.append(t)
            self.open = True
        elif t in _NEGATORS:
            self.end_phrase()
            self.negating = self.open = True
            self.negator = t
        elif t.startswith("nocolour") and t[8:] in COLORS:
            # nothing of that colour, whatever its shape
            self.end_phrase(boundary=True)
            self.colour_negated.append(t[8:])
        elif t in _RELATIONS:
            both = self.both and not (self.words or self.attrs) and self.count is None
            self.end_phrase(boundary=True)
            i = self.last_idx
            if both and i is not None and i > 0 and i not in self.groups:
                # "a red triangle and a red square, both to the left of a blue circle"
                self.groups[i] = range(i - 1, i + 1)
                self.after_noun = True
            self.start_relation(_RELATIONS[t])
        elif t in _SIDES:
            both = self.both and not (self.words or self.attrs) and self.count is None
            self.end_phrase(boundary=True)
            every = {"allof": range(len(self.objects))}.get(self.previous)
            if every is None and both and self.last_idx is not None and self.last_idx > 0:
                every = range(self.last_idx - 1, self.last_idx + 1)  # "both on the left"
            if every is not None and not every:
                self.side_all = _SIDES[t]  # "everything in the top left: a star and a heart"
            elif every:
                self.sides += [(j, _SIDES[t]) for j in every if self.objects[j].count]
            elif self.after_noun and self.last_idx is not None:
                self.sides.append((self.last_idx, _SIDES[t]))
            else:
                self.pending_side = _SIDES[t]
                self.side_back = self.last_idx if self.previous == "," and self.comma_noun else None
        elif t in _PRONOUNS:
            self.resolve_pronoun()
        elif t in _BOUNDARIES:
            self.comma_noun = t == "," and self.after_noun
            self.end_phrase(boundary=True)
            self.side_back_ends()
            self.negating = self.after_noun = False
        elif t == "both":
            self.end_phrase()
            self.both = True
        elif t == "allof":
            self.end_phrase(boundary=True)
        elif t in FILLER:
            self.end_phrase()
        elif t in POSITION_WORDS:
            self.end_phrase()  # a side outside the idioms read above: the spec cannot say it
            self.ignore(t)
        elif self.words and _is_verb_form(t):
            self.end_phrase()  # "a man riding a horse": the verb ends the first noun phrase
            self.ignore(t)
        elif self.open or self.words:
            self.words.append(t)
        else:
            self.ignore(t)

    def ignore(self, *words: str) -> None:
        self.ignored += [w for w in words if w not in self.ignored]

    def drop_unattached(self) -> None:
        if self.attrs and self.count is not None:  # kept for a noun said later or before
            self.elided.append((self.count, self.count_word, list(self.attrs)))
        else:
            said = [self.count_word] if self.count_word else []
            self.unattached.append(" ".join([*said, *self.attrs]))
        self.count, self.count_word, self.from_article, self.attrs = None, None, False, []

    def split_last(self) -> bool:
        """'four stars, two red and two blue': the elided phrases are parts of the last object
        when there are two or more and their counts add up to its count; it becomes one object
        a part, and a relation that named it names each part. A group already made one object
        each (a pair 'next to each other') gives each member a part of one, in order."""
        i = len(self.objects) - 1
        if len(self.elided) < 2 or i < 0:
            return False
        group = self.split.get(i, [])
        if group == list(range(i - len(group) + 1, i + 1)) and [c for c, _, _ in self.elided] == [
            1
        ] * len(group):
            # the group already became one object each ('two circles, one red and one blue,
            # next to each other'): each takes its part's words, in the order said
            for j, (_, _, a) in zip(group, self.elided, strict=True):
                o = self.objects[j]
                attrs = _canonical_attributes(o.attributes + a)
                self.objects[j] = o.model_copy(update={"attributes": attrs})
            self.elided = []
            return True
        if self.last_idx != i:
            return False
        whole = self.objects[i]
        if whole.count != sum(c for c, _, _ in self.elided) and i in self.counted:
            return False  # a count said and parts that do not add up to it
        self.replace_last(
            [
                ObjectSpec(
                    name=whole.name,
                    count=c,
                    attributes=_canonical_attributes(whole.attributes + a),
                )
                for c, _, a in self.elided
            ]
        )
        self.elided = []
        return True

    def replace_last(self, parts: list[ObjectSpec]) -> range:
        """The last object becomes ``parts``, said as one group: what named it names its last
        part now, and so, at the end, every part."""
        i = len(self.objects) - 1
        self.objects[i:] = parts
        members = range(i, len(self.objects))
        self.relations = [
            r.model_copy(
                update={
                    f: members[-1] for f in ("subject", "object", "object2") if getattr(r, f) == i
                }
            )
            for r in self.relations
        ]
        if self.pending and self.pending.subject == i:
            self.pending.subject = members[-1]
        if self.pending and i in self.pending.refs:
            self.pending.refs = [members[-1] if j == i else j for j in self.pending.refs]
        self.counted |= set(members)
        self.groups[members[-1]] = members
        self.last_idx = members[-1]
        self.last = self.objects[-1]
        return members

    def line_up(self, relation: str, said: str) -> None:
        """'three circles in a row' (the group said last, in a chain), 'a circle, a star and a
        heart in a column' (every object said so far, in the order said)."""
        i = self.last_idx
        if i is not None and i == len(self.objects) - 1 and self.objects[i].count >= 2:
            self.pair_up(relation, said=said)
        elif len(self.objects) >= 2 and self.order is None:
            self.order = (len(self.objects), relation)
        else:
            self.warnings.append(f"ignored '{said}': it needs two objects")

    def grid_up(self, dims: tuple[int, int] | None) -> None:
        """'four circles in a 2x2 grid', 'six stars in two rows of three', 'a 3x3 grid of
        squares' (how many the grid holds), 'a circle, a star, a heart and a square in a grid'
        (every object said so far, in order, when each is one): single objects, each left of
        the next in its row and above the one below it. 'In a grid' alone takes the squarest
        grid of the count (four: 2x2, six: 2x3); a count no grid holds is reported."""
        said = "in a grid" if dims is None else f"in a {dims[0]}x{dims[1]} grid"
        i = self.last_idx
        if i is not None and i == len(self.objects) - 1 and self.objects[i].count >= 2:
            n, members = self.objects[i].count, None
            if dims is not None and i not in self.counted:
                n = dims[0] * dims[1]  # "squares in a 2x3 grid": the grid says how many
        elif len(self.objects) >= 2 and all(o.count == 1 for o in self.objects):
            n, members = len(self.objects), list(range(len(self.objects)))
        else:
            self.warnings.append(f"ignored '{said}': it needs two objects")
            return
        if dims is None:
            fits = [(r, n // r) for r in range(2, n) if n % r == 0 and r <= n // r]
            if not fits:
                self.warnings.append(f"ignored '{said}': {n} objects make no grid")
                return
            dims = fits[-1]
        rows, cols = dims
        if rows * cols != n:
            self.warnings.append(f"ignored '{said}': it holds {rows * cols}, not {n}")
            return
        if n > _MAX_GRID or max(dims) > _MAX_CHAIN or min(dims) < 1:
            self.warnings.append(f"ignored '{said}': more than {_MAX_GRID} or {_MAX_CHAIN} a side")
            return
        if members is None:
            one = self.objects[i].model_copy(update={"count": 1})
            members = list(self.replace_last([one.model_copy(deep=True) for _ in range(n)]))
        for k, m in enumerate(members):
            r, c = divmod(k, cols)
            if c + 1 < cols:
                self.inner.append(
                    RelationSpec(subject=m, relation="left of", object=members[k + 1])
                )
            if r + 1 < rows:
                self.inner.append(
                    RelationSpec(subject=m, relation="above", object=members[k + cols])
                )
        self.chain = None  # "the middle one": of a row or column, not of a grid
        self.split |= {m: list(members) for m in members}

    def pair_up(self, relation: str, said: str) -> None:
        """'two squares, one above the other', 'three circles stacked': the last object, two to
        four of a kind, becomes single objects in a chain, each related to the next; what named
        the group names each of them. A pair said before ('two stars left of a heart, one above
        the other') is split where it is, when it is the only pair."""
        if relation == "between":
            self.warnings.append(f"ignored '{said}': between needs two others")
            return
        i = self.last_idx
        n = self.objects[i].count if i is not None else 0
        if i is not None and i == len(self.objects) - 1 and 2 <= n <= _MAX_CHAIN:
            one = self.objects[i].model_copy(update={"count": 1})
            members = list(self.replace_last([one.model_copy(deep=True) for _ in range(n)]))
        elif len(pairs := [j for j, o in enumerate(self.objects) if o.count == 2]) == 1:
            j = pairs[0]
            members = self.singles(j)
            self.relations += [
                r.model_copy(update={f: members[1]})
                for r in self.relations
                for f in ("subject", "object", "object2")
                if getattr(r, f) == j
            ]
        else:
            why = f"more than {_MAX_CHAIN} in a chain" if n > _MAX_CHAIN else "no pair said"
            self.warnings.append(f"ignored '{said}': {why}")
            return
        self.inner += [
            RelationSpec(subject=a, relation=relation, object=b)
            for a, b in zip(members, members[1:], strict=False)
        ]
        self.chain = (list(members), relation)
        self.split |= {m: list(members) for m in members}

    def pick(self, place: str, colour: str) -> None:
        """'three squares in a row, the middle one red': the member of the last chain at that
        place takes the colour (the others keep theirs: the judge tells them apart)."""
        said = f"the {place} one {colour}"
        if self.chain is None:
            self.warnings.append(f"ignored '{said}': no row or column said before it")
            return
        members, relation = self.chain
        where = _PLACES[place]
        vertical = relation in ("above", "below")
        sideways = place in ("left", "leftmost", "right", "rightmost")
        upright = place in ("top", "topmost", "bottom", "bottommost")
        if (vertical and sideways) or (not vertical and upright):
            self.warnings.append(f"ignored '{said}': the chain does not run that way")
            return
        if where == "middle" and len(members) % 2 == 0:
            self.warnings.append(f"ignored '{said}': {len(members)} have no middle one")
            return
        order = members if relation in ("left of", "above") else members[::-1]
        k = {"first": order[0], "last": order[-1], "middle": order[len(order) // 2]}[where]
        o = self.objects[k]
        o.attributes = [a for a in o.attributes if a not in COLORS] + [colour]

    def recolour(self, marker: str, i: int | None) -> None:
        """'three circles of different colours' (a colour each; 'a circle, a star and a heart, all
        different colours': one each too), 'two squares of the same colour',
        'a circle and a star of the same colour' (one colour for both; 'all the same colour':
        for every object said): a placeholder stands for each colour until the whole prompt is
        read, so a colour it names or forbids is not chosen."""
        said = _COLOURINGS[marker]
        last = self.objects[i] if i is not None else None
        tag = f"%{len(self.palettes)}"
        if last is None:
            self.warnings.append(f"ignored '{said}': no object named for it")
        elif marker in ("colourstwo", "coloursthree", "coloursfour"):
            parts = ("two", "three", "four").index(marker[7:]) + 2
            if last.count < parts or i != len(self.objects) - 1:
                self.warnings.append(f"ignored '{said}': said of fewer than {parts} objects")
            elif any(a in COLORS for a in last.attributes):
                self.warnings.append(f"ignored '{said}': its colour is said")
            else:
                # as even as the count allows, the larger parts first: 5 in two colours is 3 + 2
                self.palettes.append(said)
                q, r = divmod(last.count, parts)
                self.replace_last(
                    [
                        last.model_copy(
                            update={
                                "count": q + (k < r),
                                "attributes": [*last.attributes, f"{tag}.{k}"],
                            }
                        )
                        for k in range(parts)
                    ]
                )
        elif marker == "coloursdiffer":
            singles = [j for j, o in enumerate(self.objects) if o.count == 1]
            if last.count == 1 and len(singles) == len(self.objects) >= 2:
                # "a triangle, a square and a hexagon, each a different colour": a colour each
                # for those whose colour is not said
                self.palettes.append(said)
                for k, j in enumerate(singles):
                    o = self.objects[j]
                    if not any(a in COLORS for a in o.attributes):
                        o.attributes = [*o.attributes, f"{tag}.{k}"]
            elif last.count < 2 or i != len(self.objects) - 1:
                self.warnings.append(f"ignored '{said}': said of one object")
            elif any(a in COLORS for a in last.attributes):
                self.warnings.append(f"ignored '{said}': its colour is said")
            else:
                self.palettes.append(said)
                self.replace_last(
                    [
                        last.model_copy(
                            update={"count": 1, "attributes": [*last.attributes, f"{tag}.{k}"]}
                        )
                        for k in range(last.count)
                    ]
                )
        else:
            if last.count >= 2:
                alike = [i]
            elif marker == "colourssameall":
                alike = list(range(len(self.objects)))
            else:
                alike = [i - 1, i] if i > 0 else []
            if not alike:
                self.warnings.append(f"ignored '{said}': said of one object")
                return
            self.palettes.append(said)
            for j in alike:
                o = self.objects[j]
                o.attributes = [*o.attributes, f"{tag}.0"]

    def emit(self, name: str, is_plural: bool) -> None:
        # "a red and a blue circle": the phrases before this noun are of the same noun when
        # it has colours of its own too ("and a blue circle") or they are no parts of the last
        # object ("two hearts, one red and one blue, and a star" splits the hearts)
        if self.elided and not self.negating and (self.attrs or not self.split_last()):
            for count, _, attrs in self.elided:
                self.objects.append(
                    ObjectSpec(
                        name=name,
                        count=_checked_count(count, name),
                        attributes=_canonical_attributes(attrs),
                    )
                )
                self.counted.add(len(self.objects) - 1)
            first, self.elided = len(self.objects) - len(self.elided), []
            self.groups[len(self.objects)] = range(first, len(self.objects) + 1)  # with this one
        if is_plural:
            count = 2 if self.count is None or self.from_article else self.count
        else:
            count = self.count or 1
        count = _checked_count(count, name)
        attrs = _canonical_attributes(self.attrs)
        known = [
            i
            for i, o in enumerate(self.objects)
            if self.definite and o.name == name and set(attrs) <= set(o.attributes)
        ]
        if self.negating:
            # "no red or blue squares": no red square and no blue square (nothing is both)
            colours = [a for a in attrs if a in COLORS]
            rest = [a for a in attrs if a not in COLORS]
            each = [[*rest, c] for c in colours] if len(colours) > 1 else [attrs]
            for a in each:
                self.last = ObjectSpec(name=name, count=0, attributes=_canonical_attributes(a))
                self.negations.append(self.last)
            self.last_idx = None
            self.reset_phrase()
            return
        if known:
            # "a red circle left of a blue square, the square above a star": the same square
            idx = known[-1]
        else:
            self.objects.append(ObjectSpec(name=name, count=count, attributes=attrs))
            idx = len(self.objects) - 1
            if self.count_word and not self.from_article:
                self.counted.add(idx)
        self.last, self.last_idx = self.objects[idx], idx
        self.link(idx)
        if self.pending_side:
            self.sides.append((idx, self.pending_side))
            self.pending_side = self.side_back = None
        colouring, self.colouring = self.colouring, None
        self.reset_phrase()
        if colouring:
            self.recolour(colouring, idx)

    def reset_phrase(self) -> None:
        self.count, self.count_word, self.from_article = None, None, False
        self.attrs, self.words = [], []
        self.open, self.after_noun, self.definite, self.both = False, True, False, False
        self.colouring = None

    def end_phrase(self, boundary: bool = False) -> None:
        """Close a noun phrase of words that are not shapes. Attributes with no noun of their
        own belong to the last object when no new phrase started ('circles coloured red', 'the
        star is blue'); counts and attributes with no object at all are reported at a boundary."""
        if self.words:
            self.read_common_noun()
        elif self.part and (self.attrs or boundary):
            said = " ".join([self.part, *self.attrs])
            self.warnings.append(f"ignored '{said}': a part of a group is not described apart")
            self.part, self.attrs = None, []
        elif (
            self.attrs
            and self.count is None
            and self.last_idx is not None
            and self.negating
            and (boundary or self.negator == "not")
        ):
            # "a star that isn't yellow": no yellow star (the spec has no negated attribute); a
            # size is not judged, so "not big" would forbid every star: it is reported instead
            colours = [a for a in self.attrs if a not in SIZES]
            for o in self.described() if colours else []:
                # "a star that is not red or blue": neither a red nor a blue star
                self.negations += [
                    ObjectSpec(name=o.name, count=0, attributes=[c]) for c in colours
                ]
            self.ignore(*(f"not {a}" for a in self.attrs if a in SIZES))
            self.attrs, self.both = [], False
        elif self.attrs and self.count is None and self.negating and not boundary:
            pass  # "no red or blue triangles": the colours wait for their noun
        elif self.attrs and self.count is None and self.last is not None:
            for o in self.described():
                o.attributes = _canonical_attributes(o.attributes + self.attrs)
            self.attrs, self.both = [], False
        if boundary:
            if self.attrs or (self.count_word and not self.from_article):
                self.drop_unattached()
            self.count, self.count_word, self.from_article, self.attrs = None, None, False, []
            self.open = True

    def described(self) -> list[ObjectSpec]:
        """The objects trailing attributes describe: the last, or with 'both' the last two kinds
        when the last is a single object ('a big circle and a small one, both red')."""
        if self.both and self.last_idx is not None and self.last_idx > 0 and self.last.count == 1:
            return self.objects[self.last_idx - 1 : self.last_idx + 1]
        return [self.last]

    def read_common_noun(self) -> None:
        """Words that are not shapes name an object only when they end in an everyday noun
        ('a brown dog', 'two wooden chairs', 'a fire hydrant'); anything else is ignored."""
        *mods, head = self.words
        noun = _singular(head)
        for k in range(max(0, len(mods) - 2), len(mods) + 1):  # the longest name first
            name = " ".join([*mods[k:], noun])
            if name in COMMON_NOUNS:
                self.attrs += [w for w in mods[:k] if _is_adjective(w)]
                self.ignore(*(w for w in mods[:k] if not _is_adjective(w)))
                self.emit(name, is_plural=noun != head)
                return
        # the colours said with it are dropped with it, so they are named too
        self.ignore(*self.attrs, *self.words)
        # the count and colours said with an unknown noun go with it, not to another object
        self.count, self.count_word, self.from_article = None, None, False
        self.attrs, self.words = [], []

    def start_relation(self, relation: str) -> None:
        subject = self.last_idx if self.after_noun else None
        p = self.pending
        if p and not p.refs and "between" not in (relation, p.relation):
            # "below and to the right of": a second relation to the same reference
            subject = p.subject if subject is None else subject
            self.pending = _Pending(relation, subject, also=[*p.also, p.relation])
        else:
            self.pending = _Pending(relation, subject)
        self.negating = self.after_noun = False

    def resolve_pronoun(self) -> None:
        """'X with Y to its left' (Y left of X) or 'X, and to its left, Y' (Y left of X)."""
        p = self.pending
        if p is None or p.refs:
            return
        if p.relation == "between":  # "two stars with a circle between them"
            if p.subject is not None and p.subject > 0 and self.objects[p.subject - 1].count == 2:
                p.refs = self.singles(p.subject - 1)
                self.add_relation(p.subject, p)
            return
        if p.subject is not None:
            if p.subject > 0:  # the relation followed Y directly; "it" is the object before Y
                p.refs = [p.subject - 1]
                self.add_relation(p.subject, p)
        elif self.objects:
            p.refs = [len(self.objects) - 1]

    def link(self, idx: int) -> None:
        """Give a newly read object to the relation waiting for it (as reference or subject)."""
        p = self.pending
        if p is None:
            return
        if p.relation == "between" and not p.refs and self.objects[idx].count == 2:
            p.refs = self.singles(idx)  # "a circle between two stars": one star on each side
            if p.subject is not None:
                self.add_relation(p.subject, p)
        elif len(p.refs) < p.refs_needed:
            p.refs.append(idx)
            if len(p.refs) == p.refs_needed and p.subject is not None:
                self.add_relation(p.subject, p)
        elif p.subject is None:
            self.add_relation(idx, p)

    def singles(self, idx: int) -> list[int]:
        """Object ``idx``, two or more of a kind, as that many objects of one each (the first
        where it was, the others appended)."""
        one = self.objects[idx].model_copy(update={"count": 1})
        n, self.objects[idx] = self.objects[idx].count, one
        members = [idx]
        for _ in range(n - 1):
            self.objects.append(one.model_copy())
            members.append(len(self.objects) - 1)
        self.counted |= set(members)
        self.split |= {m: members for m in members}
        return members

    def add_relation(self, subject: int, p: _Pending) -> None:
        if p.relation in ("around", "surrounded by", "flanking"):
            self.surround(subject, p)
            return
        object2 = p.refs[1] if p.relation == "between" else None
        self.relations += [
            RelationSpec(subject=subject, relation=r, object=p.refs[0], object2=object2)
            for r in [*p.also, p.relation]
        ]
        self.pending = None

    def surround(self, subject: int, p: _Pending) -> None:
        """'two circles around a star', 'a star surrounded by two circles', 'two circles on
        either side of a star': the star between them. Three or four around one: one to the
        left of it, one to its right, then one above and one below (the judge gives each of
        the alike objects one of the things it finds, so each side is checked)."""
        group, middle = (
            (p.refs[0], subject) if p.relation == "surrounded by" else (subject, p.refs[0])
        )
        self.pending = None
        said = "on either side" if p.relation == "flanking" else p.relation
        n = self.objects[group].count
        most = 2 if p.relation == "flanking" else len(_AROUND)
        if not 2 <= n <= most or group == middle:
            many = "two to four" if most > 2 else "two"
            self.warnings.append(f"ignored '{said}': read only of {many} objects and one more")
            return
        members = self.singles(group)
        if n == 2:
            a, b = members
            self.relations.append(
                RelationSpec(subject=middle, relation="between", object=a, object2=b)
            )
        else:
            self.relations += [
                RelationSpec(subject=m, relation=side, object=middle)
                for m, side in zip(members, _AROUND, strict=False)
            ]

    def ordered(self) -> list[RelationSpec]:
        """'from left to right: a red circle, a blue square and a green star' (or the objects
        said before it): each object stands so to the next one said."""
        if self.order is None:
            return []
        start, relation = self.order
        chain = range(start, len(self.objects)) if len(self.objects) > start else range(start)
        if len(chain) < 2:
            self.warnings.append(f"ignored the order '{relation}': it needs two objects")
        return [
            RelationSpec(subject=a, relation=relation, object=b)
            for a, b in zip(chain, chain[1:], strict=False)
        ]

    def side_relations(self) -> list[RelationSpec]:
        """'X on the left and Y on the right' -> X left of Y (and likewise top and bottom; a
        corner is two sides, 'at the top left'); a middle between a left and a right is between
        them; with two objects, a side said of one is a side of the other ('a square and a
        circle, the square on the left'); any other side is the object's place on the canvas
        ('a red circle in the top right corner'), and one that names none is reported."""
        said = [(i, part) for i, side in self.sides for part in side.split()]
        out = []
        used: set[tuple[int, str]] = set()
        for first, second, relation in (("left", "right", "left of"), ("top", "bottom", "above")):
            a = [e for e in said if e[1] == first]
            b = [e for e in said if e[1] == second]
            if len(a) == 1 and len(b) == 1 and a[0][0] != b[0][0]:
                out.append(RelationSpec(subject=a[0][0], relation=relation, object=b[0][0]))
                used |= {a[0], b[0]}
                middle = [e for e in said if e[1] in _MIDDLES]
                if relation == "left of" and len(middle) == 1:
                    # "a circle in the middle, a star on the left and a heart on the right"
                    out.append(
                        RelationSpec(
                            subject=middle[0][0],
                            relation="between",
                            object=a[0][0],
                            object2=b[0][0],
                        )
                    )
                    used.add(middle[0])
        if len(self.objects) == 2:
            # a side said of both ('a heart on the left and a circle on the left') is a place
            for i, side in [
                e
                for e in said
                if e not in used and e[1] not in _MIDDLES and (1 - e[0], e[1]) not in said
            ]:
                relation = {"left": "left of", "right": "right of", "top": "above"}.get(
                    side, "below"
                )
                out.append(RelationSpec(subject=i, relation=relation, object=1 - i))
                used.add((i, side))
            # "a star on the left and a circle in the middle": the middle is right of the star
            used |= {e for e in said if e[1] in _MIDDLES and any(u[0] != e[0] for u in used)}
        # what is left of each side said is the object's place on the canvas ("a star in the
        # top left corner"), when it names one
        left_over: dict[int, list[str]] = {}
        for i, side in self.sides:
            left_over.setdefault(i, []).extend(p for p in side.split() if (i, p) not in used)
        sides = []
        for i, parts in left_over.items():
            place = place_of(parts)
            # said after a group ('three triangles in a row along the bottom'): all of it
            group = self.split.get(i, [i])
            targets = group if i == group[-1] else [i]
            if place is not None and all(self.objects[j].place in (None, place) for j in targets):
                for j in targets:
                    self.objects[j] = self.objects[j].model_copy(update={"place": place})
            elif parts:
                sides.append(" ".join(parts))
        if self.pending_side:
            sides.append(self.pending_side)
        self.warnings += [f"ignored 'on the {side}': no object is said for it" for side in sides]
        return [r for k, r in enumerate(out) if r not in out[:k]]


def parse_prompt(text: str) -> SceneSpec:
    """Parse a prompt into a SceneSpec (objects, relations, negations, background).

    Words it does not understand never become objects: they are dropped, and the spec's
    ``warnings`` name them (and any one-letter typo read as a shape or colour word).
    """
    norm, background, unplaceable, limits, notes = _normalise(text)
    parser = _Parser()
    parser.feed(_tokens(norm))
    relations = parser.relations + parser.side_relations()
    objects, chosen = _choose_colours(parser.objects, parser.negations, parser.palettes)
    warnings = []
    if parser.ignored:
        words = ", ".join(f"'{w}'" for w in parser.ignored)
        warnings.append(f"ignored words it does not understand: {words}")
    warnings += [
        f"ignored '{p.strip()}': objects are placed only relative to each other"
        for p in unplaceable
    ]
    warnings += [f"read '{b}' as an exact count: a spec holds exact counts" for b in limits]
    warnings += [f"ignored '{p}': no object named for it" for p in parser.unattached]
    warnings += parser.warnings
    warnings += chosen
    warnings += notes
    warnings += [f"read '{typed}' as '{read}'" for typed, read in parser.typos]
    return SceneSpec(
        objects=objects,
        relations=relations,
        negations=parser.negations,
        background=background,
        warnings=warnings,
    )


def _choose_colours(
    objects: list[ObjectSpec], negations: list[ObjectSpec], palettes: list[str]
) -> tuple[list[ObjectSpec], list[str]]:
    """Colours for the placeholders ``recolour`` left ('%0.1': palette 0, colour 1): the colour
    the objects holding a placeholder already have ('a red circle and a star of the same
    colour'), else the first of ``_CHOSEN_ORDER`` not forbidden for their shapes, not taken in
    the palette, and not named elsewhere in the prompt while one is left. Returns the objects
    and a note per palette saying what was chosen (or why nothing was)."""
    said = {a for o in objects for a in o.attributes if a in COLORS}
    chosen: dict[str, str | None] = {}
    notes = []
    for p, what in enumerate(palettes):
        holders: dict[str, list[ObjectSpec]] = {}
        for o in objects:
            for a in o.attributes:
                if a.startswith(f"%{p}."):
                    holders.setdefault(a, []).append(o)
        taken: list[str] = []
        for tag, alike in holders.items():
            own = sorted({a for o in alike for a in o.attributes if a in COLORS})
            forbidden = {
                c for o in alike for n in negations if n.name == o.name for c in _colors_of(n)
            }
            free = [c for c in _CHOSEN_ORDER if c not in forbidden and c not in taken]
            if len(own) > 1:
                notes.append(f"ignored '{what}': {' and '.join(own)} are said")
                chosen[tag] = None
                continue
            if own:
                chosen[tag] = own[0]
                continue
            colour = next((c for c in free if c not in said), free[0] if free else None)
            if colour is None:
                raise InvalidParams.single("prompt", f"no colour is left for '{what}'")
            chosen[tag] = colour
            taken.append(colour)
        if taken:
            notes.append(f"chose {', '.join(taken)} for '{what}'")
    out = [
        o.model_copy(
            update={
                "attributes": _canonical_attributes(
                    [c for a in o.attributes if (c := chosen.get(a, a)) is not None]
                )
            }
        )
        for o in objects
    ]
    return out, notes


def _checked_count(count: int, name: str) -> int:
    if count > _MAX_COUNT:
        raise InvalidParams.single(
            "prompt", f"at most {_MAX_COUNT} of one kind of object; got {count} {name}"
        )
    return count


def _relation_ok(objs: list[ShapeObject], groups: list[list[int]], spec: SceneSpec) -> bool:
    for o, group in zip(spec.objects, groups, strict=True):
        if o.place and not all(in_place(objs[a].cx, objs[a].cy, o.place) for a in group):
            return False
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
    """A scene with exactly what ``spec`` asks for, placed to satisfy its places and relations."""
    if not spec.objects and not spec.negations and spec.warnings:
        # every word was ignored: an empty canvas would hide that the prompt was not understood
        raise InvalidParams.single("prompt", f"found nothing to draw ({'; '.join(spec.warnings)})")
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
    # a place's bounds drawn in by a margin, as relations are (a shape's box is not centred
    # on it: a triangle's or a star's box centre lies off the shape's)
    bounds = [
        _inset(place_bounds(o.place), 0.04) if o.place else None
        for o in spec.objects
        for _ in range(o.count)
    ]
    cells = _ranked_cells(spec, groups, len(wanted))
    for attempt in range(8):
        objs = place(wanted, rng, lambda objs: _relation_ok(objs, groups, spec), bounds=bounds)
        if objs is None and cells is not None and attempt >= 2:
            # many objects in order both ways ('a 3x3 grid'), which random tries rarely meet:
            # each in its cell of the orders the relations give, within its place
            within = [_meet(b, c) for b, c in zip(bounds, cells, strict=True)]
            if all(w is not None for w in within):
                objs = place(wanted, rng, lambda o: _relation_ok(o, groups, spec), bounds=within)
        if objs is not None:
            break
        # crowded: shrink everything one size step and retry
        wanted = [(sh, c, "small" if attempt >= 1 else "medium") for sh, c, _ in wanted]
    else:
        where = " in their places" if any(o.place for o in spec.objects) else ""
        raise InvalidParams.single(
            "prompt", f"could not place that many objects on one canvas{where}"
        )
    background = random_background(rng)
    if spec.background in BACKGROUNDS:
        background = (spec.background, spec.background)
    return Scene(objs, background)


def _ranked_cells(
    spec: SceneSpec, groups: list[list[int]], n: int
) -> list[tuple[float, float, float, float]] | None:
    """Each object's cell when the canvas is cut into as many columns (rows) as the longest
    chain of 'left of' ('above') relations: its column is how many must stand left of it, its
    row how many above it; each centre kept to the middle half of its cell. None when the
    relations go round in a circle or there is no order to keep."""
    order: dict[str, list[tuple[int, int]]] = {"x": [], "y": []}
    for r in spec.relations:
        axis, flip = {
            "left of": ("x", False), "right of": ("x", True),
            "above": ("y", False), "below": ("y", True),
        }.get(r.relation, (None, False))  # fmt: skip
        if axis is None:
            continue
        for a in groups[r.subject]:
            for b in groups[r.object]:
                order[axis].append((b, a) if flip else (a, b))
    if not order["x"] and not order["y"]:
        return None
    ranks = {}
    for axis, edges in order.items():
        rank = [0] * n
        for _ in range(n + 1):
            moved = False
            for a, b in edges:
                if rank[b] < rank[a] + 1:
                    rank[b], moved = rank[a] + 1, True
            if not moved:
                break
        else:
            return None  # a circle: no order satisfies it
        ranks[axis] = rank
    cols, rows = max(ranks["x"]) + 1, max(ranks["y"]) + 1
    return [
        (
            (ranks["x"][k] + 0.25) / cols,
            (ranks["x"][k] + 0.75) / cols,
            (ranks["y"][k] + 0.25) / rows,
            (ranks["y"][k] + 0.75) / rows,
        )
        for k in range(n)
    ]


def _meet(
    a: tuple[float, float, float, float] | None, b: tuple[float, float, float, float]
) -> tuple[float, float, float, float] | None:
    """Where two centre bounds overlap (``a`` None: anywhere); None when they do not."""
    if a is None:
        return b
    x0, x1, y0, y1 = max(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3])
    return (x0, x1, y0, y1) if x0 <= x1 and y0 <= y1 else None


def _inset(b: tuple[float, float, float, float], m: float) -> tuple[float, float, float, float]:
    x0, x1, y0, y1 = b
    return x0 + m * (x0 > 0), x1 - m * (x1 < 1), y0 + m * (y0 > 0), y1 - m * (y1 < 1)


def _colors_of(o: ObjectSpec) -> list[str]:
    colors = [a for a in o.attributes if a in COLORS]
    return colors or list(COLORS)
