"""Concept requests: names resolved against the library, placements that do not collide."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scenecraft.core.errors import InvalidParams
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


def test_slots_the_model_decodes_as_their_concept_are_preferred(library):
    from dataclasses import replace

    import torch

    # two red circle slots; only the second is drawn as a red circle when decoded
    two = replace(
        library,
        slots=torch.cat([library.slots, library.slots[1:2]]),
        labels=[*library.labels, "red circle"],
        centres=np.concatenate([library.centres, [[0.6, 0.2]]]),
        radii=np.concatenate([library.radii, [0.1]]).astype(np.float32),
        sources=np.concatenate([library.sources, [2]]),
        cluster=np.concatenate([library.cluster, [1]]),
    )
    assert two.members("red circle").tolist() == [1, 6]
    drawn = ["background", "red square", "background", "background", "blue circle", "mixed"]
    faithful = replace(two, decoded=[*drawn, "red circle"])
    assert faithful.members("red circle").tolist() == [6]
    from scenecraft.eval.slate import library_redrawn

    assert library_redrawn(faithful) == 1 / 3  # of three object slots only one is redrawn right
    # no blue star slot decodes as one: every blue star slot stays usable
    assert faithful.members("blue star").tolist() == [4]
    rng = np.random.default_rng(0)
    assert all(choose_slots(["red circle"], faithful, rng).picks == [6] for _ in range(5))
    # two red circles cannot both use the one faithful slot: the other is taken as well
    assert sorted(choose_slots(["red circle", "red circle"], faithful, rng).picks) == [1, 6]


def test_the_library_round_trips_what_its_slots_decode_as(library, tmp_path):
    import json
    from dataclasses import replace

    from scenecraft.slate.concepts import ConceptLibrary

    drawn = ["background", "red circle", "background", "background", "blue circle", "mixed"]
    replace(library, decoded=drawn).save(tmp_path / "with")
    assert ConceptLibrary.load(tmp_path / "with").decoded == drawn
    library.save(tmp_path / "without")  # a library from before decoding was recorded
    assert "decoded" not in json.loads((tmp_path / "without" / "concepts.json").read_text())
    assert ConceptLibrary.load(tmp_path / "without").decoded is None


def test_the_read_score_counts_requested_objects_and_charges_for_extras():
    from scenecraft.slate.compose import read_score

    asked = ["red circle", "red circle", "blue star"]
    assert read_score(asked, ["background", "red circle", "blue star", "red circle"]) == 3
    assert read_score(asked, ["red circle", "mixed", "background"]) == 1
    assert read_score(asked, ["red circle", "green heart", "blue star"]) == 1  # 2 found, 1 extra


def test_compose_keeps_the_candidate_the_model_reads_back_best(tiny, library):
    from scenecraft.slate.compose import compose, read_score, read_slots
    from scenecraft.slate.model import Slate

    model = Slate(tiny).eval()
    asked = ["red circle", "blue star"]
    one = compose(model, library, asked, np.random.default_rng(0))
    assert one.image.shape == (16, 16, 3) and one.scores == [0] and one.chosen == 0
    many = compose(model, library, asked, np.random.default_rng(0), candidates=4)
    assert len(many.scores) == 4 and many.scores[many.chosen] == max(many.scores)
    # the chosen image is read again as the score says
    read = read_slots(model, library, many.image[None], generator=torch.Generator().manual_seed(0))
    assert len(read) == 1 and len(read[0]) == tiny.num_slots
    assert all(r in library.labels for r in read[0])
    assert read_score(asked, read[0]) <= len(asked)


def test_the_mixture_decoder_draws_every_token_from_the_slots_at_once(tiny, library):
    from dataclasses import replace

    from scenecraft.slate.compose import compose, decode_slots
    from scenecraft.slate.model import Slate

    model = Slate(tiny).eval()
    slots = torch.randn(2, 3, tiny.slot_size)
    tokens = model.mixture_tokens(slots)
    g = tiny.grid
    assert tokens.shape == (2, g, g)
    assert torch.equal(tokens.flatten(1), model.mixture(slots)[0].argmax(-1))
    # the order of the slots does not matter: alphas compete over slots, nothing is sequential
    assert torch.equal(model.mixture_tokens(slots[:, [2, 0, 1]]), tokens)
    images = decode_slots(model, slots, "mixture")
    assert images.shape == (2, tiny.image_size, tiny.image_size, 3) and images.dtype == np.uint8
    done = compose(model, library, ["red circle"], np.random.default_rng(0), decoder="mixture")
    assert done.image.shape == (tiny.image_size, tiny.image_size, 3)
    with pytest.raises(ValueError, match="decoder must be one of transformer, mixture"):
        decode_slots(model, slots, "pixels")
    with pytest.raises(ValueError, match="no mixture decoder"):
        Slate(replace(tiny, mixture_weight=0.0)).mixture_tokens(slots)
