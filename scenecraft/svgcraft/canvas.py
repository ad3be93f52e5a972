"""Stage 5: the starting vector canvas from the layout and the fused raster's object masks.

A background layer (a vertical gradient fitted where no object is), then one layer per layout
object, painted larger first, seeded inside the object's mask with either its contour (one
closed path) or ``k`` primitives (circles, squares or blobs) spread over the mask by k-means, each
coloured with the raster's mean colour over its part of the mask. The path budget is shared
among objects by mask area, at least one each; SVGCraft's reference grid assumed a 1024 px
canvas, these sizes follow the mask instead.

Whatever the raster shows outside every object's mask and away from the background gradient
(a stray the model drew, an artefact) is traced into the background layer too, largest first,
with the budget the objects left: without it a gradient would be stretched over it.

Each primitive is its own shape group (its own colour) with id ``<layer id>.<k>``; the writer
(``optimise.write_svg``) nests them under one ``<g>`` per layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage.draw import polygon as draw_polygon
from torch import Tensor

from scenecraft.core.contracts import Box
from scenecraft.shapesworld.grammar import SHAPES, transform, unit_outline
from scenecraft.vector.initialise import blob_path, from_masks, polygon_area, vertical_gradient
from scenecraft.vector.scene import Circle, LinearGradient, Rect, Scene, Shape, ShapeGroup

Primitive = Literal["contour", "circles", "rects", "blobs"]
BACKGROUND = "background"
OVERLAP = 1.3  # primitives are this much larger than an even tiling needs, so no gaps open
STRAY_DIFF = 0.1  # a pixel this far (max over RGB) from the background gradient is not background
STRAY_AREA = 0.002  # least area of a stray worth a path, share of the canvas


@dataclass
class Layer:
    id: str
    label: str
    box: Box | None  # None for the background


@dataclass
class Canvas:
    scene: Scene  # straight RGBA, canvas pixels; groups in paint order
    layers: list[Layer]  # background first, then objects in paint order


def allocate(paths: int, areas: list[float]) -> list[int]:
    """Split ``paths`` over objects in proportion to area, at least one each (largest
    remainders get the leftovers)."""
    n = len(areas)
    if paths < n:
        raise ValueError(f"{paths} paths cannot seed {n} objects")
    total = sum(areas) or 1.0
    share = [(paths - n) * a / total for a in areas]
    counts = [1 + int(s) for s in share]
    for i in sorted(range(n), key=lambda i: int(share[i]) - share[i])[: paths - sum(counts)]:
        counts[i] += 1
    return counts


def spread(mask: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """k centres [k, 2] (x, y) spread over a mask by a few k-means steps, and each mask pixel's
    centre [P] (the pixels come in ``np.nonzero`` order)."""
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], -1).astype(np.float64) + 0.5  # [P, 2] pixel centres
    rng = np.random.default_rng(seed)
    centres = pts[rng.choice(len(pts), size=min(k, len(pts)), replace=False)]
    for _ in range(8):
        nearest = cKDTree(centres).query(pts)[1]
        sums = np.zeros_like(centres)
        np.add.at(sums, nearest, pts)
        counts = np.bincount(nearest, minlength=len(centres))[:, None]
        centres = np.where(counts > 0, sums / np.maximum(counts, 1), centres)
    return centres, cKDTree(centres).query(pts)[1]


def _primitive(kind: Primitive, centre: np.ndarray, radius: float, rng) -> Shape:
    x, y = (float(v) for v in centre)
    if kind == "circles":
        return Circle(radius, [x, y])
    if kind == "rects":
        return Rect([x - radius, y - radius], [x + radius, y + radius])
    return blob_path((x, y), radius, rng)


def seed_primitives(
    mask: np.ndarray, raster: Tensor, k: int, kind: Primitive, seed: int
) -> list[tuple[Shape, Tensor]]:
    """k primitives inside ``mask`` [H, W], each with the mean raster colour of its pixels."""
    centres, nearest = spread(mask, k, seed)
    ys, xs = np.nonzero(mask)
    pixels = raster[torch.from_numpy(ys), torch.from_numpy(xs)]  # [P, 3]
    radius = OVERLAP * math.sqrt(mask.sum() / (len(centres) * math.pi))
    rng = np.random.default_rng(seed)
    out = []
    for j, c in enumerate(centres):
        mine = torch.from_numpy(nearest == j)
        colour = pixels[mine].mean(0) if mine.any() else pixels.mean(0)
        out.append((_primitive(kind, c, radius, rng), torch.cat([colour.float(), torch.ones(1)])))
    return out


def strays(raster: Tensor, union: np.ndarray, k: int) -> tuple[np.ndarray, LinearGradient]:
    """(instance map [H, W] of the up to ``k`` largest regions that are neither in an object's
    slightly grown mask nor close to the background gradient, 0 = none; that gradient).

    The gradient is fitted twice, the second time without the first fit's strays, which had
    pulled it toward their colour.
    """
    h, w = union.shape
    background = torch.from_numpy(~union)
    out = np.zeros((h, w), np.int32)
    for _ in range(2):
        gradient = vertical_gradient(raster.float(), background & torch.from_numpy(out == 0))
        if k <= 0:
            return out, gradient
        expected = gradient.sample(w, h, torch.ones(2))[..., :3]  # [H, W, 3]
        far = ((raster.float() - expected).abs().amax(-1) > STRAY_DIFF).numpy()
        labels, n = ndimage.label(far & ~ndimage.binary_dilation(union, iterations=2))
        areas = ndimage.sum_labels(np.ones_like(labels), labels, range(1, n + 1))
        big = [i + 1 for i in np.argsort(-areas)[:k] if areas[i] >= STRAY_AREA * h * w]
        out = np.zeros((h, w), np.int32)
        for rank, label in enumerate(big, start=1):
            out[labels == label] = rank
    return out, vertical_gradient(raster.float(), background & torch.from_numpy(out == 0))


def _traced(
    instances: np.ndarray, raster: Tensor, ids: list[str]
) -> tuple[list[Shape], list[ShapeGroup]]:
    """One contour path per instance k = 1.. of ``instances``, as groups ``ids[k - 1]``."""
    traced = from_masks(instances, raster)
    by_object = {g.id: g for g in traced.shape_groups}
    shapes, groups = [], []
    for k, ident in enumerate(ids, start=1):
        group = by_object.get(f"object-{k}")
        if group is None:  # a mask with no traceable outline
            continue
        first = len(shapes)
        shapes.extend(traced.shapes[s] for s in group.shape_ids)
        groups.append(ShapeGroup(list(range(first, len(shapes))), group.fill_color, True, id=ident))
    return shapes, groups


def named_outline(shape: str, mask: np.ndarray) -> np.ndarray | None:
    """The outline [K, 2] (x, y, pixels) of ShapesWorld's ``shape`` that best covers ``mask``
    [H, W] bool (IoU over rotations in 3 degree steps and three scales about the mask's area,
    centred on its centroid); None for a name that is no ShapesWorld shape or an empty mask."""
    if shape not in SHAPES or not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    cx, cy = xs.mean() + 0.5, ys.mean() + 0.5
    unit = unit_outline(shape)
    radius = math.sqrt(float(mask.sum()) / polygon_area(unit))
    best, best_iou = None, -1.0
    for scale in (0.9, 1.0, 1.1):
        for rotation in range(0, 360, 3):
            pts = transform(unit, cx, cy, radius * scale, rotation)
            rr, cc = draw_polygon(pts[:, 1] - 0.5, pts[:, 0] - 0.5, mask.shape)
            drawn = np.zeros_like(mask)
            drawn[rr, cc] = True
            iou = float((drawn & mask).sum()) / max(float((drawn | mask).sum()), 1.0)
            if iou > best_iou:
                best, best_iou = pts, iou
    return best


def initialise_canvas(
    raster: Tensor,
    layers: list[Layer],
    masks: list[np.ndarray],
    paths: int,
    kind: Primitive,
    seed: int = 0,
) -> Canvas:
    """raster [H, W, 3] in [0, 1]; ``layers`` / ``masks`` [H, W] bool per object, in paint order.

    With ``kind='contour'`` each object is one path and strays get the rest of the budget.
    """
    h, w = raster.shape[:2]
    union = np.zeros((h, w), bool)
    for m in masks:
        union |= m
    if kind == "contour":
        instances = np.zeros((h, w), np.int32)
        for k, m in enumerate(masks, start=1):
            instances[m] = k  # later (smaller) objects over earlier ones
        shapes, groups = _traced(instances, raster, [f"{x.id}.0" for x in layers])
    else:
        counts = allocate(paths, [float(m.sum()) for m in masks])
        shapes, groups = [], []
        for i, (layer, mask, k) in enumerate(zip(layers, masks, counts, strict=True)):
            for j, (shape, colour) in enumerate(seed_primitives(mask, raster, k, kind, seed + i)):
                shapes.append(shape)
                groups.append(ShapeGroup([len(shapes) - 1], colour, False, id=f"{layer.id}.{j}"))
    stray, background = strays(raster, union, paths - len(groups))
    if stray.any():
        found = int(stray.max())
        extra, extra_groups = _traced(stray, raster, [f"{BACKGROUND}.{k}" for k in range(found)])
        for g in groups:  # the strays' shapes go first
            g.shape_ids = [i + len(extra) for i in g.shape_ids]
        shapes = extra + shapes
        groups = extra_groups + groups  # painted first: objects stay on top
    return Canvas(
        Scene(w, h, shapes, groups, background), [Layer(BACKGROUND, BACKGROUND, None), *layers]
    )
