"""Concept requests: names resolved against the library, placements that do not collide."""

from __future__ import annotations

import numpy as np
import pytest

from scenecraft.errors import InvalidParams
from scenecraft.slate.compose import choose_slots, concepts_spec, resolve_concepts


def test_counts_and_colourless_shapes_resolve_to_known_concepts(library):
    rng = np.random.default_rng(0)
    got = resolve_concepts("two red circles and a star", library, rng)
    assert got == ["red circle", "red circle", "blue star"]
    spec = concepts_spec(got)
    assert [(o.name, o.count, o.attributes) for o in spec.objects] == [
        ("circle", 2, ["red"]),
        ("star", 1, ["blue"]),
    ]


def test_objects_get_the_background_of_a_single_object_image_and_their_own_slots(library):
    comp = choose_slots(["blue star", "red circle"], library, np.random.default_rng(0))
    assert comp.picks == [4, 1]
    # both library images hold one object; either one's background slots are used, never mixed
    assert comp.background in ([0, 2], [3])
    assert comp.slots.shape == (len(comp.background) + 2, library.slots.shape[1])


def test_a_placement_that_must_overlap_is_refused(library):
    # the library has one red circle slot: two red circles would sit on top of each other
    with pytest.raises(InvalidParams, match="no non-overlapping placement"):
        choose_slots(["red circle", "red circle"], library, np.random.default_rng(0))
