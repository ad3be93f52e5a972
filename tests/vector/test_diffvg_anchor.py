"""Parity with diffvg itself: its render and gradients of one 64-path scene (tests/data/diffvg)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from scenecraft.vector import Path as VPath
from scenecraft.vector import Scene, ShapeGroup, render

from .scenes import psnr

NPZ = Path(__file__).resolve().parents[1] / "data" / "diffvg" / "scene64_256.npz"
TARGET_SEED = 4321  # scene64_256.json: the random target diffvg's loss was taken against


@pytest.fixture(scope="module")
def anchor():
    data = np.load(NPZ)
    points = torch.tensor(data["points"], requires_grad=True)  # [64, 12, 2]
    colors = torch.tensor(data["colors"], requires_grad=True)  # [64, 4] straight RGBA
    shapes = [VPath(torch.full((4,), 2), points[i], is_closed=True) for i in range(64)]
    groups = [ShapeGroup([i], colors[i], use_even_odd_rule=True) for i in range(64)]
    scene = Scene(256, 256, shapes, groups, background=torch.ones(4))
    image = render(scene, backend="torch")
    target = np.random.default_rng(TARGET_SEED).random((256, 256, 3)).astype(np.float32)
    loss = ((image[..., :3] - torch.tensor(target)) ** 2).mean()
    loss.backward()
    loss = loss.detach()
    return data, image.detach().numpy(), loss.item(), points.grad.numpy(), colors.grad.numpy()


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_render_matches_diffvg_16x16_reference(anchor):
    data, image, *_ = anchor
    assert psnr(image[..., :3], data["render_16x16"][..., :3]) >= 35.0


def test_loss_matches_diffvg(anchor):
    _, _, loss, *_ = anchor
    assert loss == pytest.approx(0.173297, rel=1e-3)


def test_gradients_point_the_same_way_as_diffvg(anchor):
    data, _, _, d_points, d_colors = anchor
    assert _cosine(d_colors, data["d_colors"]) >= 0.95
    assert _cosine(d_points, data["d_points"]) >= 0.8
