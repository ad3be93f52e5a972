"""``sld`` (generate, then self-correct against the prompt) and ``sld.edit`` (edit by instruction).

Both run ``scenecraft.sld.loop`` with components from settings (world model, detector,
segmenter, planner), kept warm in ``ctx.models`` across jobs.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
from pydantic import Field

from scenecraft.errors import InvalidParams
from scenecraft.pipelines.base import Context, Params, Pipeline, Prompt, Result, Side, Steps
from scenecraft.pipelines.inputs import ImageInput, load_image

DetectorName = Literal["shapes", "owlv2"]
SegmenterName = Literal["shapes", "sam"]
PlannerName = Literal["offline", "openai"]


class _Common(Params):
    steps: Steps = Field(25, description="DDIM steps for generation, inversion and denoising")
    guidance: float = Field(3.0, ge=1.0, le=20.0, description="classifier-free guidance")
    detector: DetectorName | None = Field(None, description="in-loop detector (default: settings)")
    segmenter: SegmenterName | None = Field(None, description="segmenter (default: settings)")
    planner: PlannerName | None = Field(None, description="planner (default: settings)")


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


def components(params: _Common, ctx: Context):
    from scenecraft.models.detect import load_detector
    from scenecraft.models.diffusion import load
    from scenecraft.models.segment import load_segmenter
    from scenecraft.planner.base import get_planner
    from scenecraft.settings import get_settings
    from scenecraft.sld.loop import SLDComponents

    s = get_settings()
    return SLDComponents(
        diffusion=load(s.world_model, ctx.device, s.dtype, cache=ctx.models),
        detector=load_detector(
            params.detector or s.detector, s.detector_model, ctx.device, ctx.models
        ),
        segmenter=load_segmenter(
            params.segmenter or s.segmenter, s.segmenter_model, ctx.device, ctx.models
        ),
        planner=get_planner(params.planner),
    )


def check_canvas(width: int, height: int, factor: int, field: str) -> None:
    if width % factor or height % factor:
        raise InvalidParams.single(
            field, f"{width}x{height} is not a multiple of {factor} (the model's VAE factor)"
        )


def overlay(image: np.ndarray, detected: list[dict], proposed: list[dict] | None) -> bytes:
    """The image with detected boxes (solid) and proposed boxes (dashed), labelled."""
    from PIL import Image, ImageDraw

    from scenecraft.world.render import to_png

    scale = 3 if max(image.shape[:2]) <= 256 else 1  # small images are hard to read
    im = Image.fromarray(image).resize((image.shape[1] * scale, image.shape[0] * scale))
    d = ImageDraw.Draw(im)
    w, h = im.size

    def rect(box, colour, dashed):
        x, y, bw, bh = box[0] * w, box[1] * h, box[2] * w, box[3] * h
        if not dashed:
            d.rectangle([x, y, x + bw, y + bh], outline=colour, width=2)
            return
        edges = [
            ((x, y), (x + bw, y)),
            ((x + bw, y), (x + bw, y + bh)),
            ((x + bw, y + bh), (x, y + bh)),
            ((x, y + bh), (x, y)),
        ]
        for (x0, y0), (x1, y1) in edges:
            n = max(int(max(abs(x1 - x0), abs(y1 - y0)) // 6), 1)
            for k in range(0, n, 2):
                a, b = k / n, min((k + 1) / n, 1)
                d.line(
                    [
                        (x0 + (x1 - x0) * a, y0 + (y1 - y0) * a),
                        (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b),
                    ],
                    fill=colour,
                    width=2,
                )

    for det in detected:
        rect(det["box"], (20, 20, 20), False)
        d.text((det["box"][0] * w + 2, det["box"][1] * h + 1), det["label"], fill=(20, 20, 20))
    for item in proposed or []:
        rect(item["box"], (200, 0, 160), True)
        d.text(
            (item["box"][0] * w + 2, (item["box"][1] + item["box"][3]) * h - 11),
            item["label"],
            fill=(200, 0, 160),
        )
    return to_png(np.asarray(im))


def _write_rounds(ctx: Context, rounds, before: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """Artifacts of every round and the final image; returns (metrics, final image)."""
    from scenecraft.world.render import to_png

    a = ctx.artifacts
    image = before
    for rnd in rounds:
        info = rnd.to_dict()
        a.put(f"round{rnd.index}.json", json.dumps(info, indent=1).encode(), "application/json")
        a.put(
            f"round{rnd.index}_boxes.png",
            overlay(image, info["detections"], info["proposed"]),
            "image/png",
        )
        if rnd.image is not None:
            a.put(f"round{rnd.index}.png", to_png(rnd.image), "image/png")
            image = rnd.image
    a.put("final.png", to_png(image), "image/png")
    metrics = {
        "rounds": len(rounds),
        "ops": sum(len(r.ops) for r in rounds),
        "skipped_ops": sum(len(r.skipped) for r in rounds),
    }
    return metrics, image


def run_sld(params: SLDParams, ctx: Context) -> Result:
    from scenecraft.sld.loop import SLDConfig, assess, generate, phrases_of, self_correct
    from scenecraft.world.render import to_png

    ctx.set_stage("load")
    c = components(params, ctx)
    factor = c.diffusion.vae_factor
    cfg = SLDConfig(steps=params.steps, guidance=params.guidance, rounds=params.rounds)
    ctx.set_stage("parse")
    spec = c.planner.parse(params.prompt)
    trajectory = None  # an image given is inverted; one generated here brings its trajectory
    if params.image is not None:
        image, _ = load_image(params.image, c.diffusion.default_size, "params.image")
        check_canvas(image.shape[1], image.shape[0], factor, "params.image")
    else:
        size = (params.width or c.diffusion.default_size, params.height or c.diffusion.default_size)
        check_canvas(*size, factor, "params.width")
        image, trajectory = generate(c, params.prompt, size, cfg, ctx.generator, ctx.report)
    ctx.artifacts.put("initial.png", to_png(image), "image/png")
    rounds = self_correct(c, params.prompt, spec, image, cfg, ctx.generator, ctx.report, trajectory)
    metrics, final = _write_rounds(ctx, rounds, image)
    # the in-loop assessment of the first and last image (the benchmark judges separately)
    metrics["initial_problems"] = assess(spec, c.detector(image, phrases_of(spec)))
    metrics["final_problems"] = assess(spec, c.detector(final, phrases_of(spec)))
    metrics["initial_ok"] = not metrics["initial_problems"]
    metrics["final_ok"] = not metrics["final_problems"]
    return Result(
        artifacts=ctx.artifacts.refs,
        metrics=metrics,
        record={"spec": spec.model_dump(), "planner": c.planner.name},
    )


def run_edit(params: SLDEditParams, ctx: Context) -> Result:
    from scenecraft.sld.loop import SLDConfig, edit
    from scenecraft.world.grammar import SHAPES
    from scenecraft.world.render import to_png

    ctx.set_stage("load")
    c = components(params, ctx)
    image, _ = load_image(params.image, params.size, "params.image")
    check_canvas(image.shape[1], image.shape[0], c.diffusion.vae_factor, "params.image")
    ctx.artifacts.put("initial.png", to_png(image), "image/png")
    named = [o.name for o in c.planner.parse(params.instruction).objects]
    phrases = list(dict.fromkeys([*SHAPES, *named]))
    cfg = SLDConfig(steps=params.steps, guidance=params.guidance, rounds=params.rounds)
    rounds = edit(c, params.instruction, phrases, image, cfg, ctx.generator, ctx.report)
    metrics, _ = _write_rounds(ctx, rounds, image)
    metrics["done"] = bool(rounds) and not rounds[-1].ops
    return Result(artifacts=ctx.artifacts.refs, metrics=metrics, record={"planner": c.planner.name})


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
