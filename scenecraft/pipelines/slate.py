"""``slate`` (reconstruct an image through its slots, or compose a new one from slots) and
``slate.train`` (a cancellable, resumable training job).

``slate`` runs ``scenecraft.slate.pipeline.SLATEPipeline`` on the context's checkpoint; this file
is the params, the image inputs and the artifacts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field, Strict, field_validator, model_validator

from scenecraft.core.errors import InvalidParams
from scenecraft.core.progress import Progress
from scenecraft.core.settings import Settings
from scenecraft.pipelines.base import Context, Params, Pipeline, Result
from scenecraft.pipelines.inputs import ImageInput, load_image

if TYPE_CHECKING:
    from scenecraft.slate.pipeline import SLATEPipeline


class SlateParams(Params):
    mode: Literal["reconstruct", "compose"] = Field(
        "reconstruct",
        description="reconstruct: image -> slots, masks, reconstruction; "
        "compose: concepts (or slot swaps) -> a new image",
    )
    image: ImageInput | None = Field(
        None,
        description="reconstruct: the image (default: a held-out scene from the seed); "
        "compose with swap: the image whose slots are replaced",
    )
    concepts: str | None = Field(None, description="compose: e.g. 'a blue star and a red circle'")
    image_b: ImageInput | None = Field(None, description="compose with swap: the slot donor")
    swap: list[Annotated[tuple[int, int], Strict(False)]] | None = Field(
        None,
        min_length=1,
        description="compose: [slot of image, slot of image_b] pairs to exchange",
    )
    candidates: int = Field(
        1,
        ge=1,
        le=32,
        description="compose with concepts: slot sets decoded, the one the model itself reads "
        "back best kept",
    )

    @model_validator(mode="after")
    def _mode_fields(self) -> SlateParams:
        if self.mode == "compose":
            by_swap = self.swap is not None
            if by_swap == (self.concepts is not None):
                raise ValueError("compose needs exactly one of 'concepts' or 'swap'")
            if by_swap and (self.image is None or self.image_b is None):
                raise ValueError("compose with 'swap' needs 'image' and 'image_b'")
        elif self.concepts is not None or self.swap is not None or self.image_b is not None:
            raise ValueError("'concepts', 'swap' and 'image_b' are for mode 'compose'")
        if self.candidates > 1 and self.concepts is None:
            raise ValueError("'candidates' is for compose with 'concepts'")
        return self


def slate_pipeline(ctx: Context) -> SLATEPipeline:
    """The context's checkpoint and its concept library (None when absent), kept warm."""
    from scenecraft.core.errors import ModelNotFound
    from scenecraft.slate.checkpoint import load_model
    from scenecraft.slate.concepts import ConceptLibrary
    from scenecraft.slate.pipeline import SLATEPipeline

    path = Path(ctx.settings.slate_model)
    key = ("slate", str(path.resolve()), ctx.device)
    if key not in ctx.models:
        model = load_model(path, ctx.device)
        try:
            library = ConceptLibrary.load(path)
        except ModelNotFound:
            library = None
        ctx.models[key] = SLATEPipeline(model, library)
    return ctx.models[key]


def read_image(inp: ImageInput, size: int, field: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(image [size, size, 3] uint8, instance masks or None) of an ImageInput."""
    from PIL import Image

    image, masks = load_image(inp, size, f"params.{field}")
    if image.shape[:2] != (size, size):
        image = np.asarray(Image.fromarray(image).resize((size, size), Image.BICUBIC))
    return image, masks


def reconstruct(params: SlateParams, ctx: Context) -> Result:
    import torch

    from scenecraft.shapesworld.render import to_png
    from scenecraft.slate.metrics import fg_ari
    from scenecraft.slate.viz import mask_image, segmentation

    ctx.set_stage("load")
    pipe = slate_pipeline(ctx)
    default = ImageInput(scene=ctx.seed % 1_000_000)
    image, truth = read_image(params.image or default, pipe.size, "image")
    ctx.set_stage("encode")
    out = pipe(image, torch.Generator().manual_seed(ctx.seed))
    ctx.progress(1, 2)
    a = ctx.artifacts
    a.put("input.png", to_png(image), "image/png")
    a.put("final.png", to_png(out.recon), "image/png")
    a.put("dvae.png", to_png(out.dvae), "image/png")
    a.put("segmentation.png", to_png(segmentation(out.masks)), "image/png")
    for k, m in enumerate(out.masks):
        a.put(f"slot_{k}.png", to_png(mask_image(m)), "image/png")
    ctx.progress(2, 2, preview=to_png(out.recon))
    metrics: dict[str, Any] = {
        "slots": len(out.masks),
        "mse": float(((out.recon / 255.0 - image / 255.0) ** 2).mean()),
    }
    if truth is not None:
        metrics["fg_ari"] = fg_ari(truth, out.masks)
    return Result(artifacts=a.refs, metrics=metrics)


def compose(params: SlateParams, ctx: Context) -> Result:
    import torch

    from scenecraft.shapesworld.detect import detect
    from scenecraft.shapesworld.judge import judge
    from scenecraft.shapesworld.render import to_png
    from scenecraft.slate.compose import concepts_spec, resolve_concepts
    from scenecraft.slate.viz import segmentation

    ctx.set_stage("load")
    pipe = slate_pipeline(ctx)
    a = ctx.artifacts
    metrics: dict[str, Any] = {}
    if params.concepts is not None:
        if pipe.library is None:
            raise InvalidParams.single(
                "params.concepts", "this checkpoint has no concept library; use 'swap'"
            )
        concepts = resolve_concepts(params.concepts, pipe.library, ctx.rng)
        ctx.set_stage("compose")
        g = torch.Generator().manual_seed(ctx.seed)
        done = pipe.compose(concepts, ctx.rng, params.candidates, g)
        image = done.image
        record = done.composition.to_dict(pipe.library)
        if params.candidates > 1:
            record["candidate_scores"] = done.scores
            record["chosen"] = done.chosen
        verdict = judge(detect(image), concepts_spec(concepts))
        metrics["judge_ok"] = verdict.ok
        record["judge"] = verdict.to_dict()
    else:
        image_a, _ = read_image(params.image, pipe.size, "image")
        image_b, _ = read_image(params.image_b, pipe.size, "image_b")
        ctx.set_stage("decode")
        g = torch.Generator().manual_seed(ctx.seed)
        image, masks = pipe.swap(image_a, image_b, params.swap, g)
        a.put("input_a.png", to_png(image_a), "image/png")
        a.put("input_b.png", to_png(image_b), "image/png")
        a.put("segmentation_a.png", to_png(segmentation(masks[0])), "image/png")
        a.put("segmentation_b.png", to_png(segmentation(masks[1])), "image/png")
        record = {"swap": [list(p) for p in params.swap]}
    a.put("final.png", to_png(image), "image/png")
    a.put("composition.json", json.dumps(record, indent=1).encode(), "application/json")
    ctx.progress(1, 1, preview=to_png(image))
    return Result(artifacts=a.refs, metrics=metrics, record={"composition": record})


def run(params: SlateParams, ctx: Context) -> Result:
    return reconstruct(params, ctx) if params.mode == "reconstruct" else compose(params, ctx)


RUN_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class SlateTrainParams(Params):
    run: str = Field(
        "default",
        description="run name; submitting the same name resumes it",
        json_schema_extra={"pattern": RUN_NAME},  # checked below, with a message that says it
    )
    preset: Literal["ship", "small", "reference"] = "ship"
    steps: int = Field(20000, ge=1, le=1_000_000, description="slot-attention + decoder steps")
    dvae_steps: int | None = Field(None, ge=0, le=1_000_000)
    train_images: int = Field(10000, ge=2, le=200_000, description="ShapesWorld training scenes")
    checkpoint_every_s: float = Field(300.0, ge=1.0)

    @field_validator("run")
    @classmethod
    def _run(cls, v: str) -> str:
        if not re.fullmatch(RUN_NAME, v):
            raise ValueError("run names: 1-64 letters, digits, '-' or '_', a letter or digit first")
        return v


def run_folder(name: str, settings: Settings) -> Path:
    """Where the training job ``name`` keeps its checkpoints (beside the artifact store)."""
    return Path(settings.artifacts).parent / "slate-train" / name


def train_job(params: SlateTrainParams, ctx: Context) -> Result:
    from scenecraft.slate.config import PRESETS
    from scenecraft.slate.train import TrainSpec, train

    out = run_folder(params.run, ctx.settings)
    spec = TrainSpec(
        out=out,
        config=PRESETS[params.preset],
        steps=params.steps,
        dvae_steps=params.dvae_steps,
        train_images=params.train_images,
        seed=ctx.seed,
        device=ctx.device,
        checkpoint_every_s=params.checkpoint_every_s,
    )

    def on_progress(p: Progress) -> None:
        if p.stage != ctx.stage:
            ctx.set_stage(p.stage)
        ctx.progress(p.step, p.total)  # raises Cancelled; the trainer checkpoints first

    try:
        summary = train(spec, on_progress)
    except ValueError as e:
        raise InvalidParams.single("params.run", str(e)) from None
    a = ctx.artifacts
    for name, media in [
        ("config.json", "application/json"),
        ("model.safetensors", "application/octet-stream"),
        ("log.jsonl", "application/jsonl"),
        ("concepts.json", "application/json"),
        ("concepts.safetensors", "application/octet-stream"),
    ]:
        if (out / name).exists():
            a.put(name, (out / name).read_bytes(), media)
    return Result(artifacts=a.refs, metrics=summary, record={"run_folder": str(out)})


PIPELINES = [
    Pipeline(
        name="slate",
        params=SlateParams,
        run=run,
        queue="cpu",
        description="SLATE: image -> slots, masks, reconstruction; or slots -> a new scene",
    ),
    Pipeline(
        name="slate.train",
        params=SlateTrainParams,
        run=train_job,
        queue="gpu",
        description="train SLATE on ShapesWorld (cancellable; resubmit the run name to resume)",
        final="config.json",
    ),
]
