"""Strokes cover exactly the points within half a width of their path (round joins and caps),
and arcs are read as close cubics: what the fit optimises is what the SVG means."""

import numpy as np
import torch

from scenecraft.vector import Circle, Path, Scene, ShapeGroup, render
from scenecraft.vector.svg_path import parse_path

from .scenes import psnr

BLACK = torch.tensor([0.0, 0.0, 0.0, 1.0])
SUPER = 16  # samples per pixel side for the exact coverage the tests compare with


def _supersampled(inside, size: int) -> np.ndarray:
    """Box-filtered coverage [size, size] of the set where ``inside(x, y)`` holds."""
    ys, xs = (np.mgrid[: size * SUPER, : size * SUPER] + 0.5) / SUPER
    return inside(xs, ys).reshape(size, SUPER, size, SUPER).mean((1, 3))


def _near_polyline(points: np.ndarray, half: float):
    """Points within ``half`` of a polyline: a round-joined, round-capped stroke."""

    def inside(xs, ys):
        near = np.zeros(xs.shape, dtype=bool)
        for p, q in zip(points[:-1], points[1:], strict=True):
            d = q - p
            t = np.clip(((xs - p[0]) * d[0] + (ys - p[1]) * d[1]) / (d @ d), 0, 1)
            near |= np.hypot(xs - p[0] - t * d[0], ys - p[1] - t * d[1]) <= half
        return near

    return inside


def _alpha(scene: Scene) -> np.ndarray:
    return render(scene).detach().numpy()[..., 3]


def test_a_stroked_circle_covers_exactly_its_ring():
    # every segment joint once added a disc whose edge overlapped the quads' at the stroke's
    # edge, where the nonzero rule counts both: the ring came out 0.4 too dark there
    ring = Circle(torch.tensor(20.3), torch.tensor([32.3, 31.7]), torch.tensor(3.0))
    alpha = _alpha(Scene(64, 64, [ring], [ShapeGroup([0], None, stroke_color=BLACK)]))
    exact = _supersampled(lambda x, y: np.abs(np.hypot(x - 32.3, y - 31.7) - 20.3) <= 1.5, 64)
    assert psnr(alpha, exact) >= 45


def test_sharp_turns_and_open_ends_are_round_and_not_overdrawn():
    points = np.array([[8.2, 50.1], [20.4, 12.3], [33.1, 52.2], [55.7, 30.6], [40.2, 20.1]])
    line = Path([0] * 4, torch.tensor(points, dtype=torch.float32), False, torch.tensor(4.0))
    alpha = _alpha(Scene(64, 64, [line], [ShapeGroup([0], None, stroke_color=BLACK)]))
    assert psnr(alpha, _supersampled(_near_polyline(points, 2.0), 64)) >= 38


def test_arcs_are_read_as_close_cubics():
    sub = parse_path("M110.4 63.7A46.1 46.1 0 1 1 18.2 63.7A46.1 46.1 0 1 1 110.4 63.7Z")[0]
    pts = np.asarray(sub.points)  # on-curve points and controls, 4 cubics of 90 degrees
    mids = []  # each cubic's middle, where it strays most
    for k in range(4):
        p0, c1, c2, p3 = pts[3 * k], pts[3 * k + 1], pts[3 * k + 2], pts[(3 * k + 3) % 12]
        mids.append(0.125 * p0 + 0.375 * c1 + 0.375 * c2 + 0.125 * p3)
    radii = np.hypot(*(np.asarray(mids) - [64.3, 63.7]).T)
    assert np.abs(radii - 46.1).max() < 46.1 * 3e-4  # svgelements' own conversion: 2e-3
