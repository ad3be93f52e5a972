"""Gradients of a render equal central finite differences of the same render."""

import pytest
import torch

from scenecraft.vector import render

from .scenes import random_scene

EPS = 1e-4  # px / colour units; float64 renders make this far above rounding noise


def _as_float64_leaves(scene):
    leaves = []
    for shape in scene.shapes:
        for name, value in list(vars(shape).items()):
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                setattr(shape, name, value.double().requires_grad_(True))
                leaves.append((name, getattr(shape, name)))
    for group in scene.shape_groups:
        for name in ("fill_color", "stroke_color"):
            if getattr(group, name) is not None:
                setattr(group, name, getattr(group, name).double().requires_grad_(True))
                leaves.append((name, getattr(group, name)))
    return leaves


@pytest.mark.parametrize("seed", range(4))
def test_directional_derivatives_match_finite_differences(seed):
    scene = random_scene(seed, size=48)
    leaves = _as_float64_leaves(scene)
    weights = torch.rand(48, 48, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def loss():
        return (render(scene, backend="torch") * weights).sum()

    loss().backward()
    gen = torch.Generator().manual_seed(seed)
    checked = 0
    for name, leaf in leaves:
        direction = torch.randn(leaf.shape, dtype=torch.float64, generator=gen)
        analytic = float((leaf.grad * direction).sum())
        with torch.no_grad():
            leaf += EPS * direction
            plus = float(loss())
            leaf -= 2 * EPS * direction
            minus = float(loss())
            leaf += EPS * direction
        numeric = (plus - minus) / (2 * EPS)
        if abs(numeric) < 1e-2:  # parameter of a hidden or off-canvas shape: nothing to compare
            continue
        checked += 1
        assert analytic == pytest.approx(numeric, rel=0.05), name
    assert checked >= 5


def test_gradient_reaches_points_colours_radius_and_stroke_width():
    scene = random_scene(3, size=48)
    leaves = _as_float64_leaves(scene)
    render(scene, backend="torch")[..., :3].sum().backward()
    kinds = {name for name, leaf in leaves if leaf.grad is not None and leaf.grad.abs().sum() > 0}
    assert {"fill_color", "stroke_width"} <= kinds
    assert kinds & {"points", "center", "radius", "p_min"}
