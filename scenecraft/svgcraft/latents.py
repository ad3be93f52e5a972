"""Stages 2-3: per-box masked latents, then the attention-fused denoise that composes them.

Per box (LMD+'s recipe, as SVGCraft uses it): the starting noise is the scene's shared background
noise with the object's own noise blended in over its box; the object is generated alone in its
box (GLIGEN-grounded when the model has GLIGEN layers); the segmenter refines its mask inside the
box; its latents before every step and the cross-attention its words got are kept.

Fused: the per-box latents are composed under their masks (larger objects first, so a smaller
one lying over a larger stays visible) and held there for the first ``freeze`` share of the
steps of a whole-scene pass, while that pass's attention is pulled toward the per-box maps
(``attention.py``). After that the scene denoises freely, which harmonises the seams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor
from torch.nn import functional as F

from scenecraft.contracts import Box, Layout
from scenecraft.models.diffusion import (
    DiffusionModel,
    FrozenLatents,
    Grounding,
    ProgressFn,
    SampleOut,
    sample,
)
from scenecraft.svgcraft.attention import Maps, ObjectAttention, masked_target, sum_maps
from scenecraft.svgcraft.layout import box_prompt, phrase_groups, scene_prompt

Segmenter = Callable[[np.ndarray, list[Box]], list[np.ndarray]]  # image, boxes -> [H, W] masks
MASK_MARGIN = 0.15  # a refined mask may reach this share of its box's size beyond the box


@dataclass
class Sampling:
    """The knobs every diffusion pass of one run shares."""

    height: int
    width: int
    steps: int = 25
    guidance: float = 3.0
    freeze: float = 0.4  # share of the fused pass's steps the per-box latents are held
    fusion: float = 0.5  # attention fusion strength (0 = off)

    @property
    def frozen_steps(self) -> int:
        return round(self.freeze * self.steps)


@dataclass
class BoxLatents:
    """One object generated alone in its box."""

    image: np.ndarray  # [H, W, 3] uint8
    mask: np.ndarray  # [H, W] bool, refined inside the (slightly grown) box
    latent_mask: Tensor  # [h, w] in [0, 1]: the mask's coverage of each latent cell
    trajectory: list[Tensor]  # [1, C, h, w] latents before each sampling step
    latents: Tensor  # [1, C, h, w] final
    attention: Maps  # its words' cross-attention per resolution (first frozen steps)
    fallback: bool  # the segmenter found nothing in the box, so the box is the mask


def box_region(box: Box, height: int, width: int, margin: float = 0.0) -> np.ndarray:
    """[height, width] bool: the pixels a box (grown by ``margin`` of its size) covers."""
    x, y, w, h = box
    x0, x1 = (x - margin * w) * width, (x + w + margin * w) * width
    y0, y1 = (y - margin * h) * height, (y + h + margin * h) * height
    region = np.zeros((height, width), bool)
    region[
        max(int(y0), 0) : max(int(np.ceil(y1)), 0), max(int(x0), 0) : max(int(np.ceil(x1)), 0)
    ] = True
    return region


def coverage(mask: np.ndarray, h: int, w: int) -> Tensor:
    """[H, W] bool -> [h, w] share of each latent cell the mask covers."""
    m = torch.from_numpy(mask).float()[None, None]
    return F.interpolate(m, size=(h, w), mode="area")[0, 0]


def blend_noise(background: Tensor, noises: list[Tensor], masks: list[Tensor]) -> Tensor:
    """Each object's noise [1, C, h, w] over its box mask [h, w], the shared noise elsewhere.

    A soft mixture m*a + (1-m)*b of two independent unit Gaussians has variance m^2 + (1-m)^2,
    so it is divided by the square root of that to stay unit-variance at the soft edges.
    """
    out = background
    for noise, m in zip(noises, masks, strict=True):
        out = (m * noise + (1 - m) * out) / (m**2 + (1 - m) ** 2).sqrt()
    return out


@contextmanager
def recorded_latents(unet, batch: int) -> Iterator[list[Tensor]]:
    """The latents the UNet is called on, one entry per sampling step.

    DDIM's ``scale_model_input`` is the identity, so the UNet's input (first ``batch`` rows of
    the classifier-free-guidance batch) is the latent before each step.
    """
    seen: list[Tensor] = []
    handle = unet.register_forward_pre_hook(lambda m, args: seen.append(args[0][:batch].clone()))
    try:
        yield seen
    finally:
        handle.remove()


def noises(
    model: DiffusionModel, layout: Layout, s: Sampling, generator: torch.Generator
) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """(shared background noise, one noise per object, box masks [h, w]), all on the CPU first so
    a seed gives the same noise on any device."""
    f = model.vae_factor
    shape = (1, model.pipe.unet.config.in_channels, s.height // f, s.width // f)
    background = torch.randn(shape, generator=generator)
    objects = [torch.randn(shape, generator=generator) for _ in layout.items]
    masks = [coverage(box_region(item.box, s.height, s.width), *shape[2:]) for item in layout.items]
    return background, objects, masks


def refine_mask(image: np.ndarray, box: Box, segmenter: Segmenter) -> tuple[np.ndarray, bool]:
    """The segmenter's mask kept inside the slightly grown box; the box itself if that is empty."""
    h, w = image.shape[:2]
    mask = segmenter(image, [box])[0] & box_region(box, h, w, MASK_MARGIN)
    mask = ndimage.binary_fill_holes(mask)
    if mask.sum() < 4:
        return box_region(box, h, w), True
    return mask, False


def box_latents(
    model: DiffusionModel,
    layout: Layout,
    s: Sampling,
    generator: torch.Generator,
    segmenter: Segmenter,
    progress: Callable[[int], ProgressFn] | None = None,
) -> tuple[list[BoxLatents], Tensor, list[Tensor]]:
    """Every layout object generated alone in its box.

    ``progress(i)`` is box i's step callback. Returns the boxes, the shared background
    noise and the blended starting noise per object (the fused pass starts from them too).
    """
    background, object_noise, box_masks = noises(model, layout, s, generator)
    tokenizer = model.pipe.tokenizer
    out, starts = [], []
    for i, item in enumerate(layout.items):
        start = blend_noise(background, [object_noise[i]], [box_masks[i]])
        prompt = box_prompt(item, layout)
        attention = ObjectAttention(
            steps=set(range(s.frozen_steps)), groups=prompt.token_groups(tokenizer)
        )
        grounding = Grounding([item.phrase], [item.box]) if model.has_gligen else None
        with recorded_latents(model.pipe.unet, 1) as trajectory:
            result = sample(
                model,
                prompt.text,
                negative_prompt=layout.negative_prompt,
                height=s.height,
                width=s.width,
                steps=s.steps,
                guidance=s.guidance,
                latents=start,
                grounding=grounding,
                attention=attention,
                progress=progress(i) if progress else None,
            )
        mask, fallback = refine_mask(result.images[0], item.box, segmenter)
        maps = attention.mean_maps()[0] if attention.calls else {}
        out.append(
            BoxLatents(
                image=result.images[0],
                mask=mask,
                latent_mask=coverage(mask, *start.shape[2:]),
                trajectory=[t.cpu() for t in trajectory],
                latents=result.latents.cpu(),
                attention=maps,
                fallback=fallback,
            )
        )
        starts.append(start)
    return out, background, starts


def paint_order(masks: list[np.ndarray]) -> list[int]:
    """Larger masks first, so smaller objects end on top."""
    return sorted(range(len(masks)), key=lambda i: -int(masks[i].sum()))


def compose(boxes: list[BoxLatents], steps: int) -> FrozenLatents:
    """The per-box latents under their masks, per step, held for the first ``steps`` steps."""
    order = paint_order([b.mask for b in boxes])
    values = []
    for t in range(steps):
        v = torch.zeros_like(boxes[0].trajectory[t])
        for i in order:
            m = boxes[i].latent_mask
            v = m * boxes[i].trajectory[t] + (1 - m) * v
        values.append(v)
    union = 1 - torch.stack([1 - b.latent_mask for b in boxes]).prod(0)  # [h, w]
    return FrozenLatents(mask=union[None, None], values=values, steps=steps)


def fusion_targets(layout: Layout, boxes: list[BoxLatents]) -> list[Maps]:
    """Per distinct phrase: its instances' per-box maps, each kept inside its own mask."""
    return [
        sum_maps([masked_target(boxes[i].attention, boxes[i].latent_mask) for i in items])
        for items in phrase_groups(layout).values()
    ]


def fused_denoise(
    model: DiffusionModel,
    layout: Layout,
    s: Sampling,
    boxes: list[BoxLatents],
    background: Tensor,
    starts: list[Tensor],
    progress: ProgressFn | None = None,
) -> tuple[SampleOut, ObjectAttention]:
    """The whole scene from the composed per-box latents, with attention fusion."""
    prompt = scene_prompt(layout)
    order = paint_order([b.mask for b in boxes])
    start = background
    for i in order:  # the same noise the boxes started from, under their masks
        m = boxes[i].latent_mask
        start = m * starts[i] + (1 - m) * start
    attention = ObjectAttention(
        steps=set(range(s.frozen_steps)),
        groups=prompt.token_groups(model.pipe.tokenizer),
        targets=fusion_targets(layout, boxes),
        strength=s.fusion,
    )
    grounding = (
        Grounding([i.phrase for i in layout.items], [i.box for i in layout.items])
        if model.has_gligen
        else None
    )
    out = sample(
        model,
        prompt.text,
        negative_prompt=layout.negative_prompt,
        height=s.height,
        width=s.width,
        steps=s.steps,
        guidance=s.guidance,
        latents=start,
        grounding=grounding,
        freeze=compose(boxes, s.frozen_steps) if s.frozen_steps else None,
        attention=attention,
        progress=progress,
    )
    return out, attention


def plain_denoise(
    model: DiffusionModel,
    prompt: str,
    s: Sampling,
    generator: torch.Generator,
    progress: ProgressFn | None = None,
) -> SampleOut:
    """The no-layout ablation: plain text-to-image from the user's prompt."""
    return sample(
        model,
        prompt,
        height=s.height,
        width=s.width,
        steps=s.steps,
        guidance=s.guidance,
        generator=generator,
        progress=progress,
    )


def latents_strip(boxes: list[BoxLatents]) -> np.ndarray:
    """[H, W * n, 3]: each object alone, grey outside its refined mask."""
    tiles = [np.where(b.mask[..., None], b.image, 200).astype(np.uint8) for b in boxes]
    return np.concatenate(tiles, axis=1)
