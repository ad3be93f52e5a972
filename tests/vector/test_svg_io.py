"""SVG out and back in: layered, allowlisted output; a reader that draws what resvg draws."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from scenecraft.core.errors import SVGError
from scenecraft.vector import Circle, Path, Polygon, Scene, ShapeGroup, render
from scenecraft.vector.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_ELEMENTS, sanitize_svg
from scenecraft.vector.svg_path import parse_path
from scenecraft.vector.svg_read import read_svg
from scenecraft.vector.svg_write import to_svg

from .scenes import psnr, random_scene, resvg_render

USER_SVG = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="256" height="192" viewBox="0 0 128 96">
  <defs>
    <linearGradient id="sky"><stop offset="0" stop-color="#336699"/>
      <stop offset="1" stop-color="#336699"/></linearGradient>
    <path id="leaf" d="M0 0q10-12 20 0q-10 12-20 0z"/>
  </defs>
  <rect width="128" height="96" fill="url(#sky)"/>
  <g transform="translate(64 48) rotate(30)" style="fill: gold; stroke: #000; stroke-width: 1.5">
    <path d="M-30-10 a30 20 0 1 0 60 0 A30 20 0 0 0-30-10Z" fill-opacity=".7"
          stroke-linejoin="round" stroke-linecap="round"/>
    <circle r="6" fill="crimson" stroke="none"/>
  </g>
  <g opacity="0.5"><ellipse cx="20" cy="75" rx="15" ry="8" fill="rgb(20, 200, 120)"/></g>
  <polygon points="100,10 120,40 80,40" fill="#f0f" fill-rule="evenodd"/>
  <rect x="5" y="5" width="30" height="20" rx="6" fill="navy"/>
  <polyline points="40 90 60 80 80 90" fill="none" stroke="white" stroke-width="3"
            stroke-linejoin="round" stroke-linecap="round"/>
  <use xlink:href="#leaf" x="90" y="70" fill="teal"/>
  <path d="M100 50h20v20h-20zM105 55v10h10v-10z" fill="black" fill-rule="evenodd"/>
</svg>"""


def test_reader_draws_user_svg_like_resvg():
    # arcs, transforms on groups, inherited style, opacity, viewBox scaling, <use>, holes
    scene = read_svg(USER_SVG)
    assert (scene.canvas_width, scene.canvas_height) == (256, 192)
    ours = render(scene).detach().numpy()
    theirs = resvg_render(USER_SVG)
    ours_rgb = ours[..., :3] * ours[..., 3:] + (1 - ours[..., 3:])  # over white, like resvg's
    theirs_rgb = theirs[..., :3] * theirs[..., 3:] + (1 - theirs[..., 3:])
    assert psnr(ours_rgb, theirs_rgb) >= 35.0


@pytest.mark.parametrize("seed", range(6))
def test_write_then_read_renders_the_same(seed):
    scene = random_scene(seed, size=128)
    again = read_svg(to_svg(scene, precision=3))
    a, b = render(scene).detach().numpy(), render(again).detach().numpy()
    assert psnr(a[..., :3], b[..., :3]) >= 45.0


def test_writer_emits_one_labelled_group_per_object_from_the_allowlist():
    scene = random_scene(0, size=128)
    scene.shape_groups[0].id, scene.shape_groups[0].label = "sun 1", 'red "circle" #1 <b>'
    svg = to_svg(scene)
    root = ET.fromstring(svg)
    groups = [e for e in root if e.tag.endswith("}g")]
    assert len(groups) == len(scene.shape_groups)
    assert groups[0].get("id") == "sun-1"
    assert groups[0].get("aria-label") == 'red "circle" #1 <b>'
    assert len({g.get("id") for g in groups}) == len(groups)
    for elem in root.iter():
        assert elem.tag.split("}")[1] in ALLOWED_ELEMENTS
        assert set(elem.attrib) <= ALLOWED_ATTRIBUTES
    assert sanitize_svg(svg) == svg  # nothing for the sanitiser to remove


def test_path_data_is_compact():
    scene = Scene(64, 64, [Circle(10.5, [32.0, 20.25])], [ShapeGroup([0], torch.ones(4))])
    d = re.search(r' d="([^"]+)"', to_svg(scene)).group(1)
    assert d == "M42.5 20.25A10.5 10.5 0 1 1 21.5 20.25A10.5 10.5 0 1 1 42.5 20.25Z"


def test_path_data_is_relative_where_shorter_with_straight_cubics_as_lines():
    corners = np.array([[10.0, 10.0], [50.0, 10.0], [50.0, 40.0], [10.0, 40.0]])
    after = np.roll(corners, -1, 0)
    thirds = np.stack(
        [corners, corners + (after - corners) / 3, corners + 2 * (after - corners) / 3], 1
    )
    square = Path([2] * 4, thirds.reshape(-1, 2).tolist())  # straight cubics, as regions start
    curve = Path([2, 2], [[100.0, 100.0], [101.1, 90.0], [110.0, 90.0], [110.0, 100.0],
                          [110.0, 110.0], [100.0, 110.0]], is_closed=True)  # fmt: skip
    scene = Scene(128, 128, [square, curve], [ShapeGroup([0, 1], torch.ones(4))])
    d = re.search(r' d="([^"]+)"', to_svg(scene, precision=1)).group(1)
    # the second subpath starts relative to where the first closed, its numbers are relative
    # (shorter) and a second cubic needs no second "c"
    assert d == "M10 10H50V40H10Zm90 90c1.1-10 10-10 10 0 0 10-10 10-10 0Z"
    again = read_svg(to_svg(scene, precision=1))
    assert psnr(render(again).detach().numpy(), render(scene).detach().numpy()) >= 45.0


def test_flat_gradient_is_written_as_a_plain_fill():
    from scenecraft.vector.scene import LinearGradient

    cream = [0.96, 0.94, 0.91, 1.0]
    flat = LinearGradient([0.0, 0.0], [0.0, 64.0], [0.0, 1.0], [cream, cream])
    scene = Scene(64, 64, [Circle(10.0, [32.0, 32.0])], [ShapeGroup([0], torch.ones(4))], flat)
    svg = to_svg(scene)
    assert (
        "Gradient" not in svg
        and '<rect id="background" width="64" height="64" fill="#f5f0e8"' in svg
    )
    assert psnr(render(read_svg(svg)).detach().numpy(), render(scene).detach().numpy()) >= 45.0


def test_shared_fill_rule_and_stroke_style_are_written_once_and_drawn_as_before():
    # a pentagram covers its centre twice: even-odd leaves a hole there, nonzero fills it
    angles = np.arange(5) * 4 * np.pi / 5 - np.pi / 2
    star_pts = lambda cx: np.stack([cx + 25 * np.cos(angles), 32 + 25 * np.sin(angles)], -1)  # noqa: E731
    shapes = [Polygon(star_pts(x).tolist()) for x in (30.0, 90.0, 150.0)]
    for s in shapes:
        s.stroke_width = torch.tensor(2.0)
    red, blue = torch.tensor([0.9, 0.1, 0.1, 1.0]), torch.tensor([0.1, 0.2, 0.9, 1.0])
    groups = [
        ShapeGroup([0], red, use_even_odd_rule=True),
        ShapeGroup([1], red, use_even_odd_rule=False, stroke_color=blue),
        ShapeGroup([2], red, use_even_odd_rule=True),
    ]
    scene = Scene(180, 64, shapes, groups, torch.ones(4))
    svg = to_svg(scene)
    root = ET.fromstring(svg)
    assert root.get("fill-rule") == "evenodd" and root.get("stroke-linejoin") == "round"
    assert svg.count("fill-rule") == 2 and svg.count("stroke-linecap") == 1
    theirs = resvg_render(svg)
    assert theirs[32, 30, 0] > 0.99 and theirs[32, 90, 2] < 0.2  # a hole, then filled red
    ours = render(scene).detach().numpy()
    assert psnr(ours[..., :3], theirs[..., :3]) >= 35.0


@pytest.mark.parametrize(
    "bad, message",
    [
        ("", "well-formed"),
        ("<svg", "well-formed"),
        ("<html><body/></html>", "not <svg>"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><path d="M 10"/></svg>', "expected a number"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><path d="L 10 10"/></svg>', "moveto"),
        ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 0 10"/>', "viewBox"),
        ('<svg xmlns="http://www.w3.org/2000/svg" width="1e9" height="10"/>', "canvas"),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" height="5" fill="nocolour"/>'
            "</svg>",
            "not a colour",
        ),
    ],
)
def test_bad_svg_raises_svgerror_naming_the_problem(bad, message):
    with pytest.raises(SVGError, match=message):
        read_svg(bad)


@pytest.mark.parametrize(
    ("d", "first_control"),
    [
        ("M0 0C10 0 20 10 20 20T40 40", (20, 20)),  # T after C: the current point
        ("M0 0Q10 0 20 20S40 40 50 50", (20, 20)),  # S after Q: the current point
        ("M0 0Q10 0 20 20T40 40", (30, 40)),  # T after Q: the reflection
        ("M0 0C10 0 20 10 20 20S40 40 50 50", (20, 30)),  # S after C: the reflection
        ("M0 0L10 0t10 10", (10, 0)),  # after a line: the current point
    ],
)
def test_smooth_curves_reflect_only_after_their_own_kind(d, first_control):
    # SVG 1.1 8.3.6-8.3.7; svgelements 1.9 alone reflects across kinds (T after C, S after Q)
    sub = parse_path(d)[0]
    assert sub.points[-1 - sub.num_control_points[-1]] == pytest.approx(first_control)


def test_path_data_reads_arcs_packed_flags_and_subpaths():
    subs = parse_path("M0 0a5 5 0 1010 10zl5 5m20 0h5v5z")
    assert [s.closed for s in subs] == [True, False, True]
    assert subs[0].num_control_points[:2] == [2, 2]  # a 270-degree arc: cubics of <= 90 degrees
    assert subs[1].points == [(0.0, 0.0), (5.0, 5.0)]  # drawing after z starts where z ended
    assert subs[2].points[0] == (25.0, 5.0)  # m after z is relative to the subpath's start
    with pytest.raises(SVGError, match="too large"):
        parse_path("M1e400 0L1 1")


def test_recursive_use_does_not_hang_or_explode(monkeypatch):
    monkeypatch.setattr("scenecraft.vector.svg_read.MAX_VISITS", 2000)  # same check, less time
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<g id="a"><use xlink:href="#a"/><rect width="4" height="4"/></g></svg>'
    )
    scene = read_svg(svg)
    assert len(scene.shapes) == 1
    fan = "".join(f'<g id="g{i}">' + f'<use href="#g{i - 1}"/>' * 10 + "</g>" for i in range(1, 8))
    seed = '<g id="g0"><rect width="1" height="1"/></g>'
    bomb = f'<svg xmlns="http://www.w3.org/2000/svg">{seed}{fan}</svg>'
    with pytest.raises(SVGError, match="expands to more than"):
        read_svg(bomb)


def test_read_scene_fits_canvas_and_is_float32():
    scene = read_svg(USER_SVG)
    pts = torch.cat([s.points for s in scene.shapes])
    assert pts.dtype == torch.float32 and np.isfinite(pts.numpy()).all()


def test_shapesworld_svg_with_gradient_background_reads_back_faithfully():
    from scenecraft.shapesworld.render import render_scene
    from scenecraft.shapesworld.scene import sample_scene
    from scenecraft.vector.scene import LinearGradient

    world = render_scene(sample_scene(3), 96)
    scene = read_svg(world.svg)
    assert isinstance(scene.background, LinearGradient)
    assert len(scene.shape_groups) == len(world.coverage)
    assert all(g.label for g in scene.shape_groups)  # ShapesWorld's data-label survives
    ours = render(scene).detach().numpy()[..., :3]
    assert psnr(ours, world.image / 255.0) >= 35.0
    again = read_svg(to_svg(scene, precision=3))
    assert psnr(render(again).detach().numpy()[..., :3], ours) >= 50.0
