"""``svgcraft``: text -> layout -> per-box masked latents -> attention-fused denoise -> raster ->
canvas of primitives -> optimised, layered SVG (SVGCraft / CraftSVG, Banerjee et al.).

The method is ``scenecraft.svgcraft.pipeline.SVGCraftPipeline``; this file is the params, the
layout with every check that needs it (before the diffusion model loads), and the artifacts.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from scenecraft.core.contracts import Layout
from scenecraft.core.errors import InvalidParams
from scenecraft.pipelines.base import (
    Context,
    Iters,
    PathCount,
    Pipeline,
    PromptParams,
    Result,
    Side,
    Steps,
)

if TYPE_CHECKING:
    from scenecraft.svgcraft.latents import Segmenter
    from scenecraft.svgcraft.pipeline import SVGCraftConfig, Vectorised
    from scenecraft.vector.losses import Loss

LATENT_FACTOR = 8  # Stable-Diffusion-family VAEs downsample by 8


class SVGCraftParams(PromptParams):
    # the latent grid: the field is named in the error and the limit is in the schema
    width: Side = Field(128, multiple_of=LATENT_FACTOR, description="pixels, a multiple of 8")
    height: Side = Field(128, multiple_of=LATENT_FACTOR, description="pixels, a multiple of 8")
    steps: Steps = Field(25, description="DDIM steps of every diffusion pass")
    guidance: float = Field(5.0, ge=1.0, le=20.0, description="classifier-free guidance")
    paths: PathCount = Field(32, description="primitive budget (at least one per object)")
    primitive: Literal["contour", "circles", "rects", "blobs"] = Field(
        "contour", description="what seeds each object: its mask's outline, or k primitives"
    )
    iters: Iters = Field(200, description="SVG optimisation steps")
    loss: Literal["l2", "lpips"] = Field("l2", description="lpips adds a mean-colour term")
    freeze: float = Field(
        0.4, ge=0.0, le=1.0, description="share of the fused pass's steps the per-box latents hold"
    )
    fusion: float = Field(0.5, ge=0.0, le=1.0, description="attention fusion strength (0 = off)")
    attempts: int = Field(
        8,
        ge=1,
        le=16,
        description="seeds tried per object until the detector recognises what was drawn "
        "(1: the paper's one draw)",
    )
    hold_recognised: bool = Field(
        False,
        description="an object the detector recognised keeps its latents to the fused pass's "
        "last step (false: released after freeze, as in the paper)",
    )
    repair: Literal["none", "paste", "redo"] = Field(
        "paste",
        description="an object recognised in its box that the fused pass lost: 'paste' lays its "
        "per-box pixels over the raster, 'redo' runs the fused pass again holding it, 'none' "
        "keeps the paper's raster",
    )
    keep_shapes: bool = Field(
        True,
        description="an object the detector reads in the raster but not in the fitted SVG takes "
        "the outline of the shape its phrase names, and the SVG is fitted on while the detector "
        "still reads every object it read (contour starts; false: the fit as it ends)",
    )
    layout: bool = Field(True, description="false: plain text-to-image, then vectorised (ablation)")


def config(params: SVGCraftParams) -> SVGCraftConfig:
    from scenecraft.svgcraft.pipeline import SVGCraftConfig

    return SVGCraftConfig(
        steps=params.steps,
        guidance=params.guidance,
        freeze=params.freeze,
        fusion=params.fusion,
        attempts=params.attempts,
        hold_recognised=params.hold_recognised,
        repair=params.repair,
        paths=params.paths,
        primitive=params.primitive,
        iters=params.iters,
        keep_shapes=params.keep_shapes,
    )


def run(params: SVGCraftParams, ctx: Context) -> Result:
    """The pipeline on the models the context's settings name."""
    from scenecraft.models.detect import load_detector
    from scenecraft.models.diffusion import load
    from scenecraft.models.segment import load_segmenter
    from scenecraft.pipelines.draw import latents_strip, layout_picture
    from scenecraft.planner import get_planner
    from scenecraft.svgcraft.layout import plan
    from scenecraft.svgcraft.optimise import make_fit_loss
    from scenecraft.svgcraft.pipeline import SVGCraftPipeline

    settings = ctx.settings
    size = (params.width, params.height)
    a = ctx.artifacts

    # 1. layout, and every check that needs it, before any model loads
    ctx.set_stage("layout")
    layout = plan(params.prompt, size, get_planner(settings=settings)) if params.layout else None
    objects = len(layout.items) if layout else 1
    if params.paths < objects:
        raise InvalidParams.single(
            "params.paths", f"{params.paths} paths cannot seed the {objects} objects laid out"
        )
    loss = make_fit_loss(params.loss)  # missing LPIPS weights fail here
    if layout is not None:
        a.put("layout.json", layout.model_dump_json(indent=1).encode(), "application/json")
        a.put("layout.png", layout_picture(layout, size), "image/png")

    ctx.set_stage("load")
    pipe = SVGCraftPipeline(
        diffusion=load(settings.world_model, ctx.device, settings.dtype, cache=ctx.models),
        segmenter=load_segmenter(
            settings.segmenter, settings.segmenter_model, ctx.device, cache=ctx.models
        ),
        # finds an object the model drew outside its box, so it can be moved in
        detector=load_detector(
            settings.detector, settings.detector_model, ctx.device, cache=ctx.models
        ),
        loss=loss,
        config=config(params),
    )
    out = pipe(
        params.prompt,
        layout,
        size=size,
        generator=ctx.generator,
        seed=ctx.seed,
        progress=ctx.report,
        cancelled=ctx.cancelled,
    )
    metrics: dict = {}
    if layout is not None:
        a.put("box_latents.png", latents_strip(out.boxes), "image/png")
        metrics["mask_fallbacks"] = sum(b.fallback for b in out.boxes)
        metrics["relocated"] = sum(b.relocated for b in out.boxes)
        metrics["box_attempts"] = sum(b.attempts for b in out.boxes)
        metrics["unrecognised"] = sum(b.recognised is False for b in out.boxes)
        metrics["attention_in_mask"] = out.attention_in_mask
        if out.lost is not None:  # objects the fused pass lost, and those the repair got back
            metrics["lost_in_fusion"] = len(out.lost)
            metrics["repaired"] = len(out.repaired)
            metrics["strays_cleared"] = len(out.strays)
    result = _write_vector(ctx, out.raster, out.vector, layout)
    result.metrics = metrics | result.metrics
    result.record |= {
        "model": settings.world_model,
        "planner": settings.planner,
        "segmenter": settings.segmenter,
    }
    return result


def vectorise(
    raster: np.ndarray,
    layout: Layout | None,
    params: SVGCraftParams,
    ctx: Context,
    segmenter: Segmenter,
    loss: Loss,
) -> Result:
    """Stages 4-6 alone on any raster [H, W, 3] uint8 (no ``layout``: the canvas is one region),
    written as the whole pipeline writes them."""
    from scenecraft.svgcraft.pipeline import SVGCraftPipeline

    pipe = SVGCraftPipeline(None, segmenter, None, loss, config(params))
    vector = pipe.vectorise(raster, layout, params.prompt, ctx.seed, ctx.report, ctx.cancelled)
    return _write_vector(ctx, raster, vector, layout)


def _write_vector(
    ctx: Context, raster: np.ndarray, vector: Vectorised, layout: Layout | None
) -> Result:
    """The raster, the SVG, its render and the loss curve as artifacts, and their metrics."""
    from scenecraft.pipelines.draw import loss_plot
    from scenecraft.shapesworld.render import to_png
    from scenecraft.vector.render import to_uint8

    a = ctx.artifacts
    a.put("fused.png", to_png(raster), "image/png")
    a.put("final.svg", vector.svg.encode(), "image/svg+xml")
    a.put("final.png", to_png(to_uint8(vector.render)), "image/png")
    a.put("loss.png", loss_plot(vector.losses), "image/png")
    a.put("losses.json", json.dumps(vector.losses).encode(), "application/json")
    return Result(
        artifacts=a.refs,
        metrics={
            "psnr": vector.psnr,
            "paths": vector.paths,
            "pruned": vector.pruned,
            "svg_bytes": len(vector.svg.encode()),
            "shapes_restored": len(vector.restored),
            "final_loss": vector.losses[-1] if vector.losses else None,
        },
        record={"layout": layout.model_dump() if layout else None, "primitive": vector.primitive},
    )


PIPELINES = [
    Pipeline(
        name="svgcraft",
        params=SVGCraftParams,
        run=run,
        queue="gpu",
        description="text -> layout -> fused diffusion -> layered, optimised SVG (SVGCraft)",
        final="final.png",
    )
]
