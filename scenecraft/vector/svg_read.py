"""SVG text -> a renderable Scene, for the subset of SVG users bring.

Supported: ``path`` (all commands, arcs included), ``rect`` (with rounded corners), ``circle``,
``ellipse``, ``line``, ``polyline``, ``polygon``, ``g`` and ``use`` of local ids, ``transform``
on any element, fill / stroke / opacity / fill-rule from attributes or ``style``, ``viewBox`` with
``preserveAspectRatio``, and units (px, pt, pc, mm, cm, in, %). Approximations, all stated:
a gradient paint becomes the mean of its stop colours; ``opacity`` multiplies into fill and
stroke opacity; every stroke is drawn round-joined and round-capped; dashes are ignored.
Every shape becomes a ``Path`` with its transforms applied. Input goes through the sanitiser
first, so anything malformed or hostile raises :class:`scenecraft.core.errors.SVGError`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from xml.etree.ElementTree import Element

import numpy as np
import torch
from PIL import ImageColor

from scenecraft.core.errors import SVGError
from scenecraft.vector.sanitize import SVGLimits, parse_svg
from scenecraft.vector.scene import LinearGradient, Path, Scene, ShapeGroup
from scenecraft.vector.svg_path import Subpath, parse_path

_UNITS = {
    "": 1.0,
    "px": 1.0,
    "pt": 4 / 3,
    "pc": 16.0,
    "mm": 96 / 25.4,
    "cm": 96 / 2.54,
    "in": 96.0,
    "em": 16.0,
    "ex": 8.0,
}
_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-z%]*)\s*$")
_TRANSFORM = re.compile(r"(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^)]*)\)")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
MAX_CANVAS = 16384
MAX_VISITS = 50_000  # elements walked, counting each expansion of <use>


@dataclass(frozen=True)
class _Style:
    """Inherited presentation state."""

    fill: tuple[float, float, float] | None = (0.0, 0.0, 0.0)
    stroke: tuple[float, float, float] | None = None
    fill_opacity: float = 1.0
    stroke_opacity: float = 1.0
    opacity: float = 1.0  # product of ancestors' opacity
    stroke_width: float = 1.0
    even_odd: bool = False
    color: tuple[float, float, float] = (0.0, 0.0, 0.0)
    visible: bool = True


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _length(value: str | None, reference: float, default: float = 0.0) -> float:
    if value is None or not value.strip():
        return default
    m = _LENGTH.match(value)
    if not m:
        raise SVGError(f"not a length: {value!r}")
    number, unit = float(m.group(1)), m.group(2)
    if unit == "%":
        return number / 100 * reference
    if unit not in _UNITS:
        raise SVGError(f"unknown unit {unit!r} in {value!r}")
    return number * _UNITS[unit]


def _numbers(text: str | None) -> list[float]:
    return [float(v) for v in _NUMBER.findall(text or "")]


def _transform(text: str | None) -> np.ndarray:
    """SVG transform list -> 3x3 affine."""
    m = np.eye(3)
    for name, args in _TRANSFORM.findall(text or ""):
        v = _numbers(args)
        t = np.eye(3)
        try:
            if name == "matrix":
                t[:2] = np.array(v[:6]).reshape(3, 2).T
            elif name == "translate":
                t[:2, 2] = [v[0], v[1] if len(v) > 1 else 0.0]
            elif name == "scale":
                t[0, 0], t[1, 1] = v[0], v[1] if len(v) > 1 else v[0]
            elif name == "rotate":
                a = math.radians(v[0])
                rot = np.array(
                    [[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]]
                )
                cx, cy = (v[1], v[2]) if len(v) >= 3 else (0.0, 0.0)
                shift, back = np.eye(3), np.eye(3)
                shift[:2, 2], back[:2, 2] = [cx, cy], [-cx, -cy]
                t = shift @ rot @ back
            elif name == "skewX":
                t[0, 1] = math.tan(math.radians(v[0]))
            else:
                t[1, 0] = math.tan(math.radians(v[0]))
        except (IndexError, ValueError) as exc:
            raise SVGError(f"bad transform {name}({args})") from exc
        m = m @ t
    if not np.isfinite(m).all():
        raise SVGError(f"transform {text!r} is not finite")
    return m


class _Reader:
    def __init__(self, root: Element):
        self.root = root
        self.by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
        self.shapes: list[Path] = []
        self.groups: list[ShapeGroup] = []
        self.background: torch.Tensor | None = None
        self.viewport = (300.0, 150.0)
        self.using: set[str] = set()  # ids being expanded by <use>, to refuse cycles
        self.visits = 0
        self.background_rect: Element | None = None

    def paint(self, value: str, style: _Style) -> tuple[float, float, float] | None:
        value = value.strip()
        if value in ("none", "transparent", ""):
            return None
        if value == "currentColor":
            return style.color
        if value.startswith("url("):
            ref = self.by_id.get(value[4:].split(")")[0].strip(" '\"#"))
            stops = [] if ref is None else [s for s in ref.iter() if _local(s.tag) == "stop"]
            colors = [self.paint(self._props(s).get("stop-color", "black"), style) for s in stops]
            colors = [c for c in colors if c is not None]
            return tuple(np.mean(colors, 0).tolist()) if colors else None
        try:
            rgb = ImageColor.getrgb(value)
        except ValueError as exc:
            raise SVGError(f"not a colour: {value!r}") from exc
        return tuple(c / 255 for c in rgb[:3])

    @staticmethod
    def _props(elem: Element) -> dict[str, str]:
        props = {k: v for k, v in elem.attrib.items() if "}" not in k}
        for declaration in elem.get("style", "").split(";"):
            key, sep, value = declaration.partition(":")
            if sep:
                props[key.strip()] = value.strip()
        return props

    def style(self, elem: Element, parent: _Style) -> _Style:
        p = {k: v for k, v in self._props(elem).items() if v.strip() != "inherit"}
        s = parent
        opacity = lambda key: min(1.0, max(0.0, float(_numbers(p[key])[0])))  # noqa: E731
        try:
            if "color" in p:
                s = replace(s, color=self.paint(p["color"], s) or s.color)
            if "fill" in p:
                s = replace(s, fill=self.paint(p["fill"], s))
            if "stroke" in p:
                s = replace(s, stroke=self.paint(p["stroke"], s))
            if "fill-opacity" in p:
                s = replace(s, fill_opacity=opacity("fill-opacity"))
            if "stroke-opacity" in p:
                s = replace(s, stroke_opacity=opacity("stroke-opacity"))
            if "opacity" in p:
                s = replace(s, opacity=s.opacity * opacity("opacity"))
            if "stroke-width" in p:
                s = replace(s, stroke_width=_length(p["stroke-width"], self._diag(), 1.0))
            if "fill-rule" in p:
                s = replace(s, even_odd=p["fill-rule"].strip() == "evenodd")
        except IndexError as exc:
            raise SVGError(f"an opacity without a number on <{_local(elem.tag)}>") from exc
        hidden = p.get("display", "").strip() == "none" or p.get("visibility", "").strip() in (
            "hidden",
            "collapse",
        )
        return replace(s, visible=s.visible and not hidden)

    def _diag(self) -> float:
        return math.hypot(*self.viewport) / math.sqrt(2)

    def subpaths(self, elem: Element) -> list[Subpath]:
        tag = _local(elem.tag)
        vw, vh = self.viewport
        g = lambda name, ref, default=0.0: _length(elem.get(name), ref, default)  # noqa: E731
        if tag == "path":
            return parse_path(elem.get("d", ""))
        if tag == "rect":
            x, y, w, h = g("x", vw), g("y", vh), g("width", vw), g("height", vh)
            if w <= 0 or h <= 0:
                return []
            rx, ry = elem.get("rx"), elem.get("ry")
            rx_v = _length(rx, vw) if rx is not None else (_length(ry, vh) if ry else 0.0)
            ry_v = _length(ry, vh) if ry is not None else rx_v
            rx_v, ry_v = min(max(rx_v, 0.0), w / 2), min(max(ry_v, 0.0), h / 2)
            if rx_v == 0 or ry_v == 0:
                return parse_path(f"M{x} {y}H{x + w}V{y + h}H{x}Z")
            a = f"A{rx_v} {ry_v} 0 0 1"
            return parse_path(
                f"M{x + rx_v} {y}H{x + w - rx_v}{a} {x + w} {y + ry_v}V{y + h - ry_v}"
                f"{a} {x + w - rx_v} {y + h}H{x + rx_v}{a} {x} {y + h - ry_v}V{y + ry_v}"
                f"{a} {x + rx_v} {y}Z"
            )
        if tag in ("circle", "ellipse"):
            cx, cy = g("cx", vw), g("cy", vh)
            if tag == "circle":
                rx = ry = g("r", self._diag())
            else:
                rx, ry = g("rx", vw), g("ry", vh)
            if rx <= 0 or ry <= 0:
                return []
            a = f"A{rx} {ry} 0 1 1"
            return parse_path(f"M{cx + rx} {cy}{a} {cx - rx} {cy}{a} {cx + rx} {cy}Z")
        if tag == "line":
            return parse_path(f"M{g('x1', vw)} {g('y1', vh)}L{g('x2', vw)} {g('y2', vh)}")
        if tag in ("polyline", "polygon"):
            v = _numbers(elem.get("points"))
            if len(v) < 4:
                return []
            pairs = " ".join(f"{v[i]} {v[i + 1]}" for i in range(0, len(v) - 1, 2))
            return parse_path(f"M{pairs}" + ("Z" if tag == "polygon" else ""))
        return []

    def walk(self, elem: Element, style: _Style, matrix: np.ndarray, label: tuple[str, str]):
        tag = _local(elem.tag)
        self.visits += 1
        if self.visits > MAX_VISITS:
            raise SVGError(f"SVG expands to more than {MAX_VISITS} elements (nested <use>?)")
        if tag in (
            "defs",
            "title",
            "desc",
            "linearGradient",
            "radialGradient",
            "stop",
            "clipPath",
            "symbol",
        ):
            return
        style = self.style(elem, style)
        if not style.visible:
            return
        matrix = matrix @ _transform(elem.get("transform"))
        name = elem.get("aria-label") or elem.get("data-label")
        if elem.get("id") or name:
            label = (elem.get("id") or label[0], name or label[1])
        if tag in ("g", "svg"):
            own = elem.get("id")
            self.using.add(own)  # a <use> inside an element may not draw that element again
            for child in elem:
                self.walk(child, style, matrix, label)
            self.using.discard(own)
            return
        if tag == "use":
            ref = (elem.get("href") or "").lstrip("#")
            if ref in self.by_id and ref not in self.using:
                self.using.add(ref)
                shift = np.eye(3)
                shift[:2, 2] = [
                    _length(elem.get("x"), self.viewport[0]),
                    _length(elem.get("y"), self.viewport[1]),
                ]
                target = self.by_id[ref]
                children = list(target) if _local(target.tag) == "symbol" else [target]
                for child in children:
                    self.walk(child, style, matrix @ shift, label)
                self.using.discard(ref)
            return
        if elem is self.background_rect:
            return
        self.add(self.subpaths(elem), style, matrix, label, closed_fill=tag != "line")

    def find_background(self, matrix: np.ndarray) -> None:
        """A first ``rect`` with id "background" (scenecraft's writer), or the first rect of a
        first ``g`` with that id (ShapesWorld's), becomes the scene background: a colour, or a
        LinearGradient when its fill is one."""
        first = next((e for e in self.root if _local(e.tag) not in ("defs", "title", "desc")), None)
        if first is None or first.get("id") != "background":
            return
        rect = first if _local(first.tag) == "rect" else next(iter(first), None)
        if (
            rect is None
            or _local(rect.tag) != "rect"
            or rect.get("transform")
            or (rect is not first and first.get("transform"))
        ):
            return
        style = self.style(rect, self.style(first, _Style()) if rect is not first else _Style())
        fill = self._props(rect).get("fill", "")
        ref = self.by_id.get(fill[4:].split(")")[0].strip(" '\"#")) if "url(" in fill else None
        alpha = style.fill_opacity * style.opacity
        if ref is not None and _local(ref.tag) == "linearGradient":
            self.background = self.gradient(ref, rect, matrix, alpha)
        elif style.fill is not None:
            self.background = torch.tensor([*style.fill, alpha])
        else:
            return
        self.background_rect = rect

    def gradient(
        self, grad: Element, rect: Element, matrix: np.ndarray, alpha: float
    ) -> LinearGradient:
        """<linearGradient> painting ``rect`` -> LinearGradient in canvas pixels."""
        vw, vh = self.viewport
        box = [
            _length(rect.get(k), ref)
            for k, ref in (("x", vw), ("y", vh), ("width", vw), ("height", vh))
        ]
        user = grad.get("gradientUnits") == "userSpaceOnUse"
        ends = []
        for key, default, ref, origin, size in (
            ("x1", "0%", vw, box[0], box[2]),
            ("y1", "0%", vh, box[1], box[3]),
            ("x2", "100%", vw, box[0], box[2]),
            ("y2", "0%", vh, box[1], box[3]),
        ):
            value = grad.get(key, default)
            ends.append(_length(value, ref) if user else origin + _length(value, 1.0) * size)
        begin = matrix[:2, :2] @ ends[:2] + matrix[:2, 2]
        end = matrix[:2, :2] @ ends[2:] + matrix[:2, 2]
        offsets: list[float] = []
        colors = []
        for stop in (s for s in grad if _local(s.tag) == "stop"):
            props = self._props(stop)
            offset = min(1.0, max(0.0, _length(props.get("offset", "0"), 1.0)))
            offsets.append(max([offset, *offsets[-1:]]))  # offsets never decrease (SVG rule)
            rgb = self.paint(props.get("stop-color", "black"), _Style()) or (0.0, 0.0, 0.0)
            opacity = float((_numbers(props.get("stop-opacity", "1")) or [1.0])[0])
            colors.append([*rgb, min(1.0, max(0.0, opacity)) * alpha])
        if len(offsets) < 2:  # SVG: one stop paints flat, none paints nothing
            colors = (colors or [[0.0, 0.0, 0.0, 0.0]]) * 2
            offsets = [0.0, 1.0]
        return LinearGradient(begin.tolist(), end.tolist(), offsets, colors)

    def add(
        self,
        subpaths: list[Subpath],
        style: _Style,
        matrix: np.ndarray,
        label: tuple[str, str],
        closed_fill: bool,
    ) -> None:
        fill = style.fill if closed_fill else None
        alpha_f, alpha_s = style.fill_opacity * style.opacity, style.stroke_opacity * style.opacity
        stroke = style.stroke if style.stroke_width > 0 else None
        if not subpaths or (fill is None and stroke is None):
            return
        first = len(self.shapes)
        scale = math.sqrt(abs(np.linalg.det(matrix[:2, :2])))
        for sub in subpaths:
            pts = np.asarray(sub.points, dtype=np.float64) @ matrix[:2, :2].T + matrix[:2, 2]
            if not (np.isfinite(pts).all() and np.abs(pts).max() < 1e9 and math.isfinite(scale)):
                raise SVGError(f"shape {label[0] or len(self.groups)} has non-finite coordinates")
            self.shapes.append(
                Path(
                    torch.tensor(sub.num_control_points),
                    torch.tensor(pts, dtype=torch.float32),
                    sub.closed,
                    torch.tensor(style.stroke_width * scale),
                )
            )
        rgba = lambda c, a: None if c is None else torch.tensor([*c, a])  # noqa: E731
        self.groups.append(
            ShapeGroup(
                list(range(first, len(self.shapes))),
                rgba(fill, alpha_f),
                style.even_odd,
                rgba(stroke, alpha_s),
                id=label[0] or f"shape-{len(self.groups)}",
                label=label[1],
            )
        )


def read_svg(data: str | bytes, limits: SVGLimits | None = None) -> Scene:
    """SVG text or bytes -> Scene in canvas pixels (viewBox mapped onto width x height)."""
    root = parse_svg(data, limits)
    reader = _Reader(root)
    box = _numbers(root.get("viewBox"))
    if root.get("viewBox") is not None and (len(box) != 4 or box[2] <= 0 or box[3] <= 0):
        raise SVGError(f"viewBox must be 4 numbers with positive size, got {root.get('viewBox')!r}")
    ref_w, ref_h = (box[2], box[3]) if len(box) == 4 else (300.0, 150.0)
    width = _length(root.get("width"), ref_w, ref_w) if "%" not in root.get("width", "") else ref_w
    height = (
        _length(root.get("height"), ref_h, ref_h) if "%" not in root.get("height", "") else ref_h
    )
    if not (0 < width <= MAX_CANVAS and 0 < height <= MAX_CANVAS):
        raise SVGError(f"canvas {width}x{height} is outside 1..{MAX_CANVAS} px")
    matrix = np.eye(3)
    if len(box) == 4:
        sx, sy = width / box[2], height / box[3]
        align = root.get("preserveAspectRatio", "xMidYMid meet").split()
        if align and align[0] != "none":
            s = min(sx, sy) if "slice" not in align else max(sx, sy)
            ax = {"xMin": 0.0, "xMid": 0.5, "xMax": 1.0}.get(align[0][:4], 0.5)
            ay = {"YMin": 0.0, "YMid": 0.5, "YMax": 1.0}.get(align[0][4:], 0.5)
            tx, ty = ax * (width - s * box[2]), ay * (height - s * box[3])
            sx = sy = s
        else:
            tx = ty = 0.0
        matrix = np.array([[sx, 0, tx - sx * box[0]], [0, sy, ty - sy * box[1]], [0, 0, 1]])
        reader.viewport = (box[2], box[3])
    else:
        reader.viewport = (width, height)
    reader.find_background(matrix)
    reader.walk(root, _Style(), matrix, ("", ""))
    w, h = max(1, round(width)), max(1, round(height))
    return Scene(w, h, reader.shapes, reader.groups, reader.background)
