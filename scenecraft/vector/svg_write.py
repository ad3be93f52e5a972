"""Scene -> clean, layered SVG text, built only from the sanitiser's allowlist.

One ``<g>`` per shape group, carrying its id and a human label (``aria-label``), holding one
``<path>`` whose subpaths are the group's shapes (so the SVG fill rule sees the same joint
winding as the rasteriser). Strokes are written round-joined and round-capped, which is what the
rasteriser draws, and with their full width.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.etree.ElementTree import Element, SubElement

import torch

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
from scenecraft.vector.svg_path import format_path, number

_ID = re.compile(r"[^A-Za-z0-9_.-]+")


def _el(parent: Element | None, tag: str, **attrs: str) -> Element:
    attrs = {k.replace("_", "-"): v for k, v in attrs.items()}
    assert tag in ALLOWED_ELEMENTS and set(attrs) <= ALLOWED_ATTRIBUTES, (tag, attrs)
    name = f"{{{SVG_NS}}}{tag}"
    return Element(name, attrs) if parent is None else SubElement(parent, name, attrs)


def _hex(color: torch.Tensor) -> str:
    r, g, b = (int(round(float(c) * 255)) for c in color[:3].clamp(0, 1))
    return f"#{r:02x}{g:02x}{b:02x}"


def _opacity(color: torch.Tensor) -> str | None:
    a = float(color[3].clamp(0, 1))
    return None if a >= 0.9995 else number(a, 3)


def _shape_d(shape: Shape, precision: int) -> str:
    """One shape -> path data (circles and ellipses as two arcs, exact in SVG)."""
    f = lambda v: number(float(v), precision)  # noqa: E731
    if isinstance(shape, Circle | Ellipse):
        # round first so the arc chord is exactly 2r: a radius rounded away from half the chord
        # would move the arc's centre by sqrt(2 r dr)
        (cx, cy), r = shape.center.tolist(), shape.radius.reshape(-1).tolist()
        cx, cy, rx, ry = (round(v, precision) for v in (cx, cy, r[0], r[-1]))
        arc = f"A{f(rx)} {f(ry)} 0 1 1"
        return f"M{f(cx + rx)} {f(cy)}{arc} {f(cx - rx)} {f(cy)}{arc} {f(cx + rx)} {f(cy)}Z"
    if isinstance(shape, Rect):
        (x0, y0), (x1, y1) = shape.p_min.tolist(), shape.p_max.tolist()
        return f"M{f(x0)} {f(y0)}H{f(x1)}V{f(y1)}H{f(x0)}Z"
    if isinstance(shape, Path):
        pts = [tuple(p) for p in shape.points.tolist()]
        ncp = shape.num_control_points.tolist()
        return format_path(ncp, pts, shape.is_closed, precision)
    if isinstance(shape, Polygon):
        pts = [tuple(p) for p in shape.points.tolist()]
        return format_path(
            [0] * (len(pts) - (0 if shape.is_closed else 1)), pts, shape.is_closed, precision
        )
    raise TypeError(f"cannot write {type(shape).__name__} as SVG")


def _matrix(m: torch.Tensor) -> str:
    a, c, e, b, d, f = m[:2].reshape(-1).tolist()
    return "matrix(" + " ".join(number(v, 6) for v in (a, b, c, d, e, f)) + ")"


def to_svg(scene: Scene, precision: int = 2) -> str:
    """The scene as SVG text (straight RGBA -> ``fill`` + ``fill-opacity``, and so on)."""
    w, h = scene.canvas_width, scene.canvas_height
    with torch.no_grad():
        root = _el(None, "svg", width=str(w), height=str(h), viewBox=f"0 0 {w} {h}")
        bg = scene.background
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
            _el(
                root,
                "rect",
                id="background",
                width=str(w),
                height=str(h),
                fill="url(#background-gradient)",
            )
        elif bg is not None and float(bg[3]) > 0:
            rect = _el(root, "rect", id="background", width=str(w), height=str(h), fill=_hex(bg))
            if (o := _opacity(bg)) is not None:
                rect.set("fill-opacity", o)
        used: set[str] = set()
        for i, group in enumerate(scene.shape_groups):
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
            d = "".join(_shape_d(s, precision) for s in shapes)
            path = _el(g, "path", d=d, fill="none")
            if group.fill_color is not None:
                path.set("fill", _hex(group.fill_color))
                if (o := _opacity(group.fill_color)) is not None:
                    path.set("fill-opacity", o)
                path.set("fill-rule", "evenodd" if group.use_even_odd_rule else "nonzero")
            if group.stroke_color is not None:
                widths = {round(float(s.stroke_width), precision) for s in shapes}
                path.set("stroke", _hex(group.stroke_color))
                if (o := _opacity(group.stroke_color)) is not None:
                    path.set("stroke-opacity", o)
                path.set("stroke-width", number(max(widths), precision))
                path.set("stroke-linejoin", "round")
                path.set("stroke-linecap", "round")
                if len(widths) > 1:  # one width per path element in SVG: split the strokes
                    path.set("stroke", "none")
                    for s in shapes:
                        _el(
                            g,
                            "path",
                            d=_shape_d(s, precision),
                            fill="none",
                            stroke=_hex(group.stroke_color),
                            stroke_width=number(float(s.stroke_width), precision),
                            stroke_linejoin="round",
                            stroke_linecap="round",
                        )
                        if (o := _opacity(group.stroke_color)) is not None:
                            g[-1].set("stroke-opacity", o)
    return ET.tostring(root, encoding="unicode")
