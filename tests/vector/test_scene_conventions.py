"""What a user of the scene model relies on: widths, alpha, fill rules, clipping, bad input."""

import pytest
import torch

from scenecraft.core.errors import InvalidParams
from scenecraft.vector import Circle, Path, Polygon, Rect, Scene, ShapeGroup, render
from scenecraft.vector.render import resolve_backend

RED = torch.tensor([1.0, 0.0, 0.0, 1.0])


def _scene(shapes, groups, background=None, size=32):
    return Scene(size, size, shapes, groups, background)


def test_stroke_width_is_the_full_svg_width_not_a_half_width():
    line = Polygon([[4.0, 16.0], [28.0, 16.0]], is_closed=False, stroke_width=4.0)
    alpha = render(_scene([line], [ShapeGroup([0], None, stroke_color=RED)]))[..., 3]
    column = alpha[:, 16]
    assert column.sum().item() == pytest.approx(4.0, abs=1e-4)
    assert column[14:18].min() == pytest.approx(1.0)


def test_pixel_aligned_rect_is_exact_and_half_pixel_edge_is_half_covered():
    rect = Rect([8.0, 8.0], [16.5, 16.0])
    alpha = render(_scene([rect], [ShapeGroup([0], RED)]))[..., 3]
    assert alpha[8:16, 8:16].min() == 1.0
    assert alpha[8:16, 16] == pytest.approx(torch.full((8,), 0.5))
    assert alpha.sum().item() == pytest.approx(8.5 * 8, abs=1e-3)


def test_rgb_is_straight_alpha_so_edges_keep_their_colour():
    # diffvg premultiplies edge coverage into RGB; scenecraft returns straight colour
    rect = Rect([8.0, 8.0], [16.5, 16.0])
    image = render(_scene([rect], [ShapeGroup([0], RED)]))
    assert image[10, 16, :3] == pytest.approx(torch.tensor([1.0, 0.0, 0.0]))
    assert image[10, 16, 3] == pytest.approx(0.5)


def test_even_odd_cuts_a_hole_and_nonzero_does_not():
    outer, inner = Circle(12.0, [16.0, 16.0]), Circle(5.0, [16.0, 16.0])
    for even_odd, centre_alpha in ((True, 0.0), (False, 1.0)):
        group = ShapeGroup([0, 1], RED, use_even_odd_rule=even_odd)
        alpha = render(_scene([outer, inner], [group]))[..., 3]
        assert alpha[16, 16].item() == pytest.approx(centre_alpha)
        assert alpha[16, 6].item() == pytest.approx(1.0)


def test_later_groups_paint_on_top_with_their_opacity():
    back, front = Rect([0.0, 0.0], [32.0, 32.0]), Rect([0.0, 0.0], [32.0, 32.0])
    blue_half = torch.tensor([0.0, 0.0, 1.0, 0.5])
    image = render(_scene([back, front], [ShapeGroup([0], RED), ShapeGroup([1], blue_half)]))
    assert image[5, 5] == pytest.approx(torch.tensor([0.5, 0.0, 0.5, 1.0]))


def test_shapes_partly_off_canvas_are_clipped_not_wrapped():
    rect = Rect([-10.0, 20.0], [10.0, 40.0])
    alpha = render(_scene([rect], [ShapeGroup([0], RED)]))[..., 3]
    assert alpha.sum().item() == pytest.approx(10 * 12, abs=1e-3)
    assert alpha[:, 20:].sum() == 0


def test_render_at_another_size_scales_the_scene():
    rect = Rect([8.0, 8.0], [16.0, 16.0])
    alpha = render(_scene([rect], [ShapeGroup([0], RED)]), 64, 64)[..., 3]
    assert alpha.sum().item() == pytest.approx(16 * 16, abs=1e-3)


def test_nan_points_are_refused_naming_the_field():
    path = Path([0, 0, 0], [[1.0, 1.0], [float("nan"), 5.0], [9.0, 1.0]], is_closed=True)
    with pytest.raises(InvalidParams, match=r"scene.shapes\[0\].points"):
        render(_scene([path], [ShapeGroup([0], RED)]))


def test_zero_size_canvas_and_bad_point_layout_are_refused():
    rect = Rect([0.0, 0.0], [4.0, 4.0])
    with pytest.raises(InvalidParams, match="canvas"):
        render(Scene(0, 10, [rect], [ShapeGroup([0], RED)]))
    with pytest.raises(InvalidParams, match="size"):
        render(_scene([rect], [ShapeGroup([0], RED)]), 0, 0)
    path = Path([2], [[1.0, 1.0], [2.0, 2.0]], is_closed=False)
    with pytest.raises(InvalidParams, match=r"expected \[4, 2\]"):
        render(_scene([path], [ShapeGroup([0], RED)]))


def test_backend_switch(monkeypatch):
    from scenecraft.core.settings import get_settings

    monkeypatch.setattr("scenecraft.vector.diffvg_backend.available", lambda: False)
    monkeypatch.setenv("SCENECRAFT_RASTERIZER", "auto")
    get_settings.cache_clear()
    try:
        assert resolve_backend() == "torch"
        monkeypatch.setenv("SCENECRAFT_RASTERIZER", "diffvg")
        get_settings.cache_clear()
        with pytest.raises(InvalidParams, match="pydiffvg is not importable"):
            resolve_backend()
        assert resolve_backend("torch") == "torch"
        monkeypatch.setattr("scenecraft.vector.diffvg_backend.available", lambda: True)
        assert resolve_backend("auto") == "diffvg"
    finally:
        get_settings.cache_clear()
