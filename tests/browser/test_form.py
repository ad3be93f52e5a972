"""The job form is built from a pipeline's JSON schema alone: every kind of field pydantic writes
gets a labelled control with its limits, and the request carries typed values."""

from __future__ import annotations

import json
from typing import Literal

from integration_conftest import KEY_A
from playwright.sync_api import expect
from pydantic import BaseModel, Field

from scenecraft.pipelines.base import Params


class Box(BaseModel):
    x: float
    y: float


class EveryKind(Params):
    """Fields of every shape a pipeline's params may have."""

    instruction: str = Field(min_length=1, max_length=120, description="what to change")
    mode: Literal["fast", "exact"] = "fast"
    steps: int = Field(20, ge=1, le=200, description="denoising steps")
    guidance: float = Field(7.5, gt=0, le=30)
    judge: bool = Field(True, description="check the result")
    negative: str | None = Field(None, max_length=50)
    boxes: list[Box] | None = Field(None, description="where objects go")


PIPELINE = {
    "name": "demo.every",
    "queue": "cpu",
    "description": "a pipeline with every kind of field",
    "params_schema": EveryKind.model_json_schema(),
}


def test_schema_fields_become_labelled_controls_with_limits(tab, api):
    t = tab()
    page = t.page
    posted: list[dict] = []

    def pipelines(route):
        route.fulfill(json=[PIPELINE])

    def create(route):
        if route.request.method != "POST":
            return route.fallback()
        posted.append(json.loads(route.request.post_data))
        route.fulfill(
            status=422,
            json={
                "detail": "invalid request",
                "errors": [{"field": "params.boxes.0.x", "message": "nope"}],
            },
        )

    page.route("**/v1/pipelines", pipelines)
    page.route("**/v1/jobs", create)
    t.sign_in(KEY_A)

    # every control in the form has a label
    unlabelled = page.eval_on_selector_all(
        "#job-form input, #job-form select, #job-form textarea",
        "els => els.filter(e => !e.labels.length).map(e => e.name || e.id)",
    )
    assert unlabelled == []

    instruction = page.get_by_label("Instruction")
    expect(instruction).to_have_attribute("maxlength", "120")
    expect(instruction).to_have_attribute("aria-required", "true")
    expect(page.locator("label[for='f-demo_every-instruction'] .req")).to_have_text(" *")
    expect(page.locator("#f-demo_every-instruction-hint")).to_have_text(
        "what to change · up to 120 characters"
    )
    steps = page.get_by_label("Steps")
    expect(steps).to_have_attribute("min", "1")
    expect(steps).to_have_attribute("max", "200")
    expect(steps).to_have_value("20")
    expect(page.get_by_label("Guidance")).to_have_attribute("max", "30")
    expect(page.get_by_label("Mode").locator("option")).to_have_text(
        ["default (fast)", "fast", "exact"]
    )
    expect(page.get_by_label("Judge")).to_be_checked()
    expect(page.get_by_label("Negative")).to_have_attribute("maxlength", "50")
    # structured fields are JSON, under "More options" with the seed
    expect(page.get_by_label("Boxes")).to_be_hidden()
    page.get_by_text("More options").click()
    expect(page.get_by_label("Boxes")).to_have_attribute("placeholder", "JSON")

    page.get_by_label("Mode").select_option("exact")
    page.get_by_label("Judge").uncheck()
    page.get_by_label("Boxes").fill('[{"x": 0.5, "y": "oops"}]')
    page.get_by_label("Seed").fill("42")
    instruction.fill("make the star blue")
    instruction.press("Enter")

    expect(page.locator("#form-errors")).to_contain_text("params.boxes.0.x: nope")
    assert posted == [
        {
            "pipeline": "demo.every",
            "params": {
                "instruction": "make the star blue",
                "mode": "exact",
                "steps": 20,
                "guidance": 7.5,
                "judge": False,
                "boxes": [{"x": 0.5, "y": "oops"}],
                "seed": 42,
            },
            "priority": 5,
        }
    ]
    # a nested field's error lands on the field that holds it
    expect(page.get_by_label("Boxes")).to_have_attribute("aria-invalid", "true")
    t.shot("form-every-kind-desktop")
