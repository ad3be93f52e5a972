"""Scene -> clean, layered SVG text, built only from the sanitiser's allowlist.

One ``<g>`` per shape group, carrying its id and a human label (``aria-label``), holding one
``<path>`` whose subpaths are the group's shapes (so the SVG fill rule sees the same joint
winding as the rasteriser). Strokes are written round-joined and round-capped, which is what the
rasteriser draws, and with their full width. Compact where it changes nothing drawn: path data
as :class:`~scenecraft.vector.svg_path.PathData` writes it, a flat background as a plain fill,
shared properties once on ``<svg>``, ``#rgb`` colours where exact.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.etree.ElementTree import Element, SubElement

import torch
from torch import Tensor

from scenecraft.vector.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_ELEMENTS, SVG_NS
from scenecraft.vector.scene import (
    Circle,
    Ellipse,
    LinearGradient,
    Path,
    Polygon,
    Rect,
    Scene,
    Shape,
)
from scenecraft.vector.svg_path import PathData, number

_ID = re.compile(r"[^A-Za-z0-9_.-]+")


def _el(parent: Element | None, tag: str, **attrs: str) -> Element:
    attrs = {k.replace("_", "-"): v for k, v in attrs.items()}
    assert tag in ALLOWED_ELEMENTS and set(attrs) <= ALLOWED_ATTRIBUTES, (tag, attrs)
    name = f"{{{SVG_NS}}}{tag}"
    return Element(name, attrs) if parent is None else SubElement(parent, name, attrs)


def _hex(color: torch.Tensor) -> str:
    """#rrggbb, or #rgb where that is the same colour."""
    r, g, b = (int(round(float(c) * 255)) for c in color[:3].clamp(0, 1))
    text = f"#{r:02x}{g:02x}{b:02x}"
    return f"#{text[1]}{text[3]}{text[5]}" if text[1::2] == text[2::2] else text


def _opacity(color: torch.Tensor) -> str | None:
    a = float(color[3].clamp(0, 1))
    return None if a >= 0.9995 else number(a, 3)


def _shape_d(shape: Shape, data: PathData) -> None:
    """One shape onto ``data`` (circles and ellipses as two arcs, exact in SVG)."""
    precision = data.precision
    f = lambda v: number(float(v), precision)  # noqa: E731
    if isinstance(shape, Circle | Ellipse):
        # round first so the arc chord is exactly 2r: a radius rounded away from half the chord
        # would move the arc's centre by sqrt(2 r dr)
        (cx, cy), r = shape.center.tolist(), shape.radius.reshape(-1).tolist()
        cx, cy, rx, ry = (round(v, precision) for v in (cx, cy, r[0], r[-1]))
        arc = f"A{f(rx)} {f(ry)} 0 1 1"
        text = f"M{f(cx + rx)} {f(cy)}{arc} {f(cx - rx)} {f(cy)}{arc} {f(cx + rx)} {f(cy)}Z"
        data.absolute(text, (cx + rx, cy))
    elif isinstance(shape, Rect):
        (x0, y0), (x1, y1) = shape.p_min.tolist(), shape.p_max.tolist()
        data.absolute(f"M{f(x0)} {f(y0)}H{f(x1)}V{f(y1)}H{f(x0)}Z", (x0, y0))
    elif isinstance(shape, Path):
        pts = [tuple(p) for p in shape.points.tolist()]
        data.subpath(shape.num_control_points.tolist(), pts, shape.is_closed)
    elif isinstance(shape, Polygon):
        pts = [tuple(p) for p in shape.points.tolist()]
        data.subpath([0] * (len(pts) - (0 if shape.is_closed else 1)), pts, shape.is_closed)
    else:
        raise TypeError(f"cannot write {type(shape).__name__} as SVG")


def _d(shapes: list[Shape], precision: int) -> str:
    data = PathData(precision)
    for shape in shapes:
        _shape_d(shape, data)
    return str(data)


def _matrix(m: torch.Tensor) -> str:
    a, c, e, b, d, f = m[:2].reshape(-1).tolist()
    return "matrix(" + " ".join(number(v, 6) for v in (a, b, c, d, e, f)) + ")"


def _flat(bg: LinearGradient) -> torch.Tensor | None:
    """The one colour of a gradient whose stops are all written alike (so it paints flat)."""
    written = {(_hex(c), _opacity(c)) for c in bg.stop_colors}
    return bg.stop_colors[0] if len(written) == 1 else None


def _background(root: Element, bg: Tensor | LinearGradient | None, precision: int) -> None:
    w, h = root.get("width"), root.get("height")
    if isinstance(bg, LinearGradient) and (flat := _flat(bg)) is not None:
        bg = flat
    if isinstance(bg, LinearGradient):
        grad = _el(
            _el(root, "defs"),
            "linearGradient",
            id="background-gradient",
            gradientUnits="userSpaceOnUse",
        )
        for name, value in zip(("x1", "y1", "x2", "y2"), [*bg.begin, *bg.end], strict=True):
            grad.set(name, number(float(value), precision))
        for offset, color in zip(bg.offsets, bg.stop_colors, strict=True):
            stop = _el(grad, "stop", offset=number(float(offset), 4), stop_color=_hex(color))
            if (o := _opacity(color)) is not None:
                stop.set("stop-opacity", o)
        _el(root, "rect", id="background", width=w, height=h, fill="url(#background-gradient)")
    elif bg is not None and float(bg[3]) > 0:
        rect = _el(root, "rect", id="background", width=w, height=h, fill=_hex(bg))
        if (o := _opacity(bg)) is not None:
            rect.set("fill-opacity", o)


def to_svg(scene: Scene, precision: int = 2) -> str:
    """The scene as SVG text (straight RGBA -> ``fill`` + ``fill-opacity``, and so on).

    Coordinates are rounded to ``precision`` decimals. Inherited properties that most paths
    share are written once on ``<svg>``: the fill rule (even-odd where most fills use it) and
    round joins and caps (every stroke has them).
    """
    w, h = scene.canvas_width, scene.canvas_height
    groups = scene.shape_groups
    filled = [g for g in groups if g.fill_color is not None]
    even_odd = 2 * sum(g.use_even_odd_rule for g in filled) > len(filled)
    with torch.no_grad():
        root = _el(None, "svg", width=str(w), height=str(h), viewBox=f"0 0 {w} {h}")
        if even_odd:
            root.set("fill-rule", "evenodd")
        if any(g.stroke_color is not None for g in groups):
            root.set("stroke-linejoin", "round")
            root.set("stroke-linecap", "round")
        _background(root, scene.background, precision)
        used: set[str] = set()
        for i, group in enumerate(groups):
            ident = _ID.sub("-", group.id).strip("-") or f"shape-{i}"
            while ident in used:
                ident += f"-{i}"
            used.add(ident)
            g = _el(root, "g", id=ident)
            if group.label:
                g.set("aria-label", group.label)
            if group.shape_to_canvas is not None:
                g.set("transform", _matrix(group.shape_to_canvas))
            shapes = [scene.shapes[s] for s in group.shape_ids]
            path = _el(g, "path", d=_d(shapes, precision), fill="none")
            if group.fill_color is not None:
                path.set("fill", _hex(group.fill_color))
                if (o := _opacity(group.fill_color)) is not None:
                    path.set("fill-opacity", o)
                if group.use_even_odd_rule != even_odd:
                    path.set("fill-rule", "evenodd" if group.use_even_odd_rule else "nonzero")
            if group.stroke_color is not None:
                _stroke(g, path, group.stroke_color, shapes, precision)
    return ET.tostring(root, encoding="unicode")


def _stroke(g: Element, path: Element, color: Tensor, shapes: list[Shape], precision: int) -> None:
    """The stroke on ``path``, or, where the shapes' widths differ (SVG has one width per
    element), on one more path per shape (``path`` is dropped if it has no fill)."""
    widths = [float(s.stroke_width) for s in shapes]
    if len({number(v, precision) for v in widths}) == 1:
        targets = [(path, widths[0])]
    else:
        if path.get("fill") == "none":
            g.remove(path)
        targets = [
            (_el(g, "path", d=_d([s], precision), fill="none"), v)
            for s, v in zip(shapes, widths, strict=True)
        ]
    for target, width in targets:
        target.set("stroke", _hex(color))
        if (o := _opacity(color)) is not None:
            target.set("stroke-opacity", o)
        target.set("stroke-width", number(width, precision))
