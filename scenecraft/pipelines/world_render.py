"""``world.render``: a prompt (or an explicit scene) drawn exactly: PNG, SVG, instance masks."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import numpy as np
from pydantic import ConfigDict, Field, Strict, model_validator

from scenecraft.pipelines.base import Context, JSONModel, Params, Pipeline, Prompt, Result, Side
from scenecraft.shapesworld.grammar import BACKGROUNDS, COLORS, SHAPES, SIZES

MAX_OBJECTS = 64

Background = Literal[tuple(BACKGROUNDS)]  # type: ignore[valid-type]


class SceneObject(JSONModel):
    """One object of an explicit scene, as ``scene.json`` of a render writes it."""

    model_config = ConfigDict(extra="forbid")

    shape: Literal[SHAPES]  # type: ignore[valid-type]
    color: Literal[tuple(COLORS)]  # type: ignore[valid-type]
    size: Literal[tuple(SIZES)]  # type: ignore[valid-type]
    cx: float = Field(ge=0, le=1, description="centre, fraction of the canvas width")
    cy: float = Field(ge=0, le=1, description="centre, fraction of the canvas height")
    rotation: float = Field(0.0, description="degrees")


class SceneInput(JSONModel):
    """An explicit ShapesWorld scene: objects over a vertical background gradient."""

    model_config = ConfigDict(extra="forbid")

    objects: list[SceneObject] = Field(max_length=MAX_OBJECTS)
    background: Annotated[tuple[Background, Background], Strict(False)] = Field(
        ("white", "white"), description="[top, bottom] of the gradient"
    )


class WorldRenderParams(Params):
    prompt: Prompt | None = Field(None, description="e.g. 'two red circles left of a blue star'")
    scene: SceneInput | None = Field(None, description="an explicit scene instead of a prompt")
    size: Side = Field(256, description="canvas side, pixels")

    @model_validator(mode="after")
    def _one_source(self) -> WorldRenderParams:
        if (self.prompt is None) == (self.scene is None):
            raise ValueError("give exactly one of 'prompt' or 'scene'")
        return self


def run(params: WorldRenderParams, ctx: Context) -> Result:
    from scenecraft.shapesworld.detect import detect
    from scenecraft.shapesworld.judge import judge
    from scenecraft.shapesworld.prompts import parse_prompt, scene_from_spec
    from scenecraft.shapesworld.render import render_scene, to_png
    from scenecraft.shapesworld.scene import Scene

    ctx.set_stage("layout")
    if params.prompt is not None:
        spec = parse_prompt(params.prompt)
        scene = scene_from_spec(spec, ctx.seed)
    else:
        scene = Scene.from_dict(params.scene.model_dump())
        spec = scene.spec()
    ctx.set_stage("render")
    out = render_scene(scene, params.size)
    ctx.progress(1, 2, preview=to_png(out.image))
    a = ctx.artifacts
    a.put("final.png", to_png(out.image), "image/png")
    a.put("final.svg", out.svg.encode(), "image/svg+xml")
    # instance masks as an 8-bit PNG: pixel value k = object k (0 = background)
    a.put("masks.png", to_png(out.masks.astype(np.uint8)), "image/png")
    a.put("scene.json", json.dumps(scene.to_dict(), indent=1).encode(), "application/json")
    a.put("layout.json", scene.layout().model_dump_json(indent=1).encode(), "application/json")
    verdict = judge(detect(out.image), spec)
    ctx.progress(2, 2)
    return Result(
        artifacts=a.refs,
        metrics={"objects": len(scene.objects), "judge_ok": verdict.ok},
        record={"caption": scene.caption(), "spec": spec.model_dump(), "judge": verdict.to_dict()},
    )


PIPELINES = [
    Pipeline(
        name="world.render",
        params=WorldRenderParams,
        run=run,
        queue="cpu",
        description="ShapesWorld: a prompt or scene drawn exactly (PNG, SVG, instance masks)",
    )
]
