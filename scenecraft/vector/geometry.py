"""Shapes -> cubic Bézier segments -> straight edges, for fills and for round-joined strokes.

Everything a scene holds becomes cubic segments (lines and quadratics are degree-elevated, which
is exact; circles and ellipses are four kappa arcs, radial error 0.03 %). Cubics are flattened
into chords fine enough that the chord is within ``FLATNESS`` px of the curve. Stroke outlines
are unions of positively oriented polygons (a quad per chord, mitred to its neighbours where the
path turns gently, and round sectors at sharp turns and open ends), which the nonzero rule fills
as the set of points within half a width of the curve: a round-joined, round-capped stroke.
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
MITRE_TURN = math.radians(10)  # stroke joints turning less are mitred: no overlap, no gap
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


def _rotate(v: Tensor, angle: Tensor) -> Tensor:
    """Vectors [..., 2] turned by ``angle`` [...] (from +x towards +y)."""
    c, s = angle.cos(), angle.sin()
    return torch.stack([v[..., 0] * c - v[..., 1] * s, v[..., 0] * s + v[..., 1] * c], -1)


def _directions(d: Tensor, item: Tensor, start: Tensor, end: Tensor) -> Tensor:
    """Unit directions of chords d [C, 2]; a chord of no length takes its item's previous
    chord's direction, else the next one's, else +x (a dot)."""
    idx = torch.arange(len(d), device=d.device)
    length = torch.sqrt((d * d).sum(-1) + 1e-12)  # no NaN gradient at zero length
    valid = length.detach() > 1e-5
    before = torch.cummax(torch.where(valid, idx, -1), 0).values
    after = torch.cummin(torch.where(valid, idx, len(d)).flip(0), 0).values.flip(0)
    src = torch.where(before >= start, before, torch.where(after <= end, after, -1))
    unit = d / length[:, None]
    plus_x = torch.tensor([1.0, 0.0], dtype=d.dtype, device=d.device).expand_as(d)
    return torch.where((src >= 0)[:, None], unit[src.clamp(min=0)], plus_x)


def stroke_polygons(
    a: Tensor, b: Tensor, item: Tensor, closed: Tensor, half: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """A round-joined, round-capped stroke as positively oriented polygons that meet without
    overlapping at the stroke's edge (the nonzero rule's coverage is exact only where one edge
    crosses a pixel).

    a, b [C, 2]: chords in path order, ``item`` [C] (ascending) the stroked shape of each;
    ``closed`` [items] bool; ``half`` [items] half widths. Returns a quad per chord [C, 4, 2],
    whose ends are cut along the bisector where the path turns by at most ``MITRE_TURN`` (so
    neighbours share that edge) and square elsewhere; sectors [K, m, 2] that round the outside of
    every sharper turn and cap every open end; and the item of each sector [K].
    """
    count = len(a)
    idx = torch.arange(count, device=a.device)
    start = torch.searchsorted(item, item)  # first chord of each chord's item
    end = torch.searchsorted(item, item, right=True) - 1  # its last chord
    shut = closed[item]
    prev = torch.where(idx > start, idx - 1, torch.where(shut, end, -1))
    nxt = torch.where(idx < end, idx + 1, torch.where(shut, start, -1))
    u = _directions(b - a, item, start, end)  # [C, 2]
    n = torch.stack([-u[:, 1], u[:, 0]], -1)  # left normals
    h = half[item]  # [C]
    length = (b - a).detach().norm(dim=-1)

    # the joint where chord i starts, after chord prev[i]
    p = prev.clamp(min=0)
    cos = (u[p] * u).sum(-1)
    turn = torch.atan2(u[p, 0] * u[:, 1] - u[p, 1] * u[:, 0], cos)  # [C] signed
    reach = 2 * h * torch.tan(turn.abs().detach() / 2)  # how far a mitre cuts into a chord
    smooth = (prev >= 0) & (turn.abs() <= MITRE_TURN) & (length >= reach) & (length[p] >= reach)
    # n . mitre = n[p] . mitre = 1; the clamp only keeps the unused (sharp) ones finite
    mitre = (n[p] + n) / (1 + cos).clamp(min=0.5)[:, None]  # [C, 2]
    starts = torch.where(smooth[:, None], mitre, n)
    n_joint = nxt.clamp(min=0)
    ends = torch.where(((nxt >= 0) & smooth[n_joint])[:, None], mitre[n_joint], n)
    hs = h[:, None]
    quads = torch.stack([a - hs * starts, b - hs * ends, b + hs * ends, a + hs * starts], 1)

    sharp = torch.nonzero((prev >= 0) & ~smooth).squeeze(1)
    first = torch.nonzero(prev < 0).squeeze(1)
    last = torch.nonzero(nxt < 0).squeeze(1)
    pi = torch.full((), math.pi, dtype=a.dtype, device=a.device)
    centres = torch.cat([a[sharp], a[first], b[last]])
    outside = -torch.sign(turn[sharp])[:, None] * n[prev[sharp]]  # the outer side of the turn
    begin = torch.cat([outside, n[first], n[last]])
    sweep = torch.cat([turn[sharp], pi.expand(len(first)), -pi.expand(len(last))])
    owner = torch.cat([item[sharp], item[first], item[last]])
    radius = h[torch.cat([sharp, first, last])]
    m = max(2, math.ceil(disc_sides(float(radius.detach().max()) if len(radius) else 0) / 2))
    t = torch.linspace(0, 1, m + 1, dtype=a.dtype, device=a.device)  # [m + 1]
    arc = _rotate(begin[:, None], sweep[:, None] * t)  # [K, m + 1, 2]
    fan = torch.cat([centres[:, None], centres[:, None] + radius[:, None, None] * arc], 1)
    fan = torch.where((sweep < 0)[:, None, None], fan.flip(1), fan)
    return quads, fan, owner


def disc_sides(radius: float) -> int:
    """Sides of a regular polygon within FLATNESS of a circle of this radius (8..128)."""
    if radius <= FLATNESS:
        return 8
    return int(min(128, max(8, math.ceil(math.pi / math.acos(1 - FLATNESS / radius)))))
