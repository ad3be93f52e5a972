"""Offline edits: move, swap, resize, recolour, remove, add, replace, with clear errors."""

from __future__ import annotations

import pytest

from scenecraft.core.contracts import Detection, Layout
from scenecraft.core.errors import PlannerError
from scenecraft.planner.geometry import centre
from scenecraft.planner.offline import OfflinePlanner
from scenecraft.shapesworld.judge import holds

SCENE = [
    Detection("red circle", [0.1, 0.4, 0.2, 0.2], 0.9),
    Detection("blue square", [0.6, 0.4, 0.2, 0.2], 0.9),
    Detection("green star", [0.4, 0.75, 0.15, 0.15], 0.9),
]


def _edit(instruction: str, dets: list[Detection] = SCENE) -> dict[str, list[float]]:
    layout: Layout = OfflinePlanner().edit(instruction, dets)
    return {it.label: it.box for it in layout.items}


def test_move_next_to_a_reference_keeps_everything_else():
    boxes = _edit("move the red circle to the right of the blue square")
    assert holds(boxes["red circle #1"], boxes["blue square #1"], "right of")
    assert boxes["blue square #1"] == SCENE[1].box
    assert boxes["green star #1"] == SCENE[2].box


def test_move_into_a_region_and_nudge():
    assert centre(_edit("move the star to the top left corner")["green star #1"])[1] <= 0.35
    nudged = _edit("move the star up a bit")["green star #1"]
    assert nudged[1] == pytest.approx(SCENE[2].box[1] - 0.1)


def test_swap_exchanges_places():
    boxes = _edit("swap the red circle and the blue square")
    assert boxes["red circle #1"] == pytest.approx(SCENE[1].box)
    assert boxes["blue square #1"] == pytest.approx(SCENE[0].box)


def test_resize_keeps_the_centre():
    bigger = _edit("make the star bigger")["green star #1"]
    assert bigger[2] == pytest.approx(0.225)
    assert centre(bigger) == pytest.approx(centre(SCENE[2].box))
    assert _edit("make the circle large")["red circle #1"][2] == pytest.approx(0.26)


def test_recolour_and_replace_keep_the_box():
    assert _edit("make the red circle yellow")["yellow circle #1"] == SCENE[0].box
    assert _edit("change the colour of the square to pink")["pink square #1"] == SCENE[1].box
    assert _edit("replace the red circle with a blue star")["blue star #1"] == SCENE[0].box
    assert _edit("turn the square into a heart")["heart #1"] == SCENE[1].box


def test_remove_and_add_in_several_steps():
    boxes = _edit("remove the star; then add two purple hearts above the blue square")
    assert "green star #1" not in boxes
    for k in (1, 2):
        assert holds(boxes[f"purple heart #{k}"], boxes["blue square #1"], "above")


def test_a_position_word_picks_one_of_several():
    two = [*SCENE, Detection("red circle", [0.4, 0.05, 0.2, 0.2], 0.9)]
    boxes = _edit("remove the leftmost red circle", two)
    assert list(boxes.values()).count(SCENE[0].box) == 0
    with pytest.raises(PlannerError, match="say which one"):
        _edit("remove the red circle", two)


def test_unclear_edits_are_clear_errors():
    with pytest.raises(PlannerError, match="nothing in the image matches 'triangle'"):
        _edit("remove the triangle")
    with pytest.raises(PlannerError, match="could not understand"):
        _edit("dance with the circle")


def test_other_peoples_wording_of_edits():
    # polite frames, 'over to', 'X should be red', 'a green one'
    boxes = _edit("Could you move the red circle over to the right of the blue square?")
    assert holds(boxes["red circle #1"], boxes["blue square #1"], "right of")
    assert _edit("the circle should be pink")["pink circle #1"] == SCENE[0].box
    assert _edit("change the red circle to a green one")["green circle #1"] == SCENE[0].box
    # 'and' before a verb starts a step; 'it' is what the step before acted on, not its reference
    boxes = _edit("move the circle to the right of the square and make it blue")
    assert holds(boxes["blue circle #1"], boxes["blue square #1"], "right of")
    assert boxes["blue square #1"] == SCENE[1].box
    assert "red heart #1" in _edit("add a heart, then make it red")
    with pytest.raises(PlannerError, match="'it' names nothing"):
        _edit("make it red")


def test_removing_all_but_some_keeps_those():
    # it removed the one object named, the opposite of what was meant
    assert set(_edit("delete everything except the square")) == {"blue square #1"}
    assert set(_edit("keep only the star")) == {"green star #1"}
    stars = [*SCENE, Detection("green star", [0.75, 0.05, 0.15, 0.15], 0.9)]
    boxes = _edit("remove all stars except the leftmost one", stars)
    assert list(boxes.values()).count(SCENE[2].box) == 1 and len(boxes) == 3


def test_more_wording_of_edits():
    # a nudge said with 'a little' before or after the side; it was read as a move into the side
    assert _edit("move the red circle a little to the right")["red circle #1"][0] == pytest.approx(
        SCENE[0].box[0] + 0.1
    )
    assert _edit("move the circle right by a bit")["red circle #1"][0] == pytest.approx(0.2)
    # 'put the circle on top of the square' moves it; it added a second circle
    boxes = _edit("put the circle on top of the square")
    assert set(boxes) == {"red circle #1", "blue square #1", "green star #1"}
    assert holds(boxes["red circle #1"], boxes["blue square #1"], "above")
    # several objects, all of them, or a region said with 'should'
    assert set(_edit("remove the circle and the star")) == {"blue square #1"}
    assert set(_edit("make all shapes red")) == {"red circle #1", "red square #1", "red star #1"}
    assert centre(_edit("the star should be on the left")["green star #1"])[0] <= 0.35
    assert _edit("I'd like the square to be purple")["purple square #1"] == SCENE[1].box
    assert _edit("turn the red circle into a blue one")["blue circle #1"] == SCENE[0].box
    assert _edit("change the star's colour to cyan")["cyan star #1"] == SCENE[2].box


def test_edits_worded_apart_from_the_grammar_session_24():
    # each of these was refused ("could not understand") or did something else
    assert _edit("can the circle be yellow instead")["yellow circle #1"] == SCENE[0].box
    assert set(_edit("let's lose the circle")) == {"blue square #1", "green star #1"}
    assert set(_edit("remove the red one")) == {"blue square #1", "green star #1"}
    assert _edit("make the blue one bigger")["blue square #1"][2] == pytest.approx(0.3)
    assert _edit("make the star the same colour as the circle")["red star #1"] == SCENE[2].box
    for swap in (
        "flip the positions of the circle and the square",
        "the circle and the square should switch places",
    ):
        boxes = _edit(swap)
        assert boxes["red circle #1"] == pytest.approx(SCENE[1].box), swap
        assert boxes["blue square #1"] == pytest.approx(SCENE[0].box), swap
    # one more of each, next to it, where nothing stands
    boxes = _edit("double the stars")
    assert set(boxes) == {"red circle #1", "blue square #1", "green star #1", "green star #2"}
    assert holds(boxes["green star #2"], boxes["green star #1"], "next to")
    # 'with two triangles' made one
    boxes = _edit("replace the circle with two triangles")
    assert boxes["triangle #1"] == SCENE[0].box and "triangle #2" in boxes
    assert "red circle #1" not in boxes
    with pytest.raises(PlannerError, match="nothing in the image matches 'purple object'"):
        _edit("remove the purple one")
