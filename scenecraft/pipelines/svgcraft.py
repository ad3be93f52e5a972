"""``svgcraft``: text -> layout -> per-box masked latents -> attention-fused denoise -> raster ->
canvas of primitives -> optimised, layered SVG (SVGCraft / CraftSVG, Banerjee et al.).

Reads top to bottom: ``run`` is the stages in order, each a function of ``scenecraft.svgcraft``.
Every param is checked (and the layout planned) before the diffusion model loads.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from scenecraft.contracts import Layout
from scenecraft.errors import InvalidParams
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
    from scenecraft.progress import Progress
    from scenecraft.svgcraft.latents import Segmenter
    from scenecraft.vector.losses import Loss

PREVIEW_EVERY = 10  # fit steps between SVG preview renders (the context throttles them further)
LATENT_FACTOR = 8  # Stable-Diffusion-family VAEs downsample by 8


class SVGCraftParams(PromptParams):
    # the latent grid: the field is named in the error and the limit is in the schema
    width: Side = Field(128, multiple_of=LATENT_FACTOR, description="pixels, a multiple of 8")
    height: Side = Field(128, multiple_of=LATENT_FACTOR, description="pixels, a multiple of 8")
    steps: Steps = Field(25, description="DDIM steps of every diffusion pass")
    guidance: float = Field(3.0, ge=1.0, le=20.0, description="classifier-free guidance")
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
    layout: bool = Field(True, description="false: plain text-to-image, then vectorised (ablation)")


def run(params: SVGCraftParams, ctx: Context) -> Result:
    from scenecraft.settings import get_settings

    return svgcraft(params, ctx, get_settings().world_model)


def svgcraft(params: SVGCraftParams, ctx: Context, model_id: str) -> Result:
    """The pipeline on the diffusion checkpoint ``model_id`` (the eval passes its own)."""
    from scenecraft.models.detect import load_detector
    from scenecraft.models.diffusion import load
    from scenecraft.models.segment import load_segmenter
    from scenecraft.pipelines.draw import latents_strip, layout_picture
    from scenecraft.planner import get_planner
    from scenecraft.settings import get_settings
    from scenecraft.svgcraft.latents import (
        Sampling,
        box_latents,
        fused_denoise,
        plain_denoise,
    )
    from scenecraft.svgcraft.layout import plan
    from scenecraft.svgcraft.optimise import make_fit_loss

    settings = get_settings()
    size = (params.width, params.height)
    a = ctx.artifacts
    metrics: dict = {}

    # 1. layout, and every check that needs it, before any model loads
    ctx.set_stage("layout")
    layout = plan(params.prompt, size, get_planner()) if params.layout else None
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
    model = load(model_id, ctx.device, settings.dtype, cache=ctx.models)
    segmenter = load_segmenter(
        settings.segmenter, settings.segmenter_model, ctx.device, cache=ctx.models
    )
    # finds an object the model drew outside its box, so it can be moved in
    detector = load_detector(
        settings.detector, settings.detector_model, ctx.device, cache=ctx.models
    )
    sampling = Sampling(
        params.height, params.width, params.steps, params.guidance, params.freeze, params.fusion
    )

    def in_stage(p: Progress) -> None:  # diffusion steps, counted in the pipeline's own stages
        ctx.progress(p.step, p.total, p.preview)

    if layout is not None:
        # 2. per-box masked latents
        ctx.set_stage("box latents")
        boxes, background, starts = box_latents(
            model,
            layout,
            sampling,
            ctx.generator,
            segmenter,
            in_stage,
            detector,
        )
        a.put("box_latents.png", latents_strip(boxes), "image/png")
        # 3. attention-fused denoise
        ctx.set_stage("fused denoise")
        out, attention = fused_denoise(
            model,
            layout,
            sampling,
            boxes,
            background,
            starts,
            in_stage,
        )
        metrics["mask_fallbacks"] = sum(b.fallback for b in boxes)
        metrics["relocated"] = sum(b.relocated for b in boxes)
        metrics["attention_in_mask"] = _attention_in_mask(attention, layout, boxes)
    else:
        ctx.set_stage("text to image")
        out = plain_denoise(model, params.prompt, sampling, ctx.generator, in_stage)

    result = vectorise(out.images[0], layout, params, ctx, segmenter, loss)
    result.metrics = metrics | result.metrics
    result.record |= {
        "model": model_id,
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
    """Stages 4-6 on any raster [H, W, 3] uint8 (no ``layout``: the canvas is one region)."""
    import torch

    from scenecraft.pipelines.draw import loss_plot
    from scenecraft.svgcraft.canvas import Layer, initialise_canvas
    from scenecraft.svgcraft.latents import paint_order, refine_mask
    from scenecraft.svgcraft.layout import object_ids
    from scenecraft.svgcraft.optimise import optimise, over_white, prune, write_svg
    from scenecraft.vector import render
    from scenecraft.vector.svg_read import read_svg
    from scenecraft.world.render import to_png

    # 4. the fused raster
    a = ctx.artifacts
    a.put("fused.png", to_png(raster), "image/png")
    target = torch.from_numpy(raster.copy()).float() / 255  # [H, W, 3]

    # 5. canvas initialisation from the layout and the raster's object masks
    ctx.set_stage("canvas")
    if layout is not None:
        ids = object_ids(layout)
        refined = [refine_mask(raster, item.box, segmenter) for item in layout.items]
        order = paint_order([m for m, _ in refined])
        layers = [Layer(ids[i], layout.items[i].label, layout.items[i].box) for i in order]
        masks = [refined[i][0] for i in order]
        kind = params.primitive
    else:
        layers = [Layer("scene", params.prompt, [0.0, 0.0, 1.0, 1.0])]
        masks = [np.ones(raster.shape[:2], bool)]
        kind = "blobs" if params.primitive == "contour" else params.primitive
    canvas = initialise_canvas(target, layers, masks, params.paths, kind, ctx.seed)

    # 6. SVG optimisation, pruning, layered writing
    ctx.set_stage("svg optimisation")
    fitted = optimise(
        canvas.scene,
        target,
        params.iters,
        loss,
        contour=kind == "contour",
        progress=lambda p: ctx.progress(p.step, p.total, p.preview),
        preview_every=PREVIEW_EVERY,
        cancelled=ctx.cancelled,
    )
    ctx.set_stage("write")
    scene, pruned = prune(fitted.scene)
    svg = write_svg(scene, canvas.layers)
    with torch.no_grad():
        final = over_white(render(read_svg(svg)))  # what the written SVG shows
    mse = float(((final - target) ** 2).mean())
    a.put("final.svg", svg.encode(), "image/svg+xml")
    a.put("final.png", _png(final, to_png), "image/png")
    a.put("loss.png", loss_plot(fitted.losses), "image/png")
    a.put("losses.json", json.dumps(fitted.losses).encode(), "application/json")
    return Result(
        artifacts=a.refs,
        metrics={
            "psnr": round(10 * float(np.log10(1 / max(mse, 1e-12))), 3),
            "paths": len(scene.shapes),
            "pruned": fitted.pruned + pruned,
            "svg_bytes": len(svg.encode()),
            "final_loss": fitted.losses[-1] if fitted.losses else None,
        },
        record={"layout": layout.model_dump() if layout else None, "primitive": kind},
    )


def _attention_in_mask(attention, layout, boxes) -> float | None:
    """Mean share of each phrase's fused-pass attention inside its instances' masks."""
    from scenecraft.svgcraft.attention import inside_share
    from scenecraft.svgcraft.layout import phrase_groups

    if not attention.calls:  # nothing held (freeze 0): nothing was recorded
        return None
    shares = []
    for maps, items in zip(attention.mean_maps(), phrase_groups(layout).values(), strict=True):
        if maps:
            union = sum(boxes[i].latent_mask for i in items).clamp(max=1)
            shares.append(inside_share(maps, union))
    return round(float(np.mean(shares)), 4) if shares else 0.0


def _png(image, to_png) -> bytes:
    return to_png((image.clamp(0, 1) * 255).round().byte().numpy())


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
