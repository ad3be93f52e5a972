"""Offline layouts: every count and relation kept, no overlaps, sizes a world model can draw."""

from __future__ import annotations

import pytest

from scenecraft.core.contracts import ObjectSpec, RelationSpec, SceneSpec
from scenecraft.core.errors import PlannerError
from scenecraft.planner.geometry import centre, layout_problems
from scenecraft.planner.layout import plan_layout
from scenecraft.planner.offline import OfflinePlanner
from scenecraft.shapesworld.benchmark import prompt_set
from scenecraft.shapesworld.prompts import parse_prompt


def test_benchmark_layouts_satisfy_their_spec_at_world_model_sizes():
    planner = OfflinePlanner()
    for p in prompt_set(20):
        layout = planner.layout(p.prompt, (512, 512))
        assert layout_problems(layout, p.spec) == [], p.prompt
        for it in layout.items:
            # objects of 0.15-0.26 of the side (ShapesWorld's small..large), smaller only if crowded
            assert 0.1 <= it.box[2] <= 0.26 + 1e-9, (p.prompt, it)


@pytest.mark.parametrize(
    "prompt",
    [
        "a red circle between a blue square and a green star",
        "three stars next to two hearts",
        "a red circle left of a blue square, the square above a green star",
        "five hexagons below two large hearts",
        "a brown dog next to a wooden chair",
    ],
)
def test_relations_beyond_the_benchmark_hold(prompt):
    layout = OfflinePlanner().layout(prompt, (512, 512))
    assert layout_problems(layout, parse_prompt(prompt)) == []


def test_boxes_are_square_in_pixels_on_a_wide_canvas():
    layout = OfflinePlanner().layout("two red circles above a star", (768, 512))
    for it in layout.items:
        assert it.box[2] * 768 == pytest.approx(it.box[3] * 512)


def test_labels_background_and_negative_prompt_come_from_the_prompt():
    layout = OfflinePlanner().layout(
        "two red circles without any hearts on a cream background", (512, 512)
    )
    assert [it.label for it in layout.items] == ["red circle #1", "red circle #2"]
    assert [it.phrase for it in layout.items] == ["red circle", "red circle"]
    assert layout.background == "cream"
    assert layout.negative_prompt == "heart"


def test_contradicting_relations_are_a_clear_error():
    with pytest.raises(PlannerError, match="contradict"):
        OfflinePlanner().layout(
            "a red circle left of a blue square and the blue square left of the red circle"
        )


def test_a_prompt_without_objects_is_a_clear_error():
    with pytest.raises(PlannerError, match="no objects"):
        OfflinePlanner().layout("hello there")


@pytest.mark.parametrize(
    "prompt",
    [
        "a red circle in the top right corner",
        "a blue star on the left",
        "a heart in the middle",
        "three stars in the top left corner",
        "four hearts along the bottom",
        "a red circle, a blue square and a green star in the bottom left corner",
        "a circle on the left, a star at the top and a heart",
        "a red circle left of a blue square, and a star in the top right corner",
        "a heart in the centre and a circle and a square",
    ],
)
def test_places_on_the_canvas_hold(prompt):
    spec = parse_prompt(prompt)
    assert any(o.place for o in spec.objects), spec
    layout = OfflinePlanner().layout(prompt, (512, 512))
    assert layout_problems(layout, spec) == []
    for it in layout.items:
        assert it.box[2] >= 0.06, it  # packed into a corner, still drawable


def test_objects_with_no_place_keep_away_from_the_placed_one():
    layout = OfflinePlanner().layout("a red circle, a blue square and a star in the bottom left")
    star = next(it for it in layout.items if it.phrase == "star")
    for it in layout.items:
        if it is not star:
            assert centre(it.box)[0] > 0.5 and centre(it.box)[1] < 0.5, it


def test_a_place_that_contradicts_a_relation_is_a_clear_error():
    spec = SceneSpec(
        objects=[
            ObjectSpec(name="star", place="right"),
            ObjectSpec(name="circle", place="left"),
            ObjectSpec(name="square"),
        ],
        relations=[RelationSpec(subject=0, relation="left of", object=1)],
    )
    with pytest.raises(PlannerError, match="star on the right; circle on the left"):
        plan_layout(spec)
