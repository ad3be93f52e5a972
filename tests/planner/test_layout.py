"""Offline layouts: every count and relation kept, no overlaps, sizes a world model can draw."""

from __future__ import annotations

import pytest

from scenecraft.core.errors import PlannerError
from scenecraft.planner.geometry import layout_problems
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
