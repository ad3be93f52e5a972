"""The words the prompt parser knows beyond ShapesWorld's grammar, and its one-letter typo fixer.

A word the parser does not know never becomes an object: it is either one of these (filler a
user types around a request, an everyday noun a real detector finds) or it is reported as
ignored. Typos are fixed only on shape and colour words, and only when the word typed is not an
English word itself ("start" stays a verb, it never becomes "stars").
"""

from __future__ import annotations

from scenecraft.shapesworld.grammar import COLORS, SHAPES, plural

# Words that carry no scene meaning, in the registers people write prompts in (terse, chatty,
# polite); the parser reads past them without a warning.
_FILLER_TEXT = """
    is are was were be being been am do does did has have had there here its their they which
    who that whose what of in on at to from by for into onto as so also all any each every both
    well or nor exactly precisely placed positioned located sits sit sitting stands standing lies
    lying shown seen drawn appears appear featuring coloured colored colour color shaped shape
    shapes other another we you i me my us our hello hi hey please pls plz nothing something
    anything everything should must can could would will may might shall need needs want wants
    like canvas image picture scene kindly thanks thank thx ok okay basically actually really
    maybe um uh yo lol gimme give get got let lets add put place start using use else more
    total altogether together again too now very love absolutely definitely literally simply
    thats whats id im ive wanna see look whatsoever whatever
"""
FILLER: frozenset[str] = frozenset(_FILLER_TEXT.split())

# Position words the spec cannot say (a scene only has relations between objects): reading one
# outside the idioms the parser understands ("on the left") is reported, never dropped silently.
_POSITION_TEXT = "side hand left right top bottom middle center centre corner edge"
POSITION_WORDS: frozenset[str] = frozenset(_POSITION_TEXT.split())

# Everyday nouns an open-vocabulary detector (OWLv2) and a real diffusion model know: COCO's 80
# categories, people, and a few common things. Any other noun is reported, not drawn.
_NOUN_TEXT = """
    person bicycle car motorcycle airplane bus train truck boat bench bird cat dog horse
    sheep cow elephant bear zebra giraffe backpack umbrella handbag tie suitcase frisbee
    skis snowboard kite skateboard surfboard bottle cup fork knife spoon bowl banana apple
    sandwich broccoli carrot pizza donut cake chair couch bed toilet tv laptop mouse remote
    keyboard microwave oven toaster sink refrigerator book clock vase scissors toothbrush
    man woman boy girl child kid baby tree flower house table ball balloon box lamp sofa
    phone computer plane bike rabbit fish duck mug glass hat shoe
"""
COMMON_NOUNS: frozenset[str] = frozenset(
    {
        *_NOUN_TEXT.split(),
        "traffic light",
        "fire hydrant",
        "stop sign",
        "parking meter",
        "sports ball",
        "baseball bat",
        "baseball glove",
        "tennis racket",
        "wine glass",
        "hot dog",
        "potted plant",
        "dining table",
        "cell phone",
        "teddy bear",
        "hair drier",
    }
)

# Common English words one edit away from a shape or colour word: never read as typos.
_REAL_WORDS_TEXT = """
    start stare stair stay stays stab stag scar spar soar sear stir tsar stat starts stared
    heat hear heard hears hearth heats hearty greed greet greek greens preen blur blues glue clue
    flue pint pine pick kink link mink sink wink rink oink pinky grew prey trey gravy gran grad
    gram grays greys squire squared circe orang fellow mellow bellow cyans
"""
_REAL_WORDS = frozenset(_REAL_WORDS_TEXT.split())
_TYPO_TARGETS = frozenset([*SHAPES, *(plural(s) for s in SHAPES), *COLORS, "gray", "grey"]) - {
    w for w in COLORS if len(w) < 4
}


def _one_edit_apart(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or swap of neighbours turns ``a`` into ``b``."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long = sorted((a, b), key=len)
    i = next((k for k, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1 :]


def correct_typo(word: str) -> str | None:
    """The shape or colour word ``word`` is a one-letter typo of, when exactly one fits."""
    if len(word) < 4 or word in _REAL_WORDS:
        return None
    matches = [t for t in _TYPO_TARGETS if _one_edit_apart(word, t)]
    return matches[0] if len(matches) == 1 else None
