"""Gradient descent through the rasteriser turns a small circle into a square or a star."""

import math

import pytest
import torch

from scenecraft.vector import Path, Rect, Scene, ShapeGroup, render

from .scenes import star

SIZE = 64
BLACK = torch.tensor([0.0, 0.0, 0.0, 1.0])


def _coverage(shape) -> torch.Tensor:
    return render(Scene(SIZE, SIZE, [shape], [ShapeGroup([0], BLACK)]), backend="torch")[..., 3]


def _small_circle(segments: int = 16, radius: float = 5.0) -> torch.Tensor:
    angle = torch.arange(3 * segments) * 2 * math.pi / (3 * segments)
    return torch.stack([32 + radius * angle.cos(), 32 + radius * angle.sin()], -1)


@pytest.mark.parametrize(
    "target_shape",
    [Rect([16.0, 16.0], [48.0, 48.0]), star((32.0, 33.0), 26.0, 11.0)],
    ids=["square", "star"],
)
def test_small_circle_is_optimised_into_target_mask(target_shape):
    target = _coverage(target_shape).detach()
    points = _small_circle().requires_grad_(True)
    optimiser = torch.optim.Adam([points], lr=0.5)
    for _ in range(250):
        coverage = _coverage(Path(torch.full((16,), 2), points, is_closed=True))
        loss = ((coverage - target) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    ours, theirs = coverage.detach() > 0.5, target > 0.5
    iou = (ours & theirs).sum() / (ours | theirs).sum()
    assert iou >= 0.95
