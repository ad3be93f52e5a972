"""``eval sld``'s summary: per-round cost and the rounds that made an image worse."""

from __future__ import annotations

import pytest

from scenecraft.eval.sld import Case, summarise


def _case(
    cat: str,
    base: bool,
    r1: bool,
    r3: bool,
    correct_s: float,
    rounds: int,
    worse: int,
    attempted: int | None = None,
):
    ok = {"base": base, "round1": r1, "round3": r3}
    attempted = rounds if attempted is None else attempted
    return Case(cat, ok, 1.0, correct_s, rounds, worse, attempted)


def test_rounds_are_costed_one_by_one_and_worse_rounds_counted():
    cases = [
        _case("negation", True, True, True, 0.1, 0, 0),  # right at once: no round ran
        _case("negation", False, True, True, 4.0, 1, 0),  # one round of 4 s fixed it
        _case("spatial", False, False, False, 9.0, 3, 1),  # three rounds of 3 s, one made it worse
        _case("spatial", True, False, False, 2.0, 1, 1),  # a right image broken by its round
    ]
    s = summarise(cases)
    assert s["accuracy"]["overall"] == {"base": 0.5, "round1": 0.5, "round3": 0.5}
    assert s["kept_correct"] == 0.5
    assert s["median_round_s"] == pytest.approx(3.0)  # rounds of 4, 3, 2 s
    assert s["round_cost_x_generation"] == pytest.approx(3.0)
    assert s["rounds_run"] == 5
    assert s["rounds_made_worse"] == pytest.approx(2 / 5)
    assert s["images_made_worse"] == pytest.approx(0.5)
    assert [(r["category"], r["base"], r["round3"]) for r in s["prompts"]] == [
        ("negation", True, True),
        ("negation", False, True),
        ("spatial", False, False),
        ("spatial", True, False),
    ]


def test_a_round_whose_ops_all_failed_still_counts_in_the_cost():
    # 6 s of correction: one round drew the image, one tried and failed every added object
    cases = [_case("numeracy", False, False, True, 6.0, rounds=1, worse=0, attempted=2)]
    s = summarise(cases)
    assert s["median_round_s"] == pytest.approx(3.0)  # 6 s over two rounds, not one
    assert s["rounds_run"] == 1 and s["rounds_attempted"] == 2


def test_kept_objects_are_judged_against_the_judges_reading_of_the_input():
    from scenecraft.core.contracts import Detection
    from scenecraft.eval.sld import edit_passes, make_edit_case

    case, scene = make_edit_case(2)  # a removal
    assert case.kind == "remove"
    others = [o for i, o in enumerate(scene.objects) if i != case.target]

    def shrunk(box):  # how the judge may read a thin shape: IoU 0.64 with the drawn box
        x, y, w, h = box
        return [x + 0.1 * w, y + 0.1 * h, 0.8 * w, 0.8 * h]

    read = [Detection(o.label, shrunk(o.box), 1.0) for o in others]
    before = [
        *read,
        Detection(scene.objects[case.target].label, scene.objects[case.target].box, 1.0),
    ]
    assert edit_passes(case, scene, read, before) == (True, "still there")
    ok, why = edit_passes(case, scene, read)  # against the scene's boxes: blamed on the edit
    assert not ok and "moved or vanished" in why
    moved = [Detection(d.label, [d.box[0] + 0.2, *d.box[1:]], 1.0) for d in read]
    assert not edit_passes(case, scene, moved, before)[0]


def test_eval_sld_names_a_bad_setting_before_loading_anything(tmp_path):
    from typer.testing import CliRunner

    from scenecraft.cli import app

    out = tmp_path / "sld.json"
    for item, says in (
        ("foo=1", "expected KEY=VALUE with KEY one of"),
        ("steps=5", "expected KEY=VALUE with KEY one of"),  # steps has its own option
        ("add_clear=x", "add_clear takes a float"),
        ("clear_of_unknown=1", "clear_of_unknown takes a bool"),
    ):
        result = CliRunner().invoke(app, ["eval", "sld", "--set", item, "--out", str(out)])
        assert result.exit_code == 2 and says in result.output, result.output
    assert not out.exists()
