"""Paraphrases of ShapesWorld benchmark prompts, and spec equivalence to score a parser on them.

A paraphrase says what a benchmark prompt says in other words: synonyms ("disc", "violet"),
digits or number words, "a couple of", British spellings ("coloured", "grey"), postposed colours
("circles in red"), reordered clauses ("no hearts, just a star"; "to the left of X is Y"),
converse relations ("Y to the right of X"). The gold spec is the benchmark spec, so scoring uses
``equivalent``: the same objects, negations and relations, in any order of mention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenecraft.core.contracts import ObjectSpec, RelationSpec, SceneSpec
from scenecraft.shapesworld.benchmark import CATEGORIES, CATEGORY_STRIDE, PROMPT_SEEDS, make_prompt
from scenecraft.shapesworld.grammar import BACKGROUNDS, NUMBER_WORDS

_NOUNS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "circle", "disc", "disk", "circular shape", "round shape"),
    "square": ("square", "square", "square shape"),
    "triangle": ("triangle", "triangle", "triangular shape", "three-sided shape"),
    "star": ("star", "star", "star shape", "star-shaped figure"),
    "hexagon": ("hexagon", "hexagon", "hexagonal shape", "six-sided shape"),
    "heart": ("heart", "heart", "love heart", "heart shape"),
}
_COLOR_WORDS: dict[str, tuple[str, ...]] = {
    "purple": ("violet",),
    "cyan": ("turquoise", "teal", "aqua"),
    "red": ("crimson", "scarlet"),
    "pink": ("magenta",),
}
_RELATION_WORDS: dict[str, tuple[str, ...]] = {
    "left of": (
        "to the left of",
        "on the left of",
        "left of",
        "on the left side of",
        "to the left-hand side of",
        "is to the left of",
        "sits to the left of",
        "placed left of",
    ),
    "right of": (
        "to the right of",
        "on the right of",
        "right of",
        "on the right side of",
        "is to the right of",
        "sits to the right of",
        "positioned right of",
    ),
    "above": ("above", "over", "on top of", "is above", "sits above", "higher than"),
    "below": ("below", "under", "beneath", "underneath", "is below", "lower than"),
}
_CONVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
_PRONOUN_FORMS = {
    "left of": ("to its left", "on its left"),
    "right of": ("to its right", "on its right"),
    "above": ("above it", "on top of it"),
    "below": ("below it", "under it"),
}
_SIDE_FORMS = {
    "left of": ("on the left", "on the right"),
    "right of": ("on the right", "on the left"),
    "above": ("at the top", "at the bottom"),
    "below": ("at the bottom", "at the top"),
}
_JOINERS = (" and ", ", and ", ", plus ", " as well as ", " along with ", " together with ", " & ")
_NEGATION_FORMS = (
    "without any {p}",
    "with no {p}",
    "and no {p}",
    "but no {p}",
    "without a single {s}",
    "and not a single {s}",
    "with zero {p}",
    "and not any {p}",
)


@dataclass(frozen=True)
class Paraphrase:
    id: str
    category: str
    seed: int
    text: str
    spec: SceneSpec  # what the text means (the benchmark spec, plus a background if one is said)


def _choice(rng: np.random.Generator, items) -> str:
    return items[int(rng.integers(len(items)))]


def _pluralise(noun: str) -> str:
    return noun + "es" if noun.endswith("s") else noun + "s"


def _count_words(n: int, rng: np.random.Generator) -> str:
    if n == 1:
        return _choice(rng, ("a", "a", "one", "a single", "exactly one", "1"))
    forms = [NUMBER_WORDS[n], str(n), f"exactly {NUMBER_WORDS[n]}"]
    if n == 2:
        forms += ["a couple of", "a pair of"]
    return _choice(rng, forms)


def _article(words: str) -> str:
    return (
        words.replace("a ", "an ", 1) if words.startswith("a ") and words[2] in "aeiou" else words
    )


def _object_phrase(o: ObjectSpec, rng: np.random.Generator) -> str:
    noun = _choice(rng, _NOUNS[o.name])
    noun = noun if o.count == 1 else _pluralise(noun)
    colour = o.attributes[0] if o.attributes else None
    if colour is None:
        return _article(f"{_count_words(o.count, rng)} {noun}")
    if colour in _COLOR_WORDS and rng.random() < 0.3:
        colour = _choice(rng, _COLOR_WORDS[colour])
    be = "is" if o.count == 1 else "are"
    form = _choice(
        rng,
        (
            "{c} {n}",
            "{c} {n}",
            "{n} in {c}",
            "{n} coloured {c}",
            "{c}-coloured {n}",
            "{n} that " + be + " {c}",
            "{n} of {c} colour",
        ),
    )
    return _article(f"{_count_words(o.count, rng)} " + form.format(c=colour, n=noun))


def _negated_phrase(o: ObjectSpec, rng: np.random.Generator) -> str:
    noun = _choice(rng, _NOUNS[o.name])
    colour = " ".join(o.attributes)
    plural, single = _pluralise(noun), noun
    if colour:
        if rng.random() < 0.3:
            plural, single = f"{plural} in {colour}", f"{single} in {colour}"
        else:
            plural, single = f"{colour} {plural}", f"{colour} {single}"
    return _choice(rng, _NEGATION_FORMS).format(p=plural, s=single)


def _negation(spec: SceneSpec, rng: np.random.Generator) -> str:
    pos = _object_phrase(spec.objects[0], rng)
    neg = _negated_phrase(spec.negations[0], rng)
    if rng.random() < 0.3:
        # reordered: the negation first ("no hearts, just a red star")
        head = neg.split(" ", 1)[1] if neg.startswith(("and ", "but ", "with ")) else neg
        if head.startswith("no "):
            return f"{head}, {_choice(rng, ('just', 'only'))} {pos}"
        return f"{head}, {pos}"
    return f"{pos} {neg}" if rng.random() < 0.7 else f"{pos}, {neg}"


def _listing(spec: SceneSpec, rng: np.random.Generator) -> str:
    objects = list(spec.objects)
    if rng.random() < 0.5:
        objects.reverse()
    text = _object_phrase(objects[0], rng)
    for o in objects[1:]:
        text += _choice(rng, _JOINERS) + _object_phrase(o, rng)
    prefix = _choice(rng, ("", "", "there are ", "an image of ", "a picture showing ", "draw "))
    if prefix == "there are " and objects[0].count == 1:
        prefix = "there is "
    return prefix + text


def _spatial(spec: SceneSpec, rng: np.random.Generator) -> str:
    rel: RelationSpec = spec.relations[0]
    a = _object_phrase(spec.objects[rel.subject], rng)
    b = _object_phrase(spec.objects[rel.object], rng)
    form = int(rng.integers(6))
    if form == 0:  # the converse: "B to the right of A"
        return f"{b} {_choice(rng, _RELATION_WORDS[_CONVERSE[rel.relation]])} {a}"
    if form == 1:  # fronted: "to the left of B is A"
        word = _choice(rng, _RELATION_WORDS[rel.relation]).removeprefix("is ")
        word = word.removeprefix("sits ").removeprefix("placed ").removeprefix("positioned ")
        return f"{word} {b} {_choice(rng, ('is', 'there is', 'sits'))} {a}"
    if form == 2:  # pronoun: "B with A to its left"
        return f"{b} with {a} {_choice(rng, _PRONOUN_FORMS[rel.relation])}"
    if form == 3:  # sides: "A on the left and B on the right"
        first, second = _SIDE_FORMS[rel.relation]
        return f"{a} {first} and {b} {second}"
    return f"{a} {_choice(rng, _RELATION_WORDS[rel.relation])} {b}"


def paraphrase(category: str, seed: int) -> Paraphrase:
    """A paraphrase of the benchmark prompt ``make_prompt(category, seed)`` and its meaning."""
    base = make_prompt(category, seed)
    rng = np.random.default_rng([seed, 7])
    spec = base.spec
    if category == "negation":
        text = _negation(spec, rng)
    elif category == "spatial":
        text = _spatial(spec, rng)
    else:
        text = _listing(spec, rng)
    if rng.random() < 0.25:
        background = _choice(rng, list(BACKGROUNDS))
        said = background.replace("gray", "grey") if rng.random() < 0.5 else background
        text += f" {_choice(rng, ('on', 'against'))} {_article('a ' + said)} background"
        spec = spec.model_copy(update={"background": background})
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:] + "."
    return Paraphrase(f"{category}-{seed}", category, seed, text, spec)


def paraphrase_set(
    n_per_category: int, which: str = "heldout_prompts", offset: int = 90_000
) -> list[Paraphrase]:
    """Paraphrases of fresh prompts: ``which``/``offset`` pick the seed range as in
    ``benchmark.prompt_set`` (the default is the evaluation's held-out range)."""
    base = PROMPT_SEEDS[which] + offset
    return [
        paraphrase(cat, base + ci * CATEGORY_STRIDE + i)
        for ci, cat in enumerate(CATEGORIES)
        for i in range(n_per_category)
    ]


def _canonical(spec: SceneSpec) -> tuple:
    """A form equal for specs that mean the same: objects in any order, converse relations."""
    keys = [(o.name, tuple(o.attributes), o.count) for o in spec.objects]
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    rank = {old: new for new, old in enumerate(order)}
    rels = []
    for r in spec.relations:
        s, o, o2, rel = rank[r.subject], rank[r.object], r.object2, r.relation
        if rel in ("right of", "below"):
            rel, s, o = _CONVERSE[rel], o, s
        if rel == "next to":
            s, o = sorted((s, o))
        if o2 is not None:
            o, o2 = sorted((o, rank[o2]))
        rels.append((s, rel, o, o2))
    negs = sorted((n.name, tuple(n.attributes)) for n in spec.negations)
    return (tuple(keys[i] for i in order), tuple(sorted(rels)), tuple(negs), spec.background)


def equivalent(a: SceneSpec, b: SceneSpec) -> bool:
    """Do two specs ask for the same scene (ignoring the order objects are mentioned in)?"""
    return _canonical(a) == _canonical(b)
