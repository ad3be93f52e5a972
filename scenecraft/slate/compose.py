"""Composition: new scenes decoded from slots picked out of the concept library, or swapped
between two images.

A request names objects ("a blue star and two red circles"). Each object gets a library slot of
its concept whose position does not collide with the ones already chosen (slots carry their
position, so choosing a slot is choosing a place); the background comes from every background
slot of one library image with a single object, whose object slot is left out.

The decoder does not always redraw a slot as the object it came from once its neighbours change,
so ``compose`` can draw several candidate sets of slots, decode them in one batch and keep the
one the model itself reads back best: each decoded image is encoded into slots again and every
slot is named by its nearest library slots (``read_slots``). No detector looks at a candidate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch

from scenecraft.core.contracts import ObjectSpec, SceneSpec
from scenecraft.core.errors import InvalidParams
from scenecraft.shapesworld.prompts import parse_prompt
from scenecraft.slate.concepts import BACKGROUND, MIXED, ConceptLibrary
from scenecraft.slate.data import to_tensor, to_uint8
from scenecraft.slate.model import Slate

GAP = 0.02  # least gap between two chosen objects' discs, fraction of the canvas
TRIES = 200


@dataclass
class Composition:
    slots: torch.Tensor  # [K', D]: background slots then one slot per requested object
    concepts: list[str]  # the requested object concepts, in order
    picks: list[int] = field(default_factory=list)  # library index of each object's slot
    background: list[int] = field(default_factory=list)  # library indices of background slots

    def to_dict(self, library: ConceptLibrary) -> dict:
        return {
            "concepts": self.concepts,
            "objects": [
                {
                    "concept": c,
                    "slot": int(i),
                    "source_image": int(library.sources[i]),
                    "centre": [round(float(v), 3) for v in library.centres[i]],
                }
                for c, i in zip(self.concepts, self.picks, strict=True)
            ],
            "background_slots": [int(i) for i in self.background],
        }


def resolve_concepts(
    text: str, library: ConceptLibrary, rng: np.random.Generator, field_name: str = "concepts"
) -> list[str]:
    """'a blue star and two red circles' -> ['blue star', 'red circle', 'red circle'].

    A shape without a colour takes any known colour of it. Unknown names, and words the parser
    could not read, raise InvalidParams listing every known concept.
    """
    known = library.concept_names()
    spec = parse_prompt(text)
    out, unknown = [], []
    for obj in spec.objects:
        wanted = " ".join([*obj.attributes, obj.name])
        options = [k for k in known if k == wanted or (not obj.attributes and k.endswith(obj.name))]
        if not options:
            unknown.append(wanted)
            continue
        out += [options[rng.integers(len(options))] for _ in range(obj.count)]
    if unknown or spec.warnings or not out:
        # words the parser could not read are unknown concepts too, never silently dropped
        what = (
            "; ".join(
                [f"unknown concept {', '.join(repr(u) for u in unknown)}"] * bool(unknown)
                + spec.warnings
            )
            or f"no concept in {text!r}"
        )
        raise InvalidParams.single(
            f"params.{field_name}", f"{what}; known concepts: {', '.join(known)}"
        )
    return out


def concepts_spec(concepts: list[str]) -> SceneSpec:
    """What the judge should find: ['red circle', 'red circle', 'blue star'] -> two red circles
    and a blue star."""
    objects = []
    for concept, n in Counter(concepts).items():
        colour, _, shape = concept.rpartition(" ")
        objects.append(ObjectSpec(name=shape, count=n, attributes=[colour] if colour else []))
    return SceneSpec(objects=objects)


def _fits(library: ConceptLibrary, i: int, placed: list[int]) -> bool:
    c, r = library.centres[i], library.radii[i]
    return all(np.hypot(*(c - library.centres[j])) > r + library.radii[j] + GAP for j in placed)


def choose_slots(
    concepts: list[str], library: ConceptLibrary, rng: np.random.Generator
) -> Composition:
    """Pick a background and one non-colliding library slot per concept."""
    labels = np.array(library.labels)
    objects_per_image = np.bincount(library.sources[labels != BACKGROUND], minlength=1)
    single = np.nonzero(objects_per_image == 1)[0]
    sources = single if len(single) else np.unique(library.sources)
    # slots drawn faithfully first; when those cannot be placed apart, any slot of the concept
    faithful = {c: library.members(c) for c in set(concepts)}
    anyone = {c: library.members(c, faithful=False) for c in set(concepts)}
    for attempt in range(TRIES):
        members = faithful if attempt < TRIES // 2 else anyone
        source = sources[rng.integers(len(sources))]
        background = np.nonzero((library.sources == source) & (labels == BACKGROUND))[0]
        picks: list[int] = []
        for c in concepts:
            options = rng.permutation(members[c])[:64]
            i = next((int(i) for i in options if _fits(library, int(i), picks)), None)
            if i is None:
                break
            picks.append(i)
        else:
            slots = library.slots[np.concatenate([background, picks]).astype(np.int64)]
            return Composition(slots, concepts, picks, background.tolist())
    raise InvalidParams.single(
        "params.concepts", f"found no non-overlapping placement for {len(concepts)} objects"
    )


DECODERS = ("transformer", "mixture")


@torch.no_grad()
def decode_slots(model: Slate, slots: torch.Tensor, decoder: str = "transformer") -> np.ndarray:
    """slots [B, K, D] -> images [B, H, W, 3] uint8: tokens from the KV-cached transformer
    decoder (or, with ``decoder="mixture"``, the mixture decoder), drawn by the dVAE."""
    device = next(model.parameters()).device
    if decoder == "mixture":
        tokens = model.mixture_tokens(slots.to(device))
    elif decoder == "transformer":
        tokens = model.generate(slots.to(device))
    else:
        raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, not {decoder!r}")
    return to_uint8(model.dvae.decode_tokens(tokens))


@torch.no_grad()
def read_slots(
    model: Slate,
    library: ConceptLibrary,
    images: np.ndarray,
    k: int = 5,
    generator: torch.Generator | None = None,
) -> list[list[str]]:
    """What the model reads in images [B, H, W, 3] uint8: per image, the label of each slot,
    the majority label of its ``k`` nearest library slots (backgrounds included)."""
    device = next(model.parameters()).device
    slots, _ = model.encode(model.dvae.tokens(to_tensor(images, device)), generator)  # [B, K, D]
    bank = library.slots.to(device)  # [M, D]
    near = torch.cdist(slots.flatten(0, 1), bank).topk(min(k, len(bank)), largest=False).indices
    labels = np.array(library.labels)[near.cpu().numpy()]  # [B * K, k]
    named = [Counter(row.tolist()).most_common(1)[0][0] for row in labels]
    per = slots.shape[1]
    return [named[i : i + per] for i in range(0, len(named), per)]


def read_score(concepts: list[str], read: list[str]) -> int:
    """Requested objects read back (a multiset intersection) less objects read but not asked."""
    objects = [r for r in read if r not in (BACKGROUND, MIXED)]
    found = (Counter(concepts) & Counter(objects)).total()
    return found - (len(objects) - found)


@dataclass
class Composed:
    image: np.ndarray  # [H, W, 3] uint8, the chosen candidate
    composition: Composition
    scores: list[int]  # read_score of every candidate, in the order drawn
    chosen: int  # index of the chosen candidate


@torch.no_grad()
def compose(
    model: Slate,
    library: ConceptLibrary,
    concepts: list[str],
    rng: np.random.Generator,
    candidates: int = 1,
    generator: torch.Generator | None = None,
    decoder: str = "transformer",
) -> Composed:
    """Draw ``candidates`` slot sets for ``concepts``, decode them together (``decode_slots``)
    and keep the first of those the model reads back best (``read_slots``); one candidate skips
    the read-back."""
    comps = [choose_slots(concepts, library, rng) for _ in range(candidates)]
    if candidates == 1:
        return Composed(decode_slots(model, comps[0].slots[None], decoder)[0], comps[0], [0], 0)
    # candidates differ in how many background slots they carry: decode each size as one batch
    images = np.zeros((candidates, *[model.cfg.image_size] * 2, 3), np.uint8)
    for width in {len(c.slots) for c in comps}:
        rows = [i for i, c in enumerate(comps) if len(c.slots) == width]
        images[rows] = decode_slots(model, torch.stack([comps[i].slots for i in rows]), decoder)
    scores = [
        read_score(concepts, r) for r in read_slots(model, library, images, generator=generator)
    ]
    best = int(np.argmax(scores))
    return Composed(images[best], comps[best], scores, best)


@torch.no_grad()
def swap_slots(
    model: Slate,
    image_a: np.ndarray,
    image_b: np.ndarray,
    pairs: list[tuple[int, int]],
    generator: torch.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace slot i of image A by slot j of image B for each (i, j); returns (A', slot masks).

    Images are [H, W, 3] uint8; the masks [2, K, H, W] show A's and B's slots so a caller can
    choose the pairs.
    """
    device = next(model.parameters()).device
    k = model.cfg.num_slots
    for i, j in pairs:
        if not (0 <= i < k and 0 <= j < k):
            raise InvalidParams.single("params.swap", f"slot ({i}, {j}) outside 0..{k - 1}")
    images = to_tensor(np.stack([image_a, image_b]), device)
    slots, attn = model.encode(model.dvae.tokens(images), generator)  # [2, K, D], [2, K, N]
    mixed = slots[0].clone()
    for i, j in pairs:
        mixed[i] = slots[1, j]
    return decode_slots(model, mixed[None])[0], model.masks(attn).cpu().numpy()
