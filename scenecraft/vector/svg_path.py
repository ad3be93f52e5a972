"""SVG path data (the ``d`` attribute) to and from pydiffvg-style segment lists.

Reading is svgelements' parser (every command, absolute and relative, implicit repeats, packed
arc flags such as ``a5 5 0 1010 10``, smooth-curve reflections); elliptical arcs become cubic
Béziers of at most 90° each. Writing is compact: rounded numbers, no redundant separators.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import svgelements

from scenecraft.core.errors import SVGError

MAX_COMMANDS = 200_000
_COMMANDS = re.compile(r"[MmLlHhVvCcSsQqTtAaZz]")


@dataclass
class Subpath:
    """One subpath in pydiffvg's layout: points [x, y] and control points per segment."""

    points: list[tuple[float, float]] = field(default_factory=list)
    num_control_points: list[int] = field(default_factory=list)
    closed: bool = False

    def add(self, ncp: int, *pts: tuple[float, float]) -> None:
        self.num_control_points.append(ncp)
        self.points.extend(pts)


def _xy(point: svgelements.Point) -> tuple[float, float]:
    return (float(point.x), float(point.y))


def _arc_cubics(arc: svgelements.Arc) -> list[tuple[tuple[float, float], ...]]:
    """An arc as cubics of at most 90 degrees each: (control 1, control 2, end) per cubic.

    svgelements' own conversion (Maisonobe's control length) strays 0.2 % of the radius from a
    90-degree arc; the usual 4/3 tan(sweep / 4) strays 0.03 %.
    """
    if arc.start == arc.end:  # an arc to its own start draws nothing (SVG 1.1, F.6.2)
        return []
    if arc.rx == 0 or arc.ry == 0:  # a zero radius is a straight line (F.6.6)
        return [(_xy(arc.start), _xy(arc.end), _xy(arc.end))]
    pieces = max(1, math.ceil(abs(arc.sweep) / (math.pi / 2) - 1e-6))  # pi + float error: 2
    step = arc.sweep / pieces
    alpha = 4 / 3 * math.tan(step / 4)
    cos_r, sin_r = math.cos(arc.get_rotation()), math.sin(arc.get_rotation())
    cx, cy, rx, ry = float(arc.center.x), float(arc.center.y), float(arc.rx), float(arc.ry)

    def at(t: float) -> tuple[tuple[float, float], tuple[float, float]]:
        """The point at parameter t and the derivative there."""
        x, y, dx, dy = rx * math.cos(t), ry * math.sin(t), -rx * math.sin(t), ry * math.cos(t)
        point = (cx + x * cos_r - y * sin_r, cy + x * sin_r + y * cos_r)
        return point, (dx * cos_r - dy * sin_r, dx * sin_r + dy * cos_r)

    out = []
    t, start = arc.get_start_t(), _xy(arc.start)
    for i in range(pieces):
        _, d0 = at(t)
        end, d1 = at(t + step)
        end = _xy(arc.end) if i == pieces - 1 else end
        c1 = (start[0] + alpha * d0[0], start[1] + alpha * d0[1])
        c2 = (end[0] - alpha * d1[0], end[1] - alpha * d1[1])
        out.append((c1, c2, end))
        start, t = end, t + step
    return out


def parse_path(d: str) -> list[Subpath]:
    """Path data -> subpaths (an empty list for empty data); :class:`SVGError` if malformed.

    svgelements reads the data (every command, relative and absolute, implicit repeats, packed
    arc flags); this turns its segments into pydiffvg's layout: arcs become cubics, Z closes the
    subpath, drawing after Z starts a new subpath where Z ended, and the smooth curves' reflected
    control points follow the spec. Malformed data is an SVGError, except where svgelements stops
    quietly at trailing text (``M0 0L5 5 x`` draws the line, as browsers draw up to an error).
    """
    text = d.strip()
    if not text:
        return []
    if text[0] not in "Mm":
        raise SVGError("path data must start with a moveto (M or m)")
    if len(_COMMANDS.findall(text)) > MAX_COMMANDS:
        raise SVGError(f"path data has more than {MAX_COMMANDS} commands")
    try:
        segments = list(svgelements.Path(text))
    except (ValueError, IndexError, TypeError) as e:
        raise SVGError(f"path data: expected a number, or a command, in {_excerpt(text)}") from e
    if len(segments) > MAX_COMMANDS:
        raise SVGError(f"path data has more than {MAX_COMMANDS} commands")
    subpaths: list[Subpath] = []
    current: Subpath | None = None
    start = (0.0, 0.0)
    kind, control = "", (0.0, 0.0)  # the last curve's type and its last control point
    for seg in segments:
        if isinstance(seg, svgelements.Move):
            start = _xy(seg.end)
            current = Subpath(points=[start])
            subpaths.append(current)
            kind = ""
            continue
        if isinstance(seg, svgelements.Close):
            if current is not None and current.points:
                _close(current, *start)
            current, kind = None, ""
            continue
        if current is None:  # drawing after Z starts a new subpath where Z ended
            start = _xy(seg.start)
            current = Subpath(points=[start])
            subpaths.append(current)
        here = _xy(seg.start)
        if isinstance(seg, svgelements.Line):
            current.add(0, _xy(seg.end))
            kind = ""
        elif isinstance(seg, svgelements.QuadraticBezier):
            c = _smooth(here, kind == "Q", control) if seg.smooth else _xy(seg.control)
            current.add(1, c, _xy(seg.end))
            kind, control = "Q", c
        elif isinstance(seg, svgelements.CubicBezier):
            c1 = _smooth(here, kind == "C", control) if seg.smooth else _xy(seg.control1)
            control = _xy(seg.control2)
            current.add(2, c1, control, _xy(seg.end))
            kind = "C"
        elif isinstance(seg, svgelements.Arc):
            for c1, c2, end in _arc_cubics(seg):
                current.add(2, c1, c2, end)
            kind = ""
        else:  # pragma: no cover - svgelements has no other segment kinds
            raise SVGError(f"path data: unsupported segment {type(seg).__name__}")
    out = [s for s in subpaths if s.num_control_points or s.closed]
    if not all(math.isfinite(v) for s in out for p in s.points for v in p):
        raise SVGError("path data has a number too large to draw")
    return out


def _smooth(
    here: tuple[float, float], same_kind: bool, last: tuple[float, float]
) -> tuple[float, float]:
    """S / T's first control point: the last one reflected about the current point when the
    previous segment was a curve of the same kind, else the current point (SVG 1.1, 8.3.6-7).
    svgelements 1.9 also reflects across kinds (T after C, S after Q), so it is redone here."""
    if not same_kind:
        return here
    return (2 * here[0] - last[0], 2 * here[1] - last[1])


def _excerpt(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[:width] + "...")


def _close(sub: Subpath, sx: float, sy: float) -> None:
    """Z: the last segment ends on the first point, which pydiffvg's layout leaves implicit."""
    if sub.points[-1] == (sx, sy) and sub.num_control_points:
        sub.points.pop()
    else:
        sub.num_control_points.append(0)
    sub.closed = True


def number(v: float, precision: int) -> str:
    """Compact decimal: 0.50 -> '.5', -0.0 -> '0', 12.000 -> '12'."""
    return _fixed(round(v * 10**precision), precision)


def _fixed(k: int, precision: int) -> str:
    """``k`` units of 10**-precision, compactly: (5, 1) -> '.5', (-120, 1) -> '-12'."""
    whole, frac = divmod(abs(k), 10**precision)
    decimals = f"{frac:0{precision}d}".rstrip("0") if precision else ""
    text = (str(whole) if whole or not decimals else "") + (f".{decimals}" if decimals else "")
    return "-" + text if k < 0 else text


def _joins(previous: str, token: str) -> bool:
    """Whether ``token`` may follow the number ``previous`` with no space between them."""
    return token[0] == "-" or (token[0] == "." and "." in previous)


class PathData:
    """Compact path data for one ``d`` attribute, subpath by subpath.

    Coordinates are rounded to ``precision`` decimals first, so relative commands carry no
    accumulated rounding: each segment is written absolute or relative, whichever is shorter;
    straight segments (a cubic whose controls lie on its chord, to the rounding) as L, H or V;
    a repeated command letter is left implicit; a closing line is left to Z.
    """

    def __init__(self, precision: int = 2) -> None:
        self.precision = precision
        self.parts: list[str] = []
        self.pen: tuple[int, int] | None = None  # current point, in units of 10**-precision
        self.repeat = ""  # the command a bare run of numbers would continue
        self.last = ""  # the last number written

    def __str__(self) -> str:
        return "".join(self.parts)

    def _units(self, point: tuple[float, float]) -> tuple[int, int]:
        scale = 10**self.precision
        return round(point[0] * scale), round(point[1] * scale)

    def _candidate(self, letter: str, values: list[int]) -> list[str]:
        tokens = [_fixed(v, self.precision) for v in values]
        out = [] if letter == self.repeat else [letter]
        previous = "" if out else self.last
        for t in tokens:
            if previous and not _joins(previous, t):
                out.append(" ")
            out.append(t)
            previous = t
        return out

    def _emit(self, letter: str, absolute: list[int], end: tuple[int, int]) -> None:
        """One command, absolute values given; written relative where that is shorter."""
        pen = self.pen or (0, 0)
        relative = [v - pen[i % 2] for i, v in enumerate(absolute)]
        if letter in "HV":  # one coordinate: x for H, y for V
            relative = [absolute[0] - pen[0 if letter == "H" else 1]]
        options = [self._candidate(letter, absolute)]
        if self.pen is not None:
            options.append(self._candidate(letter.lower(), relative))
        best = min(options, key=lambda o: len("".join(o)))
        self.parts.extend(best)
        chosen = letter if best is options[0] else letter.lower()
        self.last = _fixed((absolute if chosen == letter else relative)[-1], self.precision)
        self.repeat = {"M": "L", "m": "l"}.get(chosen, chosen)
        self.pen = end

    def _line(self, end: tuple[int, int]) -> None:
        x0, y0 = self.pen
        if end[1] == y0:
            self._emit("H", [end[0]], end)
        elif end[0] == x0:
            self._emit("V", [end[1]], end)
        else:
            self._emit("L", list(end), end)

    def subpath(
        self, num_control_points: list[int], points: list[tuple[float, float]], closed: bool
    ) -> None:
        """One subpath in pydiffvg's layout."""
        pts = [self._units(p) for p in points]
        start = pts[0]
        self._emit("M", list(start), start)
        i = 0
        for k, ncp in enumerate(num_control_points):
            seg = [pts[(i + j) % len(pts)] for j in range(1, ncp + 2)]
            i += ncp + 1
            straight = ncp == 0 or _straight(self.pen, *seg)
            if closed and k == len(num_control_points) - 1 and straight:
                break  # the closing line is implied by Z
            if straight:
                self._line(seg[-1])
            else:
                self._emit("QC"[ncp - 1], [c for p in seg for c in p], seg[-1])
        if closed:
            self.parts.append("Z")
            self.pen, self.repeat, self.last = start, "", ""

    def absolute(self, text: str, end: tuple[float, float]) -> None:
        """Commands written elsewhere, absolute from their moveto on; the pen ends at ``end``."""
        self.parts.append(text)
        self.pen, self.repeat, self.last = self._units(end), "", ""


def _straight(p0: tuple[int, int], *rest: tuple[int, int]) -> bool:
    """Whether a curve's controls lie on the chord from ``p0`` to its end (within half a unit,
    between the ends), so that it draws the straight line."""
    (x0, y0), (x3, y3) = p0, rest[-1]
    dx, dy = x3 - x0, y3 - y0
    length2 = dx * dx + dy * dy
    for cx, cy in rest[:-1]:
        if length2 == 0:
            if (cx, cy) != p0:
                return False
            continue
        t = ((cx - x0) * dx + (cy - y0) * dy) / length2
        across = abs((cx - x0) * dy - (cy - y0) * dx) / length2**0.5
        if not 0 <= t <= 1 or across > 0.5:
            return False
    return True


def format_path(
    num_control_points: list[int],
    points: list[tuple[float, float]],
    closed: bool,
    precision: int = 2,
) -> str:
    """One subpath in pydiffvg's layout -> compact path data (see :class:`PathData`)."""
    data = PathData(precision)
    data.subpath(num_control_points, points, closed)
    return str(data)
