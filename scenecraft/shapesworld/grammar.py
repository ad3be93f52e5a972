"""The vocabulary of ShapesWorld: shapes, colours, sizes, relations, and their geometry."""

from __future__ import annotations

import math

import numpy as np

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "hexagon", "heart")

# Saturated, well-separated hues so a detector can name them after blur, noise and colour drift;
# every background is a light neutral, so "has chroma" means "is an object".
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (215, 38, 38),
    "orange": (245, 135, 20),
    "yellow": (235, 205, 25),
    "green": (40, 165, 60),
    "cyan": (20, 190, 205),
    "blue": (35, 75, 215),
    "purple": (135, 55, 190),
    "pink": (240, 110, 190),
}

# Circumradius of each size as a fraction of the canvas side.
SIZES: dict[str, float] = {"small": 0.075, "medium": 0.1, "large": 0.13}

# Light neutral backgrounds (top, bottom of a vertical gradient are drawn from these).
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255),
    "light gray": (232, 232, 232),
    "cream": (246, 240, 226),
    "pale blue": (229, 236, 244),
}

RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below")

# A shape looks the same after a rotation by its period (0: not rotated at all).
ROTATION_PERIOD: dict[str, float] = {
    "circle": 0.0,
    "square": 90.0,
    "triangle": 120.0,
    "star": 72.0,
    "hexagon": 60.0,
    "heart": 0.0,
}

NUMBER_WORDS: dict[int, str] = {
    0: "no",
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
}


def plural(shape: str) -> str:
    return shape + "es" if shape.endswith(("s", "x", "sh", "ch")) else shape + "s"


def _regular_polygon(n: int, radius: float, phase: float) -> np.ndarray:
    angles = phase + np.arange(n) * 2 * math.pi / n
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def star_outline(points: int = 5, outer: float = 1.0, inner: float = 0.45) -> np.ndarray:
    angles = -math.pi / 2 + np.arange(2 * points) * math.pi / points
    radii = np.where(np.arange(2 * points) % 2 == 0, outer, inner)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


# Heart as closed cubic Bezier segments in a unit frame (y down): start point, then per segment
# (control1, control2, end). Exact in SVG, flattened for rasters.
HEART_START = np.array([0.0, 0.92])
HEART_SEGMENTS = np.array(
    [
        [[-0.25, 0.68], [-1.0, 0.3], [-1.0, -0.22]],
        [[-1.0, -0.78], [-0.32, -0.98], [0.0, -0.5]],
        [[0.32, -0.98], [1.0, -0.78], [1.0, -0.22]],
        [[1.0, 0.3], [0.25, 0.68], [0.0, 0.92]],
    ]
)


def heart_polyline(samples_per_segment: int = 48) -> np.ndarray:
    pts = [HEART_START]
    p0 = HEART_START
    t = np.linspace(0, 1, samples_per_segment + 1)[1:, None]
    for c1, c2, p3 in HEART_SEGMENTS:
        pts.append(
            (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t**2 * c2 + t**3 * p3
        )
        p0 = p3
    return np.concatenate([p[None] if p.ndim == 1 else p for p in pts])[:-1]


def unit_outline(shape: str, circle_vertices: int = 96) -> np.ndarray:
    """Outline polygon of a shape with circumradius about 1, centred on the origin (y down)."""
    if shape == "circle":
        return _regular_polygon(circle_vertices, 1.0, 0.0)
    if shape == "square":
        return _regular_polygon(4, 1.0, math.pi / 4)
    if shape == "triangle":
        # pointing up; centroid at the origin, a little larger so its area reads as "same size"
        return _regular_polygon(3, 1.1, -math.pi / 2)
    if shape == "star":
        return star_outline()
    if shape == "hexagon":
        return _regular_polygon(6, 1.0, 0.0)
    if shape == "heart":
        return heart_polyline()
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def transform(
    points: np.ndarray, cx: float, cy: float, r: float, rotation_deg: float
) -> np.ndarray:
    """Scale unit-frame points by ``r``, rotate (degrees, clockwise on screen), move to (cx, cy)."""
    a = math.radians(rotation_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return points @ rot.T * r + np.array([cx, cy])
