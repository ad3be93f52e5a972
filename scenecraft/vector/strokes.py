"""Line art as strokes: a region drawn with lines becomes stroked paths along its skeleton.

A thin ring written as a fill needs its outer and its inner outline (and, layered, a path on top
to repaint its hole); as a stroke it needs its centre line and one width, about half the path
data. ``line_art`` skeletonises a region (scikit-image), traces the skeleton into polylines
(``trace``), fits cubics to them, and reads each line's width from the distance transform; lines
of about one width share one group, so one ``<path>`` draws them. ``regions.line_art_start``
builds a start with the regions that are better drawn so; the ``vectorize`` pipeline fits it
beside the filled start and keeps it only where it writes fewer bytes that draw as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage
from skimage.morphology import skeletonize
from torch import Tensor

from scenecraft.vector.scene import Path

Pixel = tuple[int, int]  # (row, col)
_AROUND = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
WIDTH_SPREAD = 1.35  # lines within this ratio of widths share one group (one stroke width)


@dataclass
class Lines:
    """Stroked lines of one colour and one width: the paths of one group."""

    paths: list[Path]
    width: float
    color: Tensor  # [4] straight RGBA


def _graph(skeleton: np.ndarray) -> dict[Pixel, list[Pixel]]:
    """Skeleton pixels -> their neighbours: 8-connected, except a diagonal step between two
    pixels that a 4-connected pixel joins too (a staircase is then a chain, not triangles)."""
    on = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton), strict=True)}
    graph: dict[Pixel, list[Pixel]] = {}
    for r, c in on:
        near = []
        for dy, dx in _AROUND:
            q = (r + dy, c + dx)
            if q not in on:
                continue
            if dy and dx and ((r + dy, c) in on or (r, c + dx) in on):
                continue
            near.append(q)
        graph[(r, c)] = near
    return graph


def trace(skeleton: np.ndarray) -> list[tuple[list[Pixel], bool]]:
    """Skeleton [H, W] bool -> [(pixels from one end to the other, closed)]: a line between two
    ends or junctions each, a closed line per loop without junctions, an isolated pixel alone."""
    graph = _graph(skeleton)
    used: set[tuple[Pixel, Pixel]] = set()
    lines: list[tuple[list[Pixel], bool]] = []

    def walk(start: Pixel, step: Pixel) -> list[Pixel]:
        line, here = [start], step
        used.update({(start, step), (step, start)})
        while True:
            line.append(here)
            if len(graph[here]) != 2 or here == start:
                return line
            nxt = next((q for q in graph[here] if (here, q) not in used), None)
            if nxt is None:
                return line
            used.update({(here, nxt), (nxt, here)})
            here = nxt

    for p in sorted(graph):
        if not graph[p]:
            lines.append(([p], False))
        elif len(graph[p]) != 2:
            lines.extend((walk(p, q), False) for q in graph[p] if (p, q) not in used)
    for p in sorted(graph):  # what is left is loops
        for q in graph[p]:
            if (p, q) not in used:
                line = walk(p, q)
                closed = line[-1] == line[0]
                lines.append((line[:-1] if closed else line, closed))
    return lines


def _length(pixels: list[Pixel]) -> float:
    steps = np.diff(np.asarray(pixels, dtype=np.float64), axis=0)
    return float(np.linalg.norm(steps, axis=1).sum()) if len(pixels) > 1 else 0.0


def line_art(
    mask: np.ndarray, target: np.ndarray, tolerance: float = 0.5, min_elongation: float = 6.0
) -> list[Lines] | None:
    """A region's mask [H, W] -> its lines as strokes, grouped by width, or None when the region
    is not drawn with lines (its area is under ``min_elongation`` squared widths: it is not
    that many widths long). Lines are fitted within ``tolerance`` px of the skeleton.

    Widths are twice the distance from the skeleton to the region's edge (median per line, less
    half a pixel: the skeleton sits between pixel centres as often as on them); colours are the
    target's [H, W, 3] mean on the skeleton, where a line covers its pixels most fully. Spurs
    shorter than a width, which thinning leaves at corners and ends, are dropped.
    """
    from scenecraft.vector.regions import fit_polyline

    skeleton = skeletonize(mask)
    if not skeleton.any():
        return None
    depth = ndimage.distance_transform_edt(mask)  # [H, W] distance to the nearest outside pixel
    graph_degree = {p: len(n) for p, n in _graph(skeleton).items()}
    traced = []
    for pixels, closed in trace(skeleton):
        rows, cols = np.asarray(pixels).T
        width = max(0.5, 2 * float(np.median(depth[rows, cols])) - 0.5)
        ends = [graph_degree[pixels[0]], graph_degree[pixels[-1]]]
        spur = not closed and len(pixels) > 1 and min(ends) == 1 and max(ends) > 2
        joint = not closed and min(ends) > 2
        if (spur and _length(pixels) < width) or (joint and _length(pixels) < width / 2):
            continue
        traced.append((pixels, closed, width))
    if not traced:
        return None
    median_width = float(np.median([w for _, _, w in traced]))
    if mask.sum() < min_elongation * median_width**2:  # a line's area is its length x width
        return None
    groups: list[list[tuple[list[Pixel], bool, float]]] = []
    for item in sorted(traced, key=lambda t: t[2]):
        if groups and item[2] <= WIDTH_SPREAD * groups[-1][0][2]:
            groups[-1].append(item)
        else:
            groups.append([item])
    out = []
    for group in groups:
        lengths = np.array([max(_length(p), 1.0) for p, _, _ in group])
        width = float(np.average([w for _, _, w in group], weights=lengths))
        paths = []
        for pixels, closed, _ in group:
            xy = np.asarray(pixels, dtype=np.float64)[:, ::-1] + 0.5  # (row, col) -> (x, y)
            if (path := fit_polyline(xy, closed, tolerance)) is not None:
                paths.append(path)
        on = np.concatenate([np.asarray(p) for p, _, _ in group])
        color = torch.cat(
            [torch.from_numpy(target[on[:, 0], on[:, 1]].mean(0)).float(), torch.ones(1)]
        )
        out.append(Lines(paths, width, color))
    return out
