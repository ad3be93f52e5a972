"""Shapes -> cubic Bézier segments -> straight edges, for fills and for round-joined strokes.

Everything a scene holds becomes cubic segments (lines and quadratics are degree-elevated, which
is exact; circles and ellipses are four kappa arcs, radial error 0.03 %). Cubics are flattened
into chords fine enough that the chord is within ``FLATNESS`` px of the curve. Stroke outlines
are unions of positively oriented polygons (a quad per chord, a wedge at each chord joint, a disc
at every segment end), which the nonzero rule fills as the set of points within half a width of
the curve: a round-joined, round-capped stroke.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from einops import rearrange
from torch import Tensor

from scenecraft.vector.scene import Circle, Ellipse, Path, Polygon, Rect, Shape

FLATNESS = 0.02  # px: largest distance between a chord and the curve it replaces
MAX_SUBDIVISIONS = 256
_KAPPA = 0.5522847498

# Degree elevation to a cubic, indexed by num_control_points; columns pick source points
# (on-curve start, controls..., on-curve end) gathered with _path_source_index.
_ELEVATE = torch.tensor(
    [
        [[1, 0, 0, 0], [2 / 3, 1 / 3, 0, 0], [1 / 3, 2 / 3, 0, 0], [0, 1, 0, 0]],
        [[1, 0, 0, 0], [1 / 3, 2 / 3, 0, 0], [0, 2 / 3, 1 / 3, 0], [0, 0, 1, 0]],
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
    ]
)
# A unit circle as four cubic arcs, starting at angle 0 and turning towards +y.
_UNIT_CIRCLE = torch.tensor(
    [
        [[1, 0], [1, _KAPPA], [_KAPPA, 1], [0, 1]],
        [[0, 1], [-_KAPPA, 1], [-1, _KAPPA], [-1, 0]],
        [[-1, 0], [-1, -_KAPPA], [-_KAPPA, -1], [0, -1]],
        [[0, -1], [_KAPPA, -1], [1, -_KAPPA], [1, 0]],
    ]
)


def _path_source_index(ncp: np.ndarray, num_points: int, is_closed: bool) -> np.ndarray:
    """[S, 4] indices into a path's points: start, controls, end (repeated to fill 4 slots)."""
    starts = np.cumsum(ncp + 1) - (ncp + 1)
    last = starts + ncp + 1  # index of each segment's end point
    idx = np.minimum(starts[:, None] + np.arange(4)[None], last[:, None])
    return idx % num_points if is_closed else idx


def _lines(points: Tensor, closed: bool) -> Tensor:
    """Polyline [P, 2] -> [S, 4, 2] cubic control points of its straight sides."""
    ends = torch.roll(points, -1, 0) if closed else points[1:]
    starts = points if closed else points[:-1]
    t = torch.tensor([0, 1 / 3, 2 / 3, 1], dtype=points.dtype, device=points.device)[None, :, None]
    return starts[:, None] + t * (ends - starts)[:, None]


def shape_segments(shape: Shape) -> tuple[Tensor, bool]:
    """One shape -> ([S, 4, 2] cubic control points, is_closed)."""
    if isinstance(shape, Path):
        ncp = shape.num_control_points.cpu().numpy()
        idx = _path_source_index(ncp, len(shape.points), shape.is_closed)
        idx = torch.from_numpy(idx).to(shape.points.device)
        weights = _ELEVATE.to(shape.points)[torch.from_numpy(ncp).to(shape.points.device)]
        return torch.einsum("sij,sjd->sid", weights, shape.points[idx]), shape.is_closed
    if isinstance(shape, Circle):
        unit = _UNIT_CIRCLE.to(shape.center)
        return shape.center + shape.radius * unit, True
    if isinstance(shape, Ellipse):
        unit = _UNIT_CIRCLE.to(shape.center)
        return shape.center + shape.radius * unit, True
    if isinstance(shape, Rect):
        (x0, y0), (x1, y1) = shape.p_min, shape.p_max
        corners = torch.stack(
            [
                torch.stack([x0, y0]),
                torch.stack([x1, y0]),
                torch.stack([x1, y1]),
                torch.stack([x0, y1]),
            ]
        )
        return _lines(corners, closed=True), True
    if isinstance(shape, Polygon):
        return _lines(shape.points, shape.is_closed), shape.is_closed
    raise TypeError(f"not a scenecraft.vector shape: {type(shape).__name__}")


def subdivisions(ctrl: Tensor) -> Tensor:
    """[S, 4, 2] -> [S] chords per cubic so each chord is within FLATNESS of the curve.

    Uniform subdivision of a cubic into n chords errs by at most 3/4 * M / n², where M is the
    larger second difference of its control points.
    """
    c = ctrl.detach()
    second = torch.maximum(
        (c[:, 0] - 2 * c[:, 1] + c[:, 2]).norm(dim=-1),
        (c[:, 1] - 2 * c[:, 2] + c[:, 3]).norm(dim=-1),
    )
    n = torch.ceil(torch.sqrt(0.75 * second / FLATNESS))
    return n.clamp(1, MAX_SUBDIVISIONS).long()


def _bezier(ctrl: Tensor, t: Tensor) -> Tensor:
    """Evaluate cubics [N, 4, 2] at t [N] -> [N, 2]."""
    s = 1 - t
    w = torch.stack([s**3, 3 * s * s * t, 3 * s * t * t, t**3], dim=-1)  # [N, 4]
    return torch.einsum("nk,nkd->nd", w, ctrl)


def flatten(ctrl: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Cubics [S, 4, 2] -> chords: starts [C, 2], ends [C, 2], segment id [C], index in segment.

    Consecutive chords of one segment share end points exactly (same t, same arithmetic).
    """
    n = subdivisions(ctrl)
    seg = torch.repeat_interleave(torch.arange(len(ctrl), device=ctrl.device), n)  # [C]
    first = torch.cumsum(n, 0) - n
    r = torch.arange(len(seg), device=ctrl.device) - first[seg]  # chord index inside its segment
    nf = n[seg].to(ctrl.dtype)
    ts = torch.cat([r / nf, (r + 1) / nf])
    pts = _bezier(torch.cat([ctrl[seg], ctrl[seg]]), ts)
    a, b = pts.chunk(2)
    return a, b, seg, r


def _unit_normal(d: Tensor) -> Tensor:
    """Left normal of directions [N, 2]; zero (not NaN) for zero-length chords."""
    length = torch.sqrt((d * d).sum(-1, keepdim=True) + 1e-12)
    return torch.stack([-d[:, 1], d[:, 0]], dim=-1) / length


def _positive(tri: Tensor) -> Tensor:
    """Triangles [N, 3, 2] re-ordered so that every one has positive signed area."""
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    flip = (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) < 0
    swapped = tri[:, [0, 2, 1]]
    return torch.where(flip[:, None, None], swapped, tri)


def polygon_edges(poly: Tensor) -> tuple[Tensor, Tensor]:
    """Closed polygons [N, m, 2] -> edge starts and ends [N*m, 2]; edge k of polygon i is i*m+k."""
    return rearrange(poly, "n m d -> (n m) d"), rearrange(poly.roll(-1, 1), "n m d -> (n m) d")


def stroke_pieces(a: Tensor, b: Tensor, r: Tensor, half: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Quads around chords a->b [C, 2] and wedges at chord joints inside a segment.

    r [C] is each chord's index inside its segment, half [C] its half stroke width.
    Returns quads [C, 4, 2], wedges [W, 3, 2] and the chord each wedge belongs to [W].
    """
    normal = _unit_normal(b - a) * half[:, None]  # [C, 2]
    quads = torch.stack([a - normal, b - normal, b + normal, a + normal], dim=1)
    # the outer gap where chord c-1 meets chord c; the inner-side twin lies inside the quads
    inner = torch.nonzero(r > 0).squeeze(1)
    v, n0, n1 = a[inner], normal[inner - 1], normal[inner]
    wedges = torch.cat([torch.stack([v, v + n0, v + n1], 1), torch.stack([v, v - n0, v - n1], 1)])
    return quads, _positive(wedges), torch.cat([inner, inner])


def discs(centers: Tensor, radius: Tensor) -> Tensor:
    """Round joins and caps: centres [K, 2], radii [K] -> positively oriented polygons [K, m, 2]."""
    m = disc_sides(float(radius.detach().max())) if len(radius) else 8
    theta = torch.arange(m, dtype=centers.dtype, device=centers.device) * (2 * math.pi / m)
    unit = torch.stack([theta.cos(), theta.sin()], -1)  # [m, 2]
    return centers[:, None] + radius[:, None, None] * unit[None]


def disc_sides(radius: float) -> int:
    """Sides of a regular polygon within FLATNESS of a circle of this radius (8..128)."""
    if radius <= FLATNESS:
        return 8
    return int(min(128, max(8, math.ceil(math.pi / math.acos(1 - FLATNESS / radius)))))
