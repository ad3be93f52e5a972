"""Vector graphics: a differentiable rasteriser, safe SVG in and out, image losses, SVG fitting."""

from scenecraft.vector.render import render, resolve_backend
from scenecraft.vector.scene import Circle, Ellipse, Path, Polygon, Rect, Scene, ShapeGroup

__all__ = [
    "Circle",
    "Ellipse",
    "Path",
    "Polygon",
    "Rect",
    "Scene",
    "ShapeGroup",
    "render",
    "resolve_backend",
]
