"""``sld`` (generate, then self-correct against the prompt) and ``sld.edit`` (edit by instruction).

Both are ``scenecraft.sld.pipeline.SLDPipeline`` on components from the context's settings (world
model, detector, segmenter, planner), kept warm in ``ctx.models`` across jobs; this file is the
params, the checks and the artifacts.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from scenecraft.core.errors import InvalidParams
from scenecraft.pipelines.base import Context, Params, Pipeline, Prompt, Result, Side, Steps
from scenecraft.pipelines.inputs import ImageInput, load_image

if TYPE_CHECKING:
    from scenecraft.sld.pipeline import SLDOutput, SLDPipeline

DetectorName = Literal["shapes", "owlv2"]
SegmenterName = Literal["shapes", "sam"]
PlannerName = Literal["offline", "openai"]


class _Common(Params):
    steps: Steps = Field(25, description="DDIM steps for generation, inversion and denoising")
    guidance: float = Field(3.0, ge=1.0, le=20.0, description="classifier-free guidance")
    detector: DetectorName | None = Field(None, description="in-loop detector (default: settings)")
    segmenter: SegmenterName | None = Field(None, description="segmenter (default: settings)")
    planner: PlannerName | None = Field(None, description="planner (default: settings)")
    paste_objects: bool = Field(
        True,
        description="moved and added objects keep the pixels they were checked with and the "
        "final denoise only fills the places objects left; false: the paper's final denoise, "
        "which redraws them from their latents",
    )


class SLDParams(_Common):
    prompt: Prompt = Field(description="what the image must show")
    image: ImageInput | None = Field(
        None, description="an image to correct (default: generate one from the prompt first)"
    )
    width: Side | None = Field(None, description="pixels (default: the model's native size)")
    height: Side | None = Field(None, description="pixels (default: the model's native size)")
    rounds: int = Field(3, ge=0, le=5, description="most correction rounds")


class SLDEditParams(_Common):
    instruction: Prompt = Field(description="e.g. 'move the red circle to the right'")
    image: ImageInput = Field(description="the image to edit")
    size: Side = Field(128, description="canvas side when image is a ShapesWorld scene")
    rounds: int = Field(2, ge=1, le=5, description="rounds to complete the edit")


def sld_pipeline(params: _Common, ctx: Context, rounds: int) -> SLDPipeline:
    """The pipeline on the components the context's settings name (kept warm in ``ctx.models``)."""
    from scenecraft.models.detect import load_detector
    from scenecraft.models.diffusion import load
    from scenecraft.models.segment import load_segmenter
    from scenecraft.planner.base import get_planner
    from scenecraft.sld.pipeline import SLDConfig, SLDPipeline

    s = ctx.settings
    return SLDPipeline(
        diffusion=load(s.world_model, ctx.device, s.dtype, cache=ctx.models),
        detector=load_detector(
            params.detector or s.detector, s.detector_model, ctx.device, ctx.models
        ),
        segmenter=load_segmenter(
            params.segmenter or s.segmenter, s.segmenter_model, ctx.device, ctx.models
        ),
        planner=get_planner(params.planner, settings=s),
        config=SLDConfig(
            steps=params.steps,
            guidance=params.guidance,
            rounds=rounds,
            paste_objects=params.paste_objects,
        ),
    )


def check_canvas(width: int, height: int, factor: int, field: str) -> None:
    if width % factor or height % factor:
        raise InvalidParams.single(
            field, f"{width}x{height} is not a multiple of {factor} (the model's VAE factor)"
        )


def _write_rounds(ctx: Context, out: SLDOutput) -> dict[str, Any]:
    """Artifacts of the initial image, every round and the final image; returns the metrics."""
    from scenecraft.pipelines.draw import boxes_overlay
    from scenecraft.shapesworld.render import to_png

    a = ctx.artifacts
    a.put("initial.png", to_png(out.initial), "image/png")
    image = out.initial
    for rnd in out.rounds:
        info = rnd.to_dict()
        a.put(f"round{rnd.index}.json", json.dumps(info, indent=1).encode(), "application/json")
        a.put(
            f"round{rnd.index}_boxes.png",
            boxes_overlay(image, info["detections"], info["proposed"]),
            "image/png",
        )
        if rnd.image is not None:
            a.put(f"round{rnd.index}.png", to_png(rnd.image), "image/png")
            image = rnd.image
    a.put("final.png", to_png(out.image), "image/png")
    return {
        "rounds": len(out.rounds),
        "ops": sum(len(r.ops) for r in out.rounds),
        "skipped_ops": sum(len(r.skipped) for r in out.rounds),
    }


def run_sld(params: SLDParams, ctx: Context) -> Result:
    ctx.set_stage("load")
    pipe = sld_pipeline(params, ctx, params.rounds)
    factor, side = pipe.diffusion.vae_factor, pipe.diffusion.default_size
    image, size = None, None
    if params.image is not None:
        image, _ = load_image(params.image, side, "params.image")
        check_canvas(image.shape[1], image.shape[0], factor, "params.image")
    else:
        size = (params.width or side, params.height or side)
        check_canvas(*size, factor, "params.width")
    out = pipe(params.prompt, image, size=size, generator=ctx.generator, progress=ctx.report)
    metrics: dict[str, Any] = _write_rounds(ctx, out)
    # the in-loop assessment of the first and last image (the benchmark judges separately)
    metrics["initial_problems"] = pipe.problems(out.spec, out.initial)
    metrics["final_problems"] = pipe.problems(out.spec, out.image)
    metrics["initial_ok"] = not metrics["initial_problems"]
    metrics["final_ok"] = not metrics["final_problems"]
    return Result(
        artifacts=ctx.artifacts.refs,
        metrics=metrics,
        record={"spec": out.spec.model_dump(), "planner": pipe.planner.name},
    )


def run_edit(params: SLDEditParams, ctx: Context) -> Result:
    from scenecraft.shapesworld.grammar import SHAPES

    ctx.set_stage("load")
    pipe = sld_pipeline(params, ctx, params.rounds)
    image, _ = load_image(params.image, params.size, "params.image")
    check_canvas(image.shape[1], image.shape[0], pipe.diffusion.vae_factor, "params.image")
    named = [o.name for o in pipe.planner.parse(params.instruction).objects]
    phrases = list(dict.fromkeys([*SHAPES, *named]))
    out = pipe.edit(params.instruction, image, phrases, ctx.generator, ctx.report)
    metrics = _write_rounds(ctx, out)
    metrics["done"] = bool(out.rounds) and not out.rounds[-1].ops
    return Result(
        artifacts=ctx.artifacts.refs, metrics=metrics, record={"planner": pipe.planner.name}
    )


PIPELINES = [
    Pipeline(
        name="sld",
        params=SLDParams,
        run=run_sld,
        queue="gpu",
        description="SLD: text-to-image that finds what it got wrong and repairs it in latents",
    ),
    Pipeline(
        name="sld.edit",
        params=SLDEditParams,
        run=run_edit,
        queue="gpu",
        description="SLD editing by instruction: move, swap, resize, recolour, remove, add",
    ),
]
