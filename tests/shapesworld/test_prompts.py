"""Prompts: the benchmark parses to its own spec; scenes placed from a spec satisfy it."""

import numpy as np
import pytest

from scenecraft.shapesworld.benchmark import CATEGORIES, prompt_set
from scenecraft.shapesworld.detect import detect
from scenecraft.shapesworld.judge import in_place, judge, place_anchor
from scenecraft.shapesworld.prompts import parse_prompt, scene_from_spec
from scenecraft.shapesworld.render import render_scene
from scenecraft.shapesworld.scene import Scene, ShapeObject


def test_benchmark_has_100_per_category_and_parses_back_to_its_spec():
    prompts = prompt_set()
    assert len(prompts) == 400
    assert {p.category for p in prompts} == set(CATEGORIES)
    assert len({p.prompt for p in prompts}) > 300  # varied, not one sentence repeated
    for p in prompts:
        assert parse_prompt(p.prompt) == p.spec, p.prompt


def test_placement_prompts_parse_back_are_drawn_in_place_and_keep_their_own_seeds():
    placed = prompt_set(100, categories=("placement",))
    assert all(p.spec.objects[0].place for p in placed)
    assert len({p.spec.objects[0].place for p in placed}) == 9
    for p in placed:
        assert parse_prompt(p.prompt) == p.spec, p.prompt
    for p in placed[:6]:
        verdict = judge(detect(render_scene(scene_from_spec(p.spec, p.seed), 128).image), p.spec)
        assert verdict.ok, (p.prompt, verdict.reasons)
    # asking for a category alone, or beside others, gives the same prompts
    assert prompt_set(3, categories=("spatial",)) == prompt_set(3)[9:]
    assert prompt_set(3, categories=("placement", "negation"))[:3] == placed[:3]


def test_heldout_prompts_differ_from_the_benchmark():
    bench = {p.prompt for p in prompt_set(25)}
    fresh = [p.prompt for p in prompt_set(25, "heldout_prompts")]
    assert sum(p in bench for p in fresh) < len(fresh) // 2


def test_scenes_drawn_from_benchmark_specs_are_judged_correct():
    for p in prompt_set(8) + prompt_set(4, "heldout_prompts", offset=77):
        scene = scene_from_spec(p.spec, p.seed)
        verdict = judge(detect(render_scene(scene, 128).image), p.spec)
        assert verdict.ok, (p.prompt, verdict.reasons)


def test_judge_names_what_is_wrong():
    spec = parse_prompt("two red circles to the left of a blue star, without any hearts")
    wrong = parse_prompt("a red circle and a blue star and a green heart")
    scene = scene_from_spec(wrong, 3)
    verdict = judge(detect(render_scene(scene, 128).image), spec)
    assert not verdict.ok
    text = " ".join(verdict.reasons)
    assert "wanted 2 red circle, found 1" in text
    assert "wanted no heart, found 1" in text


def test_scenes_drawn_from_other_wording_are_judged_correct():
    # objects the judge cannot tell apart (sizes are not judged; a shape of no colour may be
    # any colour) are counted together, so a scene with all of them passes
    for text in (
        "a big and a small circle",
        "a red circle and a circle",
        "two hearts: one red, one blue",
        "four stars, two red and two blue, left of a heart",
        "a star above a red and a blue circle",
        "a square to the upper left of a circle",
        "a circle between two stars",
    ):
        spec = parse_prompt(text)
        scene = scene_from_spec(spec, 5)
        verdict = judge(detect(render_scene(scene, 128).image), spec)
        assert verdict.ok, (text, verdict.reasons)
    one = scene_from_spec(parse_prompt("a big circle"), 5)
    verdict = judge(detect(render_scene(one, 128).image), parse_prompt("a big and a small circle"))
    assert not verdict.ok and verdict.reasons == ["wanted 2 circle, found 1"]


def test_between_two_of_a_kind_wants_one_on_each_side():
    from scenecraft.core.contracts import Detection

    spec = parse_prompt("a circle between two stars")
    star, circle = "red star", "blue circle"
    at = lambda label, x: Detection(label, [x, 0.4, 0.2, 0.2], 0.9)  # noqa: E731
    assert judge([at(star, 0.1), at(circle, 0.4), at(star, 0.7)], spec).ok
    wrong = judge([at(circle, 0.1), at(star, 0.4), at(star, 0.7)], spec)
    assert not wrong.ok and wrong.reasons == ["'circle between star' does not hold"]


def test_a_relation_between_objects_read_alike_relates_two_of_them():
    from scenecraft.core.contracts import Detection
    from scenecraft.planner.geometry import layout_problems
    from scenecraft.planner.offline import OfflinePlanner

    at = lambda label, x, y: Detection(label, [x, y, 0.2, 0.2], 0.9)  # noqa: E731
    pair = parse_prompt("two squares, one on top of the other")
    assert judge([at("red square", 0.4, 0.1), at("blue square", 0.4, 0.6)], pair).ok
    assert judge([at("blue square", 0.4, 0.6), at("red square", 0.4, 0.1)], pair).ok
    side = judge([at("red square", 0.1, 0.4), at("blue square", 0.6, 0.4)], pair)
    assert not side.ok and side.reasons == ["'square above square' does not hold"]
    # one side among the other's: the red circle is a circle too, but not above itself
    sub = parse_prompt("a red circle above a circle")
    assert judge([at("red circle", 0.4, 0.1), at("blue circle", 0.4, 0.6)], sub).ok
    assert not judge([at("red circle", 0.4, 0.6), at("blue circle", 0.4, 0.1)], sub).ok
    for text in ("two squares, one on top of the other", "a red circle above a circle"):
        spec = parse_prompt(text)
        assert layout_problems(OfflinePlanner().layout(text), spec) == [], text
        verdict = judge(detect(render_scene(scene_from_spec(spec, 4), 128).image), spec)
        assert verdict.ok, (text, verdict.reasons)


def test_single_objects_read_alike_are_told_apart_one_thing_found_each():
    """'A square, a red square and a square in a row': the red square is a square too, and as a
    group every square would have to stand left of it, the one on its right included. The judge
    gives each single object one detection, no two the same, and checks each relation on those."""
    from scenecraft.core.contracts import Detection, ObjectSpec, RelationSpec, SceneSpec
    from scenecraft.planner.geometry import layout_problems
    from scenecraft.planner.layout import plan_layout

    at = lambda label, x, y=0.4: Detection(label, [x, y, 0.15, 0.15], 0.9)  # noqa: E731
    square, red = ObjectSpec(name="square"), ObjectSpec(name="square", attributes=["red"])
    row = SceneSpec(
        objects=[square, red, square.model_copy()],
        relations=[
            RelationSpec(subject=0, relation="left of", object=1),
            RelationSpec(subject=1, relation="left of", object=2),
        ],
    )
    assert judge([at("blue square", 0.1), at("red square", 0.4), at("green square", 0.7)], row).ok
    assert judge([at("green square", 0.7), at("red square", 0.4), at("blue square", 0.1)], row).ok
    wrong = judge([at("red square", 0.1), at("blue square", 0.4), at("green square", 0.7)], row)
    assert not wrong.ok and wrong.reasons == ["'square left of red square' does not hold"]
    # a chain of three alike: an order left to right must exist, not just one pair in it
    chain = parse_prompt("three circles in a row")
    assert judge([at("red circle", x) for x in (0.1, 0.4, 0.7)], chain).ok
    ell = [at("red circle", 0.1), at("red circle", 0.4), at("red circle", 0.1, 0.7)]
    bent = judge(ell, chain)
    assert not bent.ok and bent.reasons == ["'circle left of circle' does not hold"]
    # the layout check reads relations the same way, so the planner lays the row out
    layout = plan_layout(row)
    assert layout_problems(layout, row) == []
    verdict = judge(detect(render_scene(scene_from_spec(row, 2), 128).image), row)
    assert verdict.ok, verdict.reasons


def test_a_place_on_the_canvas_is_judged_where_the_object_stands():
    spec = parse_prompt("a red circle in the top right corner")
    assert spec.objects[0].place == "top right"
    right = scene_from_spec(spec, 2)
    assert judge(detect(render_scene(right, 128).image), spec).ok
    wrong = scene_from_spec(parse_prompt("a red circle in the bottom left corner"), 2)
    verdict = judge(detect(render_scene(wrong, 128).image), spec)
    assert not verdict.ok
    assert verdict.reasons == ["'red circle in the top right corner' does not hold"]
    nothing = scene_from_spec(parse_prompt("a blue star"), 2)
    reasons = judge(detect(render_scene(nothing, 128).image), spec).reasons
    assert "cannot check 'red circle in the top right corner': the object is missing" in reasons


def test_a_place_holds_for_as_many_as_asked_of_objects_read_alike():
    # "a circle at the top and a red circle": the red one is a circle too, so one of the two
    # circles found at the top is enough
    spec = parse_prompt("a circle at the top, a red circle and a star")
    assert [o.place for o in spec.objects] == ["top", None, None]

    def scene(red_y: float, blue_y: float) -> Scene:
        return Scene(
            [
                ShapeObject("circle", "red", "medium", 0.25, red_y),
                ShapeObject("circle", "blue", "medium", 0.75, blue_y),
                ShapeObject("star", "green", "medium", 0.5, 0.5),
            ]
        )

    for red_y, blue_y, ok in ((0.2, 0.8, True), (0.8, 0.2, True), (0.8, 0.8, False)):
        verdict = judge(detect(render_scene(scene(red_y, blue_y), 128).image), spec)
        assert verdict.ok is ok, (red_y, blue_y, verdict.reasons)


@pytest.mark.parametrize(
    ("place", "inside", "outside"),
    [
        ("left", (0.2, 0.9), (0.45, 0.5)),
        ("top right", (0.8, 0.2), (0.8, 0.5)),
        ("centre", (0.55, 0.45), (0.5, 0.75)),
        ("bottom", (0.1, 0.7), (0.5, 0.6)),
    ],
)
def test_in_place_takes_floats_and_arrays_alike(place, inside, outside):
    assert in_place(*inside, place) is True
    assert in_place(*outside, place) is False
    cx, cy = np.array([inside[0], outside[0]]), np.array([inside[1], outside[1]])
    assert in_place(cx, cy, place).tolist() == [True, False]
    assert in_place(*place_anchor(place), place)
