"""Render a scenecraft scene with pydiffvg (BachiLi/diffvg), for users who have built it.

Translates the conventions: scenecraft stroke widths are full widths (diffvg's are half-widths),
and diffvg's RGB carries edge coverage premultiplied, so it is divided back out to return the
same straight-alpha RGBA as the PyTorch rasteriser. Not exercised here: no wheel exists.
"""

from __future__ import annotations

import importlib.util

import torch
from torch import Tensor

from scenecraft.vector.scene import Circle, Ellipse, Path, Polygon, Rect, Scene


def available() -> bool:
    return importlib.util.find_spec("pydiffvg") is not None


def render_diffvg(scene: Scene, width: int, height: int, num_samples: int, seed: int) -> Tensor:
    """[H, W, 4] straight RGBA rendered by pydiffvg with num_samples² samples per pixel."""
    import pydiffvg

    sx, sy = width / scene.canvas_width, height / scene.canvas_height
    scale = torch.tensor([sx, sy])
    shapes = []
    for shape in scene.shapes:
        half = shape.stroke_width * (sx * sy) ** 0.5 / 2
        if isinstance(shape, Path):
            shapes.append(
                pydiffvg.Path(
                    num_control_points=shape.num_control_points.int(),
                    points=shape.points * scale,
                    is_closed=shape.is_closed,
                    stroke_width=half,
                )
            )
        elif isinstance(shape, Circle):
            shapes.append(pydiffvg.Circle(shape.radius * sx, shape.center * scale, half))
        elif isinstance(shape, Ellipse):
            shapes.append(pydiffvg.Ellipse(shape.radius * scale, shape.center * scale, half))
        elif isinstance(shape, Rect):
            shapes.append(pydiffvg.Rect(shape.p_min * scale, shape.p_max * scale, half))
        elif isinstance(shape, Polygon):
            shapes.append(pydiffvg.Polygon(shape.points * scale, shape.is_closed, half))
    groups = [
        pydiffvg.ShapeGroup(
            shape_ids=torch.tensor(g.shape_ids, dtype=torch.int32),
            fill_color=g.fill_color,
            use_even_odd_rule=g.use_even_odd_rule,
            stroke_color=g.stroke_color,
            shape_to_canvas=g.shape_to_canvas if g.shape_to_canvas is not None else torch.eye(3),
        )
        for g in scene.shape_groups
    ]
    background = None
    if scene.background is not None:
        background = scene.background.expand(height, width, 4).contiguous()
    args = pydiffvg.RenderFunction.serialize_scene(width, height, shapes, groups)
    out = pydiffvg.RenderFunction.apply(
        width, height, num_samples, num_samples, seed, background, *args
    )
    alpha = out[..., 3:]
    rgb = torch.where(alpha > 0, out[..., :3] / alpha.clamp(min=1e-12), 0.0)
    return torch.cat([rgb, alpha], -1)
