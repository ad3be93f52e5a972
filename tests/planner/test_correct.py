"""Offline corrections: keep what is right where it is, delete extras, add what is missing in
free space, recolour in place, and move only as much as a relation needs."""

from __future__ import annotations

import pytest

from scenecraft.core.contracts import Detection, Layout
from scenecraft.eval.planner import correction_case
from scenecraft.planner.correct import WIDE_GAP
from scenecraft.planner.geometry import GAP, centre, layout_problems
from scenecraft.planner.offline import OfflinePlanner
from scenecraft.shapesworld.judge import in_place
from scenecraft.shapesworld.prompts import parse_prompt


def _correct(prompt: str, dets: list[tuple[str, list[float], float]]) -> Layout:
    spec = parse_prompt(prompt)
    layout = OfflinePlanner().correct(prompt, spec, [Detection(*d) for d in dets])
    assert layout_problems(layout, spec) == []
    return layout


def _boxes(layout: Layout, phrase: str) -> list[list[float]]:
    return [it.box for it in layout.items if it.phrase == phrase]


def test_a_missing_object_is_added_in_free_space_and_the_rest_stay_put():
    layout = _correct(
        "two red circles and a blue star",
        [("red circle", [0.1, 0.1, 0.2, 0.2], 0.9), ("blue star", [0.6, 0.6, 0.2, 0.2], 0.9)],
    )
    assert _boxes(layout, "red circle")[0] == [0.1, 0.1, 0.2, 0.2]
    assert _boxes(layout, "blue star") == [[0.6, 0.6, 0.2, 0.2]]
    assert len(_boxes(layout, "red circle")) == 2


def test_the_extra_that_breaks_a_relation_is_the_one_deleted():
    layout = _correct(
        "a red circle to the left of a blue square",
        [
            ("red circle", [0.05, 0.4, 0.2, 0.2], 0.6),  # right side of the relation, less sure
            ("blue square", [0.4, 0.4, 0.2, 0.2], 0.9),
            ("red circle", [0.75, 0.4, 0.2, 0.2], 0.95),  # wrong side: goes first
        ],
    )
    assert _boxes(layout, "red circle") == [[0.05, 0.4, 0.2, 0.2]]


def test_with_no_relation_at_stake_the_least_confident_extra_goes():
    layout = _correct(
        "a green star",
        [("green star", [0.1, 0.1, 0.2, 0.2], 0.4), ("green star", [0.6, 0.6, 0.2, 0.2], 0.8)],
    )
    assert _boxes(layout, "green star") == [[0.6, 0.6, 0.2, 0.2]]


def test_objects_a_detector_cannot_tell_apart_share_the_detections():
    # sizes are not in a detection's label, and a circle of no colour may be a red one: every
    # circle found is kept where it is, none deleted and redrawn
    for prompt, labels in (
        ("a big and a small circle", ("red circle", "blue circle")),
        ("a red circle and a circle", ("red circle", "red circle")),
    ):
        dets = [(labels[0], [0.1, 0.1, 0.3, 0.3], 0.9), (labels[1], [0.6, 0.6, 0.1, 0.1], 0.8)]
        layout = _correct(prompt, dets)
        assert sorted(it.box for it in layout.items) == sorted(d[1] for d in dets), prompt


def test_a_circle_outside_two_stars_moves_between_them_and_the_stars_stay():
    stars = [("star", [0.4, 0.4, 0.2, 0.2], 0.9), ("star", [0.75, 0.4, 0.2, 0.2], 0.9)]
    layout = _correct(
        "a circle between two stars", [*stars, ("circle", [0.05, 0.4, 0.2, 0.2], 0.9)]
    )
    assert sorted(_boxes(layout, "star")) == sorted(b for _, b, _ in stars)
    (circle,) = _boxes(layout, "circle")
    assert 0.5 < centre(circle)[0] < 0.85


def test_a_wrong_colour_is_recoloured_in_place():
    layout = _correct(
        "a red circle and a blue star",
        [
            ("green circle", [0.1, 0.1, 0.2, 0.2], 0.9),
            ("blue star", [0.6, 0.6, 0.2, 0.2], 0.9),
        ],
    )
    assert _boxes(layout, "red circle") == [[0.1, 0.1, 0.2, 0.2]]
    assert not _boxes(layout, "green circle")


def test_a_wrong_side_object_moves_just_past_its_reference():
    layout = _correct(
        "a red circle to the left of a blue square",
        [("red circle", [0.7, 0.4, 0.2, 0.2], 0.9), ("blue square", [0.4, 0.1, 0.2, 0.2], 0.9)],
    )
    assert _boxes(layout, "blue square") == [[0.4, 0.1, 0.2, 0.2]]
    (circle,) = _boxes(layout, "red circle")
    # left of the square's centre (0.5), but not sent to the far edge
    assert 0.35 < centre(circle)[0] < 0.5
    assert circle[1] == pytest.approx(0.4)  # no vertical move was needed


def test_negated_objects_are_deleted_and_unmentioned_ones_kept():
    layout = _correct(
        "a red circle without any hearts",
        [
            ("red circle", [0.1, 0.1, 0.2, 0.2], 0.9),
            ("pink heart", [0.6, 0.1, 0.2, 0.2], 0.9),
            ("cyan square", [0.6, 0.6, 0.2, 0.2], 0.9),
        ],
    )
    assert [it.label for it in layout.items] == ["red circle #1", "cyan square #1"]
    assert layout.negative_prompt == "heart"


@pytest.mark.parametrize("perturbation", ["missing", "extra", "wrong-colour", "wrong-side"])
def test_synthetic_cases_end_satisfied_with_uninvolved_objects_in_place(perturbation):
    category = "spatial" if perturbation == "wrong-side" else "attribute"
    for seed in range(10):  # test seeds, not the evaluation's held-out ones
        case = correction_case(perturbation, category, seed)
        assert case is not None
        layout = OfflinePlanner().correct(case.prompt, case.spec, case.detections)
        assert layout_problems(layout, case.spec) == [], case.id
        kept = [it.box for it in layout.items]
        for i in case.uninvolved:
            assert case.detections[i].box in kept, case.id


def test_an_object_out_of_its_place_moves_back_in_and_the_rest_stay_put():
    layout = _correct(
        "a red circle in the top right corner, a blue star and a heart",
        [
            ("red circle", [0.1, 0.7, 0.2, 0.2], 0.9),
            ("blue star", [0.4, 0.4, 0.2, 0.2], 0.9),
            ("heart", [0.7, 0.7, 0.2, 0.2], 0.9),
        ],
    )
    cx, cy = centre(_boxes(layout, "red circle")[0])
    assert in_place(cx, cy, "top right")
    assert _boxes(layout, "red circle")[0][2:] == [0.2, 0.2]
    assert _boxes(layout, "blue star") == [[0.4, 0.4, 0.2, 0.2]]
    assert _boxes(layout, "heart") == [[0.7, 0.7, 0.2, 0.2]]


def test_an_object_out_of_its_place_shrinks_to_fit_beside_what_is_there():
    layout = _correct(
        "a red circle in the top right corner, a blue star and a heart",
        [
            ("red circle", [0.1, 0.7, 0.2, 0.2], 0.9),
            ("blue star", [0.4, 0.4, 0.2, 0.2], 0.9),
            ("heart", [0.75, 0.05, 0.2, 0.2], 0.9),
        ],
    )
    (circle,) = _boxes(layout, "red circle")
    assert in_place(*centre(circle), "top right") and circle[2] < 0.2
    assert _boxes(layout, "heart") == [[0.75, 0.05, 0.2, 0.2]]


def test_a_missing_object_with_a_place_is_added_there():
    layout = _correct(
        "two green squares, a yellow star at the bottom and a circle",
        [("green square", [0.1, 0.1, 0.2, 0.2], 0.9), ("green square", [0.7, 0.1, 0.2, 0.2], 0.9)],
    )
    (star,) = _boxes(layout, "yellow star")
    assert in_place(*centre(star), "bottom")


def _gap(a: list[float], b: list[float]) -> float:
    """How far apart two boxes are along the axis they are apart on (< 0: they overlap)."""
    return max(
        b[0] - (a[0] + a[2]), a[0] - (b[0] + b[2]), b[1] - (a[1] + a[3]), a[1] - (b[1] + b[3])
    )


def test_an_added_object_keeps_clear_of_obstacles_and_wider_of_its_kind():
    prompt = "two red circles"
    spec = parse_prompt(prompt)
    dets = [Detection("red circle", [0.35, 0.35, 0.25, 0.25], 0.9)]
    planner = OfflinePlanner()
    (_, blind) = _boxes(planner.correct(prompt, spec, dets), "red circle")
    assert _gap(blind, dets[0].box) < WIDE_GAP  # where it goes knowing only the detection
    kept, new = _boxes(planner.correct(prompt, spec, dets, obstacles=[blind]), "red circle")
    assert kept == dets[0].box
    assert _gap(new, blind) >= GAP - 1e-9 and _gap(new, dets[0].box) >= WIDE_GAP - 1e-9
    # no room clear of the obstacles: added over them all the same, as close as GAP
    crowded = planner.correct(prompt, spec, dets, obstacles=[[0.0, 0.0, 1.0, 1.0]])
    (_, over) = _boxes(crowded, "red circle")
    assert _gap(over, dets[0].box) >= GAP - 1e-9 and layout_problems(crowded, spec) == []
