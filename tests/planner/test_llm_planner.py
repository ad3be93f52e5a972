"""The OpenAI-compatible planner against a real HTTP server on loopback with scripted replies:
every script ends in a valid plan or a clear error, within a bounded number of requests."""

from __future__ import annotations

import json
import logging

import pytest

from scenecraft.core.contracts import Detection
from scenecraft.core.errors import PlannerError
from scenecraft.core.settings import get_settings
from scenecraft.planner import get_planner
from scenecraft.planner.llm import OpenAIPlanner
from scenecraft.planner.offline import OfflinePlanner
from scenecraft.shapesworld.judge import PLACE_EDGE, PLACE_MIDDLE

PROMPT = "two red circles to the left of a blue star"
SPEC = {
    "objects": [
        {"name": "circle", "count": 2, "attributes": ["red"]},
        {"name": "star", "count": 1, "attributes": ["blue"]},
    ],
    "relations": [{"subject": 0, "relation": "left of", "object": 1, "object2": None}],
    "negations": [],
    "background": None,
}


def _layout(*boxes: tuple[str, list[float]]) -> dict:
    return {"objects": [{"label": label, "box": box} for label, box in boxes]}


GOOD = _layout(
    ("red circle #1", [50, 50, 100, 100]),
    ("red circle #2", [50, 300, 100, 100]),
    ("blue star #1", [320, 180, 120, 120]),
)


def _planner(llm, tmp_path, **kw) -> OpenAIPlanner:
    defaults = {"timeout_s": 5.0, "max_retries": 2, "cache_dir": tmp_path / "cache", "backoff_s": 0}
    return OpenAIPlanner(llm.base_url, "test-model", "sk-test", **(defaults | kw))


def test_a_valid_reply_becomes_a_normalised_layout(llm, tmp_path):
    llm.reply_json(SPEC)
    llm.reply_json(GOOD)
    layout = _planner(llm, tmp_path).layout(PROMPT, (512, 512))
    assert [it.label for it in layout.items] == ["red circle #1", "red circle #2", "blue star #1"]
    assert layout.items[2].box == pytest.approx([320 / 512, 180 / 512, 120 / 512, 120 / 512])
    first = llm.requests[0]
    assert first["model"] == "test-model"
    assert first["response_format"] == {"type": "json_object"}
    assert first["messages"][0]["role"] == "system"
    assert any(m["role"] == "assistant" for m in first["messages"])  # few-shot examples
    assert PROMPT in first["messages"][-1]["content"]
    assert llm.auth[0] == "Bearer sk-test"


def test_json_wrapped_in_prose_and_a_code_fence_is_found(llm, tmp_path):
    llm.reply(f"Sure! Here is the scene:\n```json\n{json.dumps(SPEC)}\n```\nEnjoy.")
    spec = _planner(llm, tmp_path).parse(PROMPT)
    assert [(o.name, o.count) for o in spec.objects] == [("circle", 2), ("star", 1)]
    assert spec.relations[0].relation == "left of"


def test_invalid_json_gets_a_repair_message_then_the_valid_reply_is_used(llm, tmp_path):
    llm.reply('{"objects": [{"name": "circle", "count": 2,')
    llm.reply_json(SPEC)
    spec = _planner(llm, tmp_path).parse(PROMPT)
    assert spec.objects[0].count == 2
    repair = llm.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant"  # the bad reply is shown back ...
    assert "could not be used" in repair[-1]["content"]  # ... with what to fix


def test_boxes_off_the_canvas_are_sent_back_and_a_slight_overshoot_is_clipped(llm, tmp_path):
    llm.reply_json(SPEC)
    llm.reply_json(
        {"objects": [*GOOD["objects"][:2], {"label": "blue star #1", "box": [600, 180, 120, 120]}]}
    )
    # 400 + 120 = 520 px: 1.6 % past the edge, clipped rather than refused
    llm.reply_json(
        {"objects": [*GOOD["objects"][:2], {"label": "blue star #1", "box": [400, 180, 120, 120]}]}
    )
    layout = _planner(llm, tmp_path).layout(PROMPT, (512, 512))
    star = layout.items[2].box
    assert star[0] + star[2] == pytest.approx(1.0)
    assert "not inside the 512x512 canvas" in llm.requests[2]["messages"][-1]["content"]


def test_a_wrong_count_is_named_in_the_repair_message(llm, tmp_path):
    llm.reply_json(SPEC)
    llm.reply_json({"objects": [GOOD["objects"][0], GOOD["objects"][2]]})
    llm.reply_json(GOOD)
    layout = _planner(llm, tmp_path).layout(PROMPT, (512, 512))
    assert len(layout.items) == 3
    assert "wanted 2 red circle, planned 1" in llm.requests[2]["messages"][-1]["content"]


def test_a_place_the_layout_misses_is_named_in_the_repair_message(llm, tmp_path):
    spec = {"objects": [{"name": "heart", "count": 1, "attributes": ["red"], "place": "top right"}]}
    llm.reply_json(spec)
    llm.reply_json(_layout(("red heart #1", [40, 300, 100, 100])))
    llm.reply_json(_layout(("red heart #1", [380, 30, 100, 100])))
    layout = _planner(llm, tmp_path).layout("a red heart in the top right corner", (512, 512))
    assert layout.items[0].box[0] == pytest.approx(380 / 512)
    repair = llm.requests[2]["messages"][-1]["content"]
    assert "'red heart in the top right corner' does not hold" in repair
    # the rules the template states are the judge's
    system = llm.requests[1]["messages"][0]["content"]
    assert f"{PLACE_EDGE:.0%} of the canvas" in system and f"{PLACE_MIDDLE:.0%}" in system


def test_a_timeout_is_retried(llm, tmp_path):
    llm.reply_json(SPEC, delay_s=2.0)
    llm.reply_json(SPEC)
    spec = _planner(llm, tmp_path, timeout_s=0.3).parse(PROMPT)
    assert len(spec.objects) == 2


def test_429_and_500_are_retried_until_a_valid_reply(llm, tmp_path):
    llm.reply(status=429, headers={"Retry-After": "0"}, error="slow down")
    llm.reply(status=500, error="overloaded")
    llm.reply_json(SPEC)
    spec = _planner(llm, tmp_path).parse(PROMPT)
    assert len(spec.objects) == 2
    assert len(llm.requests) == 3


def test_an_auth_error_is_not_retried_and_says_what_to_set(llm, tmp_path):
    llm.reply(status=401, error="invalid api key")
    llm.reply_json(SPEC)  # never asked for
    with pytest.raises(PlannerError, match="SCENECRAFT_LLM_API_KEY"):
        _planner(llm, tmp_path).parse(PROMPT)
    assert len(llm.requests) == 1


def test_the_retry_budget_is_bounded_and_ends_in_a_clear_error(llm, tmp_path):
    for _ in range(10):
        llm.reply("I am sorry, I cannot draw that.")
    with pytest.raises(PlannerError, match=r"after 3 request\(s\).*no JSON object"):
        _planner(llm, tmp_path, max_retries=2).parse(PROMPT)
    assert len(llm.requests) == 3


def test_fall_back_to_the_offline_planner_is_logged(llm, tmp_path, caplog):
    llm.reply(status=401)
    planner = _planner(llm, tmp_path, fallback=OfflinePlanner())
    with caplog.at_level(logging.WARNING, logger="scenecraft.planner.llm"):
        spec = planner.parse(PROMPT)
    assert [(o.name, o.count) for o in spec.objects] == [("circle", 2), ("star", 1)]
    assert "using the offline planner" in caplog.text


def test_cached_replies_answer_again_without_the_server(llm, tmp_path):
    llm.reply_json(SPEC)
    llm.reply_json(GOOD)
    first = _planner(llm, tmp_path).layout(PROMPT, (512, 512))
    again = _planner(llm, tmp_path).layout(PROMPT, (512, 512))  # a new process, same cache
    assert again == first
    assert len(llm.requests) == 2
    entries = list((tmp_path / "cache").rglob("*.json"))
    assert {json.loads(p.read_text())["template"].split("-")[0] for p in entries} == {
        "parse.v2",
        "layout.v2",
    }
    # another model is another key
    llm.reply_json(SPEC)
    OpenAIPlanner(llm.base_url, "other-model", cache_dir=tmp_path / "cache", backoff_s=0).parse(
        PROMPT
    )
    assert len(llm.requests) == 3


def test_a_server_without_json_mode_is_asked_again_without_it(llm, tmp_path):
    llm.reply(status=400, error="response_format is not supported by this model")
    llm.reply_json(SPEC)
    spec = _planner(llm, tmp_path, max_retries=0).parse(PROMPT)
    assert len(spec.objects) == 2
    assert "response_format" not in llm.requests[1]


def test_corrections_and_edits_speak_pixels_on_a_512_canvas(llm, tmp_path):
    dets = [
        Detection("red circle", [0.7, 0.4, 0.2, 0.2], 0.9),
        Detection("blue star", [0.4, 0.4, 0.2, 0.2], 0.9),
    ]
    planner = _planner(llm, tmp_path)
    spec = OfflinePlanner().parse("a red circle to the left of a blue star")
    llm.reply_json(
        _layout(("red circle #1", [40, 205, 102, 102]), ("blue star #1", [205, 205, 102, 102]))
    )
    fixed = planner.correct("a red circle to the left of a blue star", spec, dets)
    sent = llm.requests[0]["messages"][-1]["content"]
    assert '"box": [358, 205, 102, 102]' in sent  # 0.7 * 512
    assert fixed.items[0].box[0] == pytest.approx(40 / 512)
    llm.reply_json(_layout(("blue star #1", [205, 205, 102, 102])))
    edited = planner.edit("remove the red circle", dets)
    assert [it.label for it in edited.items] == ["blue star #1"]


def test_get_planner_reads_the_endpoint_from_settings(llm, tmp_path, monkeypatch):
    monkeypatch.setenv("SCENECRAFT_PLANNER", "openai")
    monkeypatch.setenv("SCENECRAFT_LLM_BASE_URL", llm.base_url)
    monkeypatch.setenv("SCENECRAFT_LLM_MODEL", "served-model")
    get_settings.cache_clear()
    try:
        planner = get_planner(cache_dir=tmp_path)
        llm.reply_json(SPEC)
        planner.parse(PROMPT)
        assert llm.requests[0]["model"] == "served-model"
        monkeypatch.setenv("SCENECRAFT_LLM_BASE_URL", "")
        get_settings.cache_clear()
        with pytest.raises(PlannerError, match="SCENECRAFT_LLM_BASE_URL"):
            get_planner()
    finally:
        get_settings.cache_clear()
