"""Stage 1: the layout (a box and a caption per object), the prompts the diffusion passes read, and
which tokens of each prompt name each object.

Both prompts are written from the layout in the world model's caption English: the whole scene
as "two red circles and a blue star" (relations and negations are the boxes' job, so they are not
in it) and each object alone as "a red circle". Knowing how each prompt was assembled word by
word gives the token positions of every object's words, which attention fusion needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scenecraft.core.contracts import Layout, LayoutItem, ObjectSpec
from scenecraft.core.errors import PlannerError
from scenecraft.planner import Planner
from scenecraft.shapesworld.scene import count_phrase

_ARTICLES = {"a", "an", "the"}
_ID = re.compile(r"[^A-Za-z0-9_-]+")


def plan(prompt: str, size: tuple[int, int], planner: Planner) -> Layout:
    """The planner's layout for a (width, height) canvas; an empty one is an error."""
    layout = planner.layout(prompt, size)
    if not layout.items:
        raise PlannerError(f"the planner laid out no objects for {prompt!r}")
    return layout


def object_ids(layout: Layout) -> list[str]:
    """One SVG id per item from its caption ('red circle #1' -> 'red-circle-1'), unique."""
    out: list[str] = []
    for i, item in enumerate(layout.items):
        base = _ID.sub("-", item.label).strip("-").lower() or f"object-{i}"
        ident = base
        while ident in out or ident == "background":
            ident = f"{base}-{i}"
        out.append(ident)
    return out


def _spec(phrase: str, count: int) -> ObjectSpec:
    words = [w for w in phrase.split() if w.lower() not in _ARTICLES] or phrase.split()
    return ObjectSpec(name=words[-1], count=count, attributes=words[:-1])


@dataclass
class Prompt:
    """A prompt and, per object group, the indices of the words that name it."""

    text: str
    words: list[str]  # the text split as the tokenizer splits it (punctuation apart)
    groups: list[list[int]]  # word indices per group

    def token_groups(self, tokenizer) -> list[list[int]]:
        """Token positions of each group's words (after the start token), within the max length.

        CLIP-style tokenizers split on spaces before BPE, so a prompt's tokens are its words'
        tokens one after another.
        """
        starts, pos = [], 1
        for w in self.words:
            starts.append(pos)
            pos += len(tokenizer(w, add_special_tokens=False).input_ids)
        ends = [*starts[1:], pos]
        last = tokenizer.model_max_length - 1  # the end token must still fit
        return [
            [t for i in group for t in range(starts[i], ends[i]) if t < last]
            for group in self.groups
        ]


def _suffix(layout: Layout) -> str:
    return f" on a {layout.background} background" if layout.background else ""


def phrase_groups(layout: Layout) -> dict[str, list[int]]:
    """Distinct phrases in order of first appearance -> indices of the items showing them."""
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(layout.items):
        groups.setdefault(item.phrase, []).append(i)
    return groups


def scene_prompt(layout: Layout) -> Prompt:
    """'two red circles and a blue star' (+ background); one word group per distinct phrase."""
    words: list[str] = []
    groups: list[list[int]] = []
    phrases = list(phrase_groups(layout).items())
    for k, (phrase, items) in enumerate(phrases):
        if k:
            words.append("and" if k == len(phrases) - 1 else ",")
        said = count_phrase(_spec(phrase, len(items))).split()
        groups.append(list(range(len(words) + 1, len(words) + len(said))))  # not the count word
        words.extend(said)
    suffix = _suffix(layout)
    # "circles ," and "circles," tokenise alike, so the comma may stay a word of its own
    return Prompt(" ".join(words).replace(" ,", ",") + suffix, words + suffix.split(), groups)


def box_prompt(item: LayoutItem, layout: Layout) -> Prompt:
    """'a red circle' (+ background): the object alone, its words as the one group."""
    words = count_phrase(_spec(item.phrase, 1)).split()
    suffix = _suffix(layout)
    return Prompt(" ".join(words) + suffix, words + suffix.split(), [list(range(1, len(words)))])
