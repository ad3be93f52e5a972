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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor
from torch.nn import functional as F

from scenecraft.core.contracts import Box, Detection, Layout, LayoutItem, ObjectSpec
from scenecraft.core.fill import fill_from_around
from scenecraft.core.progress import Progress, ProgressFn
from scenecraft.models.diffusion import (
    DiffusionModel,
    FrozenLatents,
    Grounding,
    SampleOut,
    sample,
)
from scenecraft.planner.geometry import centre, label_matches
from scenecraft.sld.latent_ops import box_cells
from scenecraft.svgcraft.attention import Maps, ObjectAttention, masked_target, sum_maps
from scenecraft.svgcraft.layout import box_prompt, phrase_groups, scene_prompt

Segmenter = Callable[[np.ndarray, list[Box]], list[np.ndarray]]  # image, boxes -> [H, W] masks
Detector = Callable[[np.ndarray, list[str]], list[Detection]]  # image, phrases -> detections
MASK_MARGIN = 0.15  # a refined mask may reach this share of its box's size beyond the box
# A detection in the fused raster is an object recognised in its per-box draw only when it keeps
# at least this share of the draw's pixels: a fused pass that redrew a yellow triangle green but
# for a yellow tip left a tiny "yellow triangle" beside a large green one (row 7, sheet row 6),
# which counted as kept, and the SVG fit then dropped the tip.
MIN_KEPT = 0.35


@dataclass
class Sampling:
    """The knobs every diffusion pass of one run shares."""

    height: int
    width: int
    steps: int = 25
    guidance: float = 3.0
    freeze: float = 0.4  # share of the fused pass's steps the per-box latents are held
    fusion: float = 0.5  # attention fusion strength (0 = off)
    # with a detector: seeds tried per object until the detector recognises what was drawn
    attempts: int = 1
    # with a detector: an object it recognised keeps its latents to the fused pass's last step
    # (the rest of the scene is drawn around it) instead of being released after ``freeze``
    hold_recognised: bool = False

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
    fallback: bool  # the segmenter found nothing in or near the box, so the box is the mask
    relocated: bool = False  # drawn outside its box, then moved into it (``move_into_box``)
    attempts: int = 1  # seeds tried (``Sampling.attempts``)
    recognised: bool | None = None  # the detector read it as its phrase (None: no detector)


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


def noises(
    model: DiffusionModel, layout: Layout, s: Sampling, generator: torch.Generator
) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """(shared background noise, one noise per object, box masks [h, w]), all on the CPU first so
    a seed gives the same noise on any device."""
    f = model.vae_factor
    shape = (1, model.latent_channels, s.height // f, s.width // f)
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


def _resize(a: Tensor, hw: tuple[int, int], mode: str = "bilinear") -> Tensor:
    kw = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(a, size=hw, mode=mode, **kw)


def move_into_box(
    image: np.ndarray,
    latents: list[Tensor],
    box: Box,
    phrase: str,
    detector: Detector,
    segmenter: Segmenter,
    found: list[Detection] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[Tensor], Box] | None:
    """An object generated alone but drawn outside its box (a model whose GLIGEN layers do not
    place objects, or has none), moved into the box as SLD transplants an added object: the
    detector finds it (``phrase`` if it drew that, else whatever it drew best), the segmenter
    gives its mask there, and its pixels and every latent of its trajectory are cropped to where
    it was drawn and resized into the box. Returns the new image, its mask and latents and where
    it had been drawn, or None when the detector finds nothing or finds it in its box.
    ``found``: the detector's answer for ``image`` and ``[phrase]`` where the caller has it."""
    h, w = image.shape[:2]
    if found is None:
        found = detector(image, [phrase])
    if not found:
        return None
    best = max(found, key=lambda d: (d.label == phrase, d.score))
    drawn = list(best.box)
    cx, cy = centre(drawn)
    if box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[3]:
        return None  # drawn in its box already
    obj, empty = refine_mask(image, drawn, segmenter)
    if empty:
        return None
    # pixels: the drawn box's crop resized into the target box
    py0, py1, px0, px1 = box_cells(drawn, (h, w))
    ty0, ty1, tx0, tx1 = box_cells(box, (h, w))
    crop = torch.from_numpy(image[py0:py1, px0:px1]).permute(2, 0, 1)[None].float()
    crop_mask = torch.from_numpy(obj[py0:py1, px0:px1])[None, None].float()
    moved = image.copy()
    moved[ty0:ty1, tx0:tx1] = (
        _resize(crop, (ty1 - ty0, tx1 - tx0))[0].permute(1, 2, 0).round().clamp(0, 255).numpy()
    )
    mask = np.zeros((h, w), bool)
    mask[ty0:ty1, tx0:tx1] = _resize(crop_mask, (ty1 - ty0, tx1 - tx0), "nearest")[0, 0] > 0.5
    # latents: the same crop on the latent grid, at every step
    return moved, mask, [move_region(z, drawn, box) for z in latents], drawn


def move_region(z: Tensor, old: Box, new: Box) -> Tensor:
    """[..., h, w] with the cells under box ``old`` resized into box ``new`` (a copy)."""
    h, w = z.shape[-2:]
    sy0, sy1, sx0, sx1 = box_cells(old, (h, w))
    gy0, gy1, gx0, gx1 = box_cells(new, (h, w))
    z = z.clone()
    z[..., gy0:gy1, gx0:gx1] = (
        _resize(
            z[..., sy0:sy1, sx0:sx1].reshape(-1, 1, sy1 - sy0, sx1 - sx0).float(),
            (gy1 - gy0, gx1 - gx0),
        )
        .reshape(*z.shape[:-2], gy1 - gy0, gx1 - gx0)
        .to(z)
    )
    return z


def move_maps(maps: Maps, old: Box, new: Box, latent_hw: tuple[int, int]) -> Maps:
    """Recorded attention maps (flat, one per resolution) with box ``old`` moved into ``new``."""
    h, w = latent_hw
    out = {}
    for n, m in maps.items():
        d = round((h * w / n) ** 0.5)
        grid = m.reshape(h // d, w // d)
        out[n] = move_region(grid, old, new).reshape(n)
    return out


def wanted(phrase: str) -> ObjectSpec:
    """A layout phrase ('red circle') as the object the detector's labels are matched to."""
    *attrs, noun = phrase.split()
    return ObjectSpec(name=noun, attributes=attrs)


def box_latents(
    model: DiffusionModel,
    layout: Layout,
    s: Sampling,
    generator: torch.Generator,
    segmenter: Segmenter,
    progress: ProgressFn | None = None,
    detector: Detector | None = None,
) -> tuple[list[BoxLatents], Tensor, list[Tensor]]:
    """Every layout object generated alone in its box.

    ``progress`` counts the steps of all boxes, one box after another. With a ``detector``, an
    object it does not recognise is drawn again from a new seed (up to ``s.attempts`` seeds),
    and one drawn outside its box is moved into it (``move_into_box``). Returns the boxes, the
    shared background noise and the blended starting noise per object (the fused pass starts
    from them too).
    """
    background, object_noise, box_masks = noises(model, layout, s, generator)
    tokenizer = model.pipe.tokenizer
    out, starts = [], []
    for i, item in enumerate(layout.items):
        prompt = box_prompt(item, layout)
        grounding = Grounding([item.phrase], [item.box]) if model.can_ground else None
        want = wanted(item.phrase)

        def box_progress(p: Progress, done: int = i * s.steps) -> None:
            progress(replace(p, step=done + p.step, total=len(layout.items) * s.steps))

        # beyond the paper: an object the detector does not recognise is drawn again from a new
        # seed, up to ``s.attempts`` times (the first attempt's noise is the paper's); the first
        # attempt is kept when none is recognised
        tries = []
        for attempt in range(max(1, s.attempts) if detector is not None else 1):
            noise = (
                object_noise[i]
                if attempt == 0
                else torch.randn(object_noise[i].shape, generator=generator)
            )
            start = blend_noise(background, [noise], [box_masks[i]])
            attention = ObjectAttention(
                steps=set(range(s.frozen_steps)), groups=prompt.token_groups(tokenizer)
            )
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
                progress=box_progress if progress else None,
                keep_trajectory=True,  # the latents alone (a hook on the UNet would see its map)
            )
            found = detector(result.images[0], [item.phrase]) if detector is not None else []
            recognised = any(label_matches(d.label, want) for d in found)
            tries.append((start, attention, result, found, recognised))
            if detector is None or recognised:
                break
        start, attention, result, found, recognised = next((t for t in tries if t[4]), tries[0])
        image, steps = result.images[0], [t.cpu() for t in [*result.trajectory, result.latents]]
        mask, fallback = refine_mask(image, item.box, segmenter)
        maps = attention.mean_maps()[0] if attention.calls else {}
        relocated = False
        moved = (
            move_into_box(image, steps, item.box, item.phrase, detector, segmenter, found)
            if detector is not None
            else None
        )
        if moved is not None:
            image, mask, steps, drawn = moved
            fallback, relocated = False, True
            # its words' attention went where it was drawn: the fused pass is pulled to the box
            maps = move_maps(maps, drawn, item.box, tuple(start.shape[2:]))
        out.append(
            BoxLatents(
                image=image,
                mask=mask,
                latent_mask=coverage(mask, *start.shape[2:]),
                trajectory=steps[:-1],
                latents=steps[-1],
                attention=maps,
                fallback=fallback,
                relocated=relocated,
                attempts=len(tries),
                recognised=recognised if detector is not None else None,
            )
        )
        starts.append(start)
    return out, background, starts


def paint_order(masks: list[np.ndarray]) -> list[int]:
    """Larger masks first, so smaller objects end on top."""
    return sorted(range(len(masks)), key=lambda i: -int(masks[i].sum()))


def compose(boxes: list[BoxLatents], steps: int, hold: list[bool] | None = None) -> FrozenLatents:
    """The per-box latents under their masks, per step, held for the first ``steps`` steps;
    the boxes ``hold`` marks are held to the last step and end as their own final latents (the
    others are released after ``steps``).
    """
    order = paint_order([b.mask for b in boxes])
    kept = [i for i in order if hold and hold[i]]

    def painted(t: int, which: list[int]) -> Tensor:
        v = torch.zeros_like(boxes[0].latents)
        for i in which:
            b = boxes[i]
            z = b.trajectory[t] if t < len(b.trajectory) else b.latents  # the last: final latents
            v = b.latent_mask * z + (1 - b.latent_mask) * v
        return v

    def union(which: list[int]) -> Tensor:
        return 1 - torch.stack([1 - boxes[i].latent_mask for i in which]).prod(0)  # [h, w]

    # held boxes: every step's latents and, last, their own final latents
    total = len(boxes[0].trajectory) + 1 if kept else steps
    values = [painted(t, order if t < steps else kept) for t in range(total)]
    return FrozenLatents(
        mask=union(order)[None, None],
        values=values,
        steps=steps,
        hold=union(kept)[None, None] if kept else None,
    )


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
    hold: list[bool] | None = None,
) -> tuple[SampleOut, ObjectAttention]:
    """The whole scene from the composed per-box latents, with attention fusion; with
    ``s.hold_recognised``, the objects the detector recognised are held to the last step
    (``hold``, one flag per box, names the held ones instead)."""
    prompt = scene_prompt(layout)
    if hold is None:
        hold = [bool(s.hold_recognised and b.recognised) for b in boxes]
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
        if model.can_ground
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
        freeze=compose(boxes, s.frozen_steps, hold) if s.frozen_steps or any(hold) else None,
        attention=attention,
        progress=progress,
    )
    return out, attention


@dataclass
class FusionCheck:
    """What the detector read in the fused raster against the layout."""

    lost: list[int]  # recognised per box, but not found in their (grown) box in the fused raster
    # where the fused pass drew a lost object's phrase in the box of no object it could be: the
    # lost object, misplaced. Pasting it into its box without clearing these makes two of it.
    strays: list[Box]


def in_grown_box(point: tuple[float, float], box: Box) -> bool:
    """Is ``point`` (canvas fractions) in ``box`` grown by ``MASK_MARGIN`` of its size on every
    side?"""
    (cx, cy), (x, y, w, h), m = point, box, MASK_MARGIN
    return x - m * w <= cx <= x + (1 + m) * w and y - m * h <= cy <= y + (1 + m) * h


def found_in_box(image: np.ndarray, item: LayoutItem, detector: Detector) -> bool:
    """Does the detector read ``item``'s phrase in ``image`` [H, W, 3] uint8, in its box?"""
    return any(
        label_matches(d.label, wanted(item.phrase)) and in_grown_box(centre(d.box), item.box)
        for d in detector(image, [item.phrase])
    )


def check_fusion(
    raster: np.ndarray, layout: Layout, boxes: list[BoxLatents], detector: Detector
) -> FusionCheck:
    """The objects the detector recognised in their per-box draw but does not find in the fused
    ``raster`` (no detection of their phrase centred in their slightly grown box with at least
    ``MIN_KEPT`` of the per-box draw's pixels), and the
    detections of those objects' phrases that lie in the box of no object they could be."""
    if not any(b.recognised for b in boxes):
        return FusionCheck([], [])  # nothing was drawn right alone, so nothing can be lost
    found = detector(raster, sorted({item.phrase for item in layout.items}))

    h, w = raster.shape[:2]

    def matches(d: Detection, phrase: str) -> bool:
        return label_matches(d.label, wanted(phrase))

    def pixels(d: Detection) -> float:
        if d.mask is not None and d.mask.shape == (h, w):
            return float(d.mask.sum())
        return d.box[2] * d.box[3] * h * w

    def kept(d: Detection, item: LayoutItem, b: BoxLatents) -> bool:
        if not (matches(d, item.phrase) and in_grown_box(centre(d.box), item.box)):
            return False
        # a fallback mask is the box, not the object: no size to hold the detection to
        return b.fallback or pixels(d) >= MIN_KEPT * float(b.mask.sum())

    lost = [
        i
        for i, (item, b) in enumerate(zip(layout.items, boxes, strict=True))
        if b.recognised and not any(kept(d, item, b) for d in found)
    ]
    lost_phrases = {layout.items[i].phrase for i in lost}
    # a detection in the box of any object it could be is that object, not a stray ('a big and
    # a small circle': the small circle in its box is no misplaced big one)
    strays = [
        d.box
        for d in found
        if any(matches(d, p) for p in lost_phrases)
        and not any(
            matches(d, it.phrase) and in_grown_box(centre(d.box), it.box) for it in layout.items
        )
    ]
    return FusionCheck(lost, strays)


def lost_in_fusion(
    raster: np.ndarray, layout: Layout, boxes: list[BoxLatents], detector: Detector
) -> list[int]:
    """``check_fusion``'s lost objects alone."""
    return check_fusion(raster, layout, boxes, detector).lost


def paste_objects(
    raster: np.ndarray,
    boxes: list[BoxLatents],
    paste: list[int],
    regions: list[np.ndarray] | None = None,
    strays: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """``raster`` [H, W, 3] with the pixels of the boxes ``paste`` names laid over it under
    their masks, larger first (a copy).

    With ``regions`` ([H, W] bool a box: the pixels its object may take), each pasted object's
    region is first cleared of what the fused pass drew there: those pixels, but for the other
    objects' masks, are filled from the background around them (biharmonic inpainting, with the
    other objects left out of what it fills from). Without
    it, the pieces of a wrong drawing outside the pasted mask stay beside the object (an edge,
    a stray blob) and the judge may read them as one more object. ``strays`` ([H, W] bool each)
    are cleared the same way: where the fused pass drew a pasted object outside its box, so
    that pasting it moves it instead of making two.
    """
    out = raster.copy()
    if regions is not None:
        others = np.zeros(raster.shape[:2], bool)
        for i, b in enumerate(boxes):
            if i not in paste:
                others |= b.mask
        clear = np.zeros_like(others)
        for r in [regions[i] for i in paste] + list(strays):
            clear |= r
        clear &= ~others
        # the other objects are not drawn from, so that their colours do not bleed into the fill
        filled = fill_from_around(raster, clear, ndimage.binary_dilation(others, iterations=1))
        out[clear] = filled[clear].round().clip(0, 255).astype(np.uint8)
    chosen = [boxes[i] for i in paste]
    for i in paint_order([b.mask for b in chosen]):
        out[chosen[i].mask] = chosen[i].image[chosen[i].mask]
    return out


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
