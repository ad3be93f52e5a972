"""``scenecraft plan parse|layout``: anyone can see what the planner understood."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from scenecraft.cli import app
from scenecraft.core.contracts import Layout, SceneSpec
from scenecraft.core.settings import get_settings

runner = CliRunner()


def test_plan_parse_prints_the_spec():
    result = runner.invoke(app, ["plan", "parse", "two red circles above a star, no hearts"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "[0] 2 x red circle",
        "[1] 1 x star",
        "[0] above [1]",
        "no heart",
    ]
    # words it could not use are said, not silently dropped
    result = runner.invoke(app, ["plan", "parse", "three stars in a ring"])
    assert result.stdout.splitlines()[0] == "[0] 3 x star"
    assert "warning: ignored 'in a ring'" in result.stdout
    result = runner.invoke(app, ["plan", "parse", "three red stars in the top left corner"])
    assert result.stdout.splitlines() == ["[0] 3 x red star in the top left corner"]
    result = runner.invoke(app, ["plan", "parse", "a couple of discs", "--json"])
    spec = SceneSpec.model_validate_json(result.stdout)
    assert [(o.name, o.count) for o in spec.objects] == [("circle", 2)]


def test_plan_layout_prints_boxes_for_the_canvas():
    result = runner.invoke(
        app, ["plan", "layout", "a red circle left of a star", "--json", "--size", "768x512"]
    )
    assert result.exit_code == 0, result.output
    layout = Layout.model_validate_json(result.stdout)
    assert [it.label for it in layout.items] == ["red circle #1", "star #1"]
    assert layout.items[0].box[2] * 768 == layout.items[0].box[3] * 512
    result = runner.invoke(app, ["plan", "layout", "a star"])
    assert result.stdout.startswith("star #1")


def test_plan_errors_are_messages_not_tracebacks():
    result = runner.invoke(app, ["plan", "layout", "a star", "--size", "big"])
    assert result.exit_code == 2 and "--size" in result.output
    result = runner.invoke(app, ["plan", "layout", "hello there"])
    assert result.exit_code == 1 and "no objects" in result.output
    result = runner.invoke(app, ["plan", "parse", "a star", "--planner", "gpt"])
    assert result.exit_code == 1 and "unknown planner 'gpt'" in result.output


def test_plan_with_the_openai_planner_asks_the_configured_server(llm, tmp_path, monkeypatch):
    monkeypatch.setenv("SCENECRAFT_LLM_BASE_URL", llm.base_url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    get_settings.cache_clear()
    llm.reply_json({"objects": [{"name": "cat", "count": 3, "attributes": ["black"]}]})
    try:
        result = runner.invoke(app, ["plan", "parse", "three black cats", "--planner", "openai"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["[0] 3 x black cat"]
    assert json.loads(json.dumps(llm.requests[0]))["messages"][-1]["content"].endswith(
        "three black cats"
    )
