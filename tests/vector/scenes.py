"""Seeded test scenes that exercise every feature of the rasteriser, and an independent render."""

from __future__ import annotations

import io
import math

import numpy as np
import resvg_py
import torch
from PIL import Image

from scenecraft.vector import Circle, Ellipse, Path, Polygon, Rect, Scene, ShapeGroup
from scenecraft.vector.initialise import blob_path
from scenecraft.vector.svg_write import to_svg


def star(center: tuple[float, float], outer: float, inner: float, points: int = 5) -> Polygon:
    angles = np.arange(2 * points) * math.pi / points - math.pi / 2
    r = np.where(np.arange(2 * points) % 2 == 0, outer, inner)
    pts = np.stack([center[0] + r * np.cos(angles), center[1] + r * np.sin(angles)], -1)
    return Polygon(torch.tensor(pts, dtype=torch.float32))


def _color(rng: np.random.Generator, alpha: bool) -> torch.Tensor:
    a = rng.choice([1.0, rng.uniform(0.3, 0.9)]) if alpha else 1.0
    return torch.tensor([*rng.uniform(0, 1, 3), a], dtype=torch.float32)


def random_scene(seed: int, size: int = 256) -> Scene:
    """4-10 groups of mixed shapes: overlaps, opacity, strokes, even-odd holes, open paths."""
    rng = np.random.default_rng(seed)
    shapes, groups = [], []
    for _ in range(rng.integers(4, 11)):
        kind = rng.choice(["rect", "circle", "ellipse", "star", "blob", "quad", "open", "hole"])
        c = tuple(rng.uniform(0.15, 0.85, 2) * size)
        r = float(rng.uniform(0.06, 0.25) * size)
        first = len(shapes)
        if kind == "rect":
            shapes.append(Rect([c[0] - r, c[1] - r * 0.6], [c[0] + r, c[1] + r * 0.6]))
        elif kind == "circle":
            shapes.append(Circle(r, list(c)))
        elif kind == "ellipse":
            shapes.append(Ellipse([r, r * rng.uniform(0.3, 0.9)], list(c)))
        elif kind == "star":
            shapes.append(star(c, r, r * 0.45))
        elif kind == "blob":
            shapes.append(blob_path(c, r, rng))
        elif kind == "quad":  # quadratic segments mixed with a line
            pts = [[c[0] - r, c[1]], [c[0], c[1] - 2 * r], [c[0] + r, c[1]], [c[0], c[1] + r]]
            shapes.append(Path([1, 0, 0], pts, True))
        elif kind == "open":  # an open cubic, filled as if closed
            pts = [
                [c[0] - r, c[1] + r],
                [c[0] - r, c[1] - r],
                [c[0] + r, c[1] - r],
                [c[0] + r, c[1] + r],
            ]
            shapes.append(Path([2], pts, False))
        else:  # even-odd hole: an outer and an inner blob in one group
            shapes.append(blob_path(c, r, rng))
            shapes.append(Circle(r * 0.35, list(c)))
        stroke = rng.uniform() < 0.35 or kind == "open"
        width = float(rng.uniform(1.0, 6.0))
        for s in shapes[first:]:
            s.stroke_width = torch.tensor(width)
        fill = None if (stroke and rng.uniform() < 0.3) else _color(rng, True)
        groups.append(
            ShapeGroup(
                list(range(first, len(shapes))),
                fill,
                use_even_odd_rule=kind == "hole" or bool(rng.uniform() < 0.5),
                stroke_color=_color(rng, True) if stroke else None,
            )
        )
    background = torch.tensor([*rng.uniform(0.6, 1.0, 3), 1.0], dtype=torch.float32)
    return Scene(size, size, shapes, groups, background)


def resvg_render(svg: str) -> np.ndarray:
    """[H, W, 4] float straight RGBA from resvg (Rust), the independent reference."""
    png = resvg_py.svg_to_bytes(svg_string=svg)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), dtype=np.float32) / 255


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, dtype=np.float64) - b) ** 2))
    return 10 * math.log10(1 / max(mse, 1e-12))


__all__ = ["psnr", "random_scene", "resvg_render", "star", "to_svg"]
