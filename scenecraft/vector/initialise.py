"""Starting scenes for SVG fitting: painterly random blobs and strokes, a grid of primitives, masks.

Colours are read from the target where one is given (the mean colour under each shape's start),
which gives the optimiser a head start over random colours.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.measure import approximate_polygon, find_contours
from torch import Tensor

from scenecraft.vector.scene import LinearGradient, Path, Scene, ShapeGroup


def _sample_color(target: Tensor | None, x: float, y: float, rng: np.random.Generator) -> Tensor:
    """target [H, W, 3] in [0, 1] -> RGBA at (x, y), or a random colour when there is none."""
    if target is None:
        return torch.tensor([*rng.uniform(0, 1, 3), rng.uniform(0.5, 1.0)], dtype=torch.float32)
    h, w = target.shape[:2]
    px = target[min(max(int(y), 0), h - 1), min(max(int(x), 0), w - 1)]
    return torch.cat([px.float().cpu(), torch.ones(1)])


def blob_path(center: tuple[float, float], radius: float, rng: np.random.Generator) -> Path:
    """A closed path of 4 cubics (12 points at sorted random angles, radii 60-100 % of radius)."""
    angles = np.sort(rng.uniform(0, 2 * math.pi, 12))
    r = radius * rng.uniform(0.6, 1.0, 12)
    pts = np.stack([center[0] + r * np.cos(angles), center[1] + r * np.sin(angles)], -1)
    return Path(torch.full((4,), 2), torch.tensor(pts, dtype=torch.float32), is_closed=True)


def random_blobs(
    n: int,
    width: int,
    height: int,
    seed: int = 0,
    radius: tuple[float, float] = (10.0, 40.0),
    target: Tensor | None = None,
) -> Scene:
    """n closed cubic blobs at random places, radii in ``radius`` px, on a white canvas."""
    rng = np.random.default_rng(seed)
    shapes, groups = [], []
    for i in range(n):
        c = (rng.uniform(0, width), rng.uniform(0, height))
        shapes.append(blob_path(c, rng.uniform(*radius), rng))
        groups.append(ShapeGroup([i], _sample_color(target, *c, rng), id=f"blob-{i}"))
    return Scene(width, height, shapes, groups, torch.ones(4))


def random_strokes(
    n: int,
    width: int,
    height: int,
    seed: int = 0,
    stroke_width: float = 3.0,
    target: Tensor | None = None,
) -> Scene:
    """n open cubic strokes (diffvg's painterly start): short random walks of control points."""
    rng = np.random.default_rng(seed)
    shapes, groups = [], []
    reach = 0.05 * max(width, height)
    for i in range(n):
        start = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        pts = start + np.cumsum(rng.uniform(-reach, reach, (4, 2)), 0) - rng.uniform(-1, 1, 2)
        shapes.append(Path([2], torch.tensor(pts, dtype=torch.float32), False, stroke_width))
        groups.append(
            ShapeGroup([i], None, False, _sample_color(target, *start, rng), id=f"stroke-{i}")
        )
    return Scene(width, height, shapes, groups, torch.ones(4))


def grid(
    rows: int, cols: int, width: int, height: int, target: Tensor | None = None, seed: int = 0
) -> Scene:
    """rows x cols discs (closed 4-cubic paths, so they can bend) centred on a grid's cells.

    Each disc overlaps its neighbours a little: abutting tiles would share every edge, and an
    edge that two shapes pull in opposite directions barely moves.
    """
    rng = np.random.default_rng(seed)
    shapes, groups = [], []
    cw, ch = width / cols, height / rows
    radius = 0.6 * max(cw, ch)
    angles = np.arange(12) * np.pi / 6
    ring = np.stack([np.cos(angles), np.sin(angles)], -1)  # [12, 2], 3 points per quarter
    for r in range(rows):
        for c in range(cols):
            cx, cy = (c + 0.5) * cw, (r + 0.5) * ch
            pts = np.array([cx, cy]) + radius * ring
            shapes.append(Path(torch.full((4,), 2), torch.tensor(pts, dtype=torch.float32)))
            color = _sample_color(target, cx, cy, rng)
            groups.append(ShapeGroup([len(shapes) - 1], color, id=f"cell-{r}-{c}"))
    return Scene(width, height, shapes, groups, torch.ones(4))


def polygon_as_cubics(corners: np.ndarray) -> Path:
    """Closed polygon [K, 2] -> a path of K straight cubics (controls at 1/3 and 2/3)."""
    nxt = np.roll(corners, -1, 0)
    pts = np.stack([corners, corners + (nxt - corners) / 3, corners + 2 * (nxt - corners) / 3], 1)
    return Path(
        torch.full((len(corners),), 2), torch.tensor(pts.reshape(-1, 2), dtype=torch.float32)
    )


def mask_contours(mask: np.ndarray, tolerance: float = 0.75) -> list[np.ndarray]:
    """Boolean mask [H, W] -> closed outlines [K, 2] (x, y) in pixel-edge coordinates.

    Contours trace the 0.5 level of the mask padded by one pixel, i.e. the pixel boundaries
    (corners cut diagonally); ``tolerance`` (px) simplifies them (Douglas-Peucker).
    """
    padded = np.pad(mask.astype(np.float32), 1)
    out = []
    for contour in find_contours(padded, 0.5):
        simple = approximate_polygon(contour, tolerance)[:-1]  # [K, 2] (row, col), open
        if len(simple) >= 3:
            out.append(simple[:, ::-1] - 0.5)  # (row, col) -> (x, y); undo the padding
    return out


def from_masks(
    masks: np.ndarray, target: Tensor, largest_only: bool = True, tolerance: float = 0.75
) -> Scene:
    """Instance masks [H, W] (0 = background, k = object k, painted in k order) -> one group per
    object, one closed cubic path per contour (only the largest when ``largest_only``); fill =
    the object's mean colour; background = a vertical gradient fitted where the mask is 0."""
    h, w = masks.shape
    shapes, groups = [], []
    tgt = target.float().cpu()
    for k in sorted(int(v) for v in np.unique(masks) if v != 0):
        mask = masks == k
        contours = mask_contours(mask, tolerance)
        if not contours:
            continue
        if largest_only:
            contours = [max(contours, key=polygon_area)]
        first = len(shapes)
        shapes.extend(polygon_as_cubics(c) for c in contours)
        color = torch.cat([tgt[torch.from_numpy(mask)].mean(0), torch.ones(1)])
        groups.append(ShapeGroup(list(range(first, len(shapes))), color, True, id=f"object-{k}"))
    return Scene(w, h, shapes, groups, vertical_gradient(tgt, torch.from_numpy(masks == 0)))


def vertical_gradient(target: Tensor, where: Tensor) -> LinearGradient:
    """Least-squares top-to-bottom gradient through the target's pixels ``where`` [H, W] is true
    (flat when the target's background is flat; white when there are no such pixels)."""
    h, w = where.shape
    ys = (torch.arange(h, dtype=torch.float64) + 0.5) / h  # gradient parameter at pixel centres
    t = ys[:, None].expand(h, w)[where]  # [N]
    colors = target[where].double()  # [N, 3]
    if len(t) < 2 or float(t.std()) == 0:
        flat = colors.mean(0) if len(t) else torch.ones(3, dtype=torch.float64)
        top = bottom = flat
    else:
        design = torch.stack([1 - t, t], -1)  # colour = top * (1 - t) + bottom * t
        top, bottom = torch.linalg.lstsq(design, colors).solution
    stops = torch.stack([top, bottom]).clamp(0, 1).float()
    stops = torch.cat([stops, torch.ones(2, 1)], -1)
    return LinearGradient([0.0, 0.0], [0.0, float(h)], [0.0, 1.0], stops)


def polygon_area(poly: np.ndarray) -> float:
    """Area of a closed polygon [K, 2] (shoelace)."""
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
