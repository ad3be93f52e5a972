"""Stage 6: SVG optimisation. The canvas is fitted to the fused raster through the differentiable
rasteriser, primitives that stopped contributing are pruned, and the result is written as a
layered, sanitised SVG.

Loss: ``l2``, or ``lpips``: LPIPS plus a mean-colour term (LPIPS barely sees a flat colour shift,
so the term is the L2 between both images averaged over an 8 x 8 grid of cells).

Opacity modulation (``vector.fit.OpacityModulation``): every primitive's alpha is a learned value
times m(t) = min(1, start + (1 - start) * t / (ramp * iters)), so with the defaults primitives
start 30 % opaque (overlapping seeds all see the raster and all get gradients) and are as opaque
as their learned alpha from 60 % of the iterations on. A contour start (one opaque path per
object) is fitted without it, as the vectoriser does for masks.

Pruning: the fit drops groups showing under half a pixel; then, from the top of the paint order
down, a primitive goes when removing it (from what is still kept) changes fewer than
``min_pixels`` pixels by more than 2/255.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import functional as F

from scenecraft.core.contracts import Box
from scenecraft.core.progress import ProgressFn
from scenecraft.svgcraft.canvas import BACKGROUND, Layer
from scenecraft.vector import render
from scenecraft.vector.fit import FitResult, OpacityModulation, fit
from scenecraft.vector.losses import Loss, make_loss
from scenecraft.vector.sanitize import SVG_NS, parse_svg, sanitize_svg
from scenecraft.vector.scene import Circle, Ellipse, Rect, Scene, Shape
from scenecraft.vector.svg_write import to_svg

MEAN_COLOUR_CELLS = 8
MODULATION = OpacityModulation(start=0.3, ramp=0.6)
CHANGED = 2 / 255  # a pixel counts as changed above this (max over channels)
BOX_MARGIN = 0.1  # a primitive may reach this share of the canvas beyond its object's box


def mean_colour(image: Tensor, target: Tensor, cells: int = MEAN_COLOUR_CELLS) -> Tensor:
    """L2 between [H, W, 3] images averaged over a cells x cells grid."""
    pool = lambda x: F.adaptive_avg_pool2d(x.permute(2, 0, 1)[None], cells)  # noqa: E731
    return ((pool(image) - pool(target)) ** 2).mean()


def make_fit_loss(name: str, mean_colour_weight: float = 1.0) -> Loss:
    """``l2``, or ``lpips`` + ``mean_colour_weight`` x mean colour. Raises ``ModelNotFound`` at
    once when LPIPS weights are missing, before anything expensive runs."""
    if name == "l2":
        return make_loss("l2")
    perceptual = make_loss(name)
    return lambda image, target: (
        perceptual(image, target) + mean_colour_weight * mean_colour(image, target)
    )


def optimise(
    scene: Scene,
    raster: Tensor,
    iters: int,
    loss: Loss,
    contour: bool,
    progress: ProgressFn | None = None,
    preview_every: int = 0,
    cancelled: Callable[[], bool] | None = None,
    point_lr_scale: float = 1.0,
) -> FitResult:
    """Fit ``scene`` to ``raster`` [H, W, 3] in [0, 1] (contour starts hold their opacity);
    ``progress`` and ``preview_every`` as ``vector.fit.fit`` takes them; the control points'
    learning rate is scaled by ``point_lr_scale``."""
    return fit(
        raster.float(),
        scene,
        iters,
        loss,
        None if contour else MODULATION,
        lr_points=(0.5 if contour else 1.0) * point_lr_scale,
        progress=progress,
        preview_every=preview_every,
        cancelled=cancelled,
    )


def over_white(image: Tensor) -> Tensor:
    """[H, W, 4] straight RGBA -> [H, W, 3] composited over white."""
    return image[..., :3] * image[..., 3:] + (1 - image[..., 3:])


def keep_groups(scene: Scene, keep: list[int]) -> Scene:
    """The scene with only the groups ``keep`` (indices, in order) and the shapes they use."""
    groups = [scene.shape_groups[g] for g in keep]
    used = sorted({s for g in groups for s in g.shape_ids})
    remap = {old: new for new, old in enumerate(used)}
    for g in groups:
        g.shape_ids = [remap[s] for s in g.shape_ids]
    return Scene(
        scene.canvas_width,
        scene.canvas_height,
        [scene.shapes[s] for s in used],
        groups,
        scene.background,
    )


@torch.no_grad()
def prune(scene: Scene, min_pixels: int = 4) -> tuple[Scene, int]:
    """Drop primitives whose removal changes fewer than ``min_pixels`` pixels (top down)."""
    keep = list(range(len(scene.shape_groups)))
    for g in reversed(range(len(scene.shape_groups))):
        trial = [k for k in keep if k != g]
        with_it = over_white(render(_view(scene, keep)))
        without = over_white(render(_view(scene, trial)))
        if int(((with_it - without).abs().amax(-1) > CHANGED).sum()) < min_pixels:
            keep = trial
    pruned = len(scene.shape_groups) - len(keep)
    return keep_groups(scene, keep), pruned


def _view(scene: Scene, keep: list[int]) -> Scene:
    """The scene painting only groups ``keep`` (shapes shared, nothing copied)."""
    return Scene(
        scene.canvas_width,
        scene.canvas_height,
        scene.shapes,
        [scene.shape_groups[g] for g in keep],
        scene.background,
    )


def bounds(shape: Shape) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in pixels; a path's control points bound its curves."""
    if isinstance(shape, Circle | Ellipse):
        r = shape.radius.reshape(-1).abs()
        (cx, cy), (rx, ry) = shape.center.tolist(), (float(r[0]), float(r[-1]))
        return cx - rx, cy - ry, cx + rx, cy + ry
    if isinstance(shape, Rect):
        (x0, y0), (x1, y1) = shape.p_min.tolist(), shape.p_max.tolist()
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)
    pts = shape.points
    return (*pts.amin(0).tolist(), *pts.amax(0).tolist())


def _inside(b: tuple[float, float, float, float], box: Box, w: int, h: int) -> bool:
    x, y, bw, bh = box
    m = BOX_MARGIN
    return (
        b[0] >= (x - m) * w
        and b[1] >= (y - m) * h
        and b[2] <= (x + bw + m) * w
        and b[3] <= (y + bh + m) * h
    )


def assign_layers(scene: Scene, layers: list[Layer]) -> list[str]:
    """Per shape group, the layer it is written under: its own object while it stays inside
    (or near) that object's box, else the first object whose box holds it, else the background."""
    out = []
    by_id = {layer.id: layer for layer in layers}
    w, h = scene.canvas_width, scene.canvas_height
    for group in scene.shape_groups:
        own = by_id.get(group.id.rsplit(".", 1)[0])
        if own is not None and own.box is None:  # traced into the background on purpose
            out.append(own.id)
            continue
        b = [bounds(scene.shapes[s]) for s in group.shape_ids]
        box = (
            min(v[0] for v in b),
            min(v[1] for v in b),
            max(v[2] for v in b),
            max(v[3] for v in b),
        )
        candidates = [own, *layers] if own is not None else layers
        home = next(
            (c for c in candidates if c.box is not None and _inside(box, c.box, w, h)), None
        )
        out.append(home.id if home is not None else BACKGROUND)
    return out


def write_svg(scene: Scene, layers: list[Layer]) -> str:
    """Layered SVG: ``<g id=background>`` (the gradient and strays), then one ``<g>`` per object
    with its id and caption (``aria-label``) holding its primitives' paths; sanitised."""
    flat = parse_svg(to_svg(scene))  # one <g><path/></g> per shape group, in paint order
    homes = dict(zip((g.id for g in scene.shape_groups), assign_layers(scene, layers), strict=True))
    root = ET.Element(flat.tag, flat.attrib)
    nested = {}
    for layer in layers:
        nested[layer.id] = ET.Element(f"{{{SVG_NS}}}g", {"id": layer.id, "aria-label": layer.label})
    for child in flat:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "defs":
            root.append(child)
        elif child.get("id") == BACKGROUND:
            child.set("id", "background-fill")
            nested[BACKGROUND].append(child)
        elif tag == "g":
            paths = list(child)
            paths[0].set("id", child.get("id"))
            nested[homes.get(child.get("id"), BACKGROUND)].extend(paths)
    for layer in layers:
        if len(nested[layer.id]) or layer.id == BACKGROUND:
            root.append(nested[layer.id])
    return sanitize_svg(ET.tostring(root, encoding="unicode"))
