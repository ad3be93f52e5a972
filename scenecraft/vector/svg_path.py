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

from scenecraft.errors import SVGError

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


def _arc_cubics(arc: svgelements.Arc) -> list[svgelements.CubicBezier]:
    """An arc as cubics of at most 90 degrees each (svgelements' default is 30)."""
    if arc.start == arc.end:  # an arc to its own start draws nothing (SVG 1.1, F.6.2)
        return []
    if arc.rx == 0 or arc.ry == 0:  # a zero radius is a straight line (F.6.6)
        return [svgelements.CubicBezier(arc.start, arc.start, arc.end, arc.end)]
    pieces = max(1, math.ceil(abs(arc.sweep) / (math.pi / 2) - 1e-6))  # pi + float error: 2
    return list(arc.as_cubic_curves(pieces))


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
            for c in _arc_cubics(seg):
                current.add(2, _xy(c.control1), _xy(c.control2), _xy(c.end))
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
    s = f"{round(v, precision):.{precision}f}".rstrip("0").rstrip(".")
    if s in ("-0", ""):
        return "0"
    if s.startswith("0."):
        return s[1:]
    if s.startswith("-0."):
        return "-" + s[2:]
    return s


def format_numbers(values: list[float], precision: int) -> str:
    """Numbers joined with a space only where the next one doesn't start with '-' or '.' after
    a number that already has a decimal point."""
    out = ""
    for v in values:
        s = number(v, precision)
        if out and not (s[0] == "-" or (s[0] == "." and "." in _last_number(out))):
            out += " "
        out += s
    return out


def _last_number(text: str) -> str:
    m = re.search(r"[-+]?[\d.]+$", text)
    return m.group(0) if m else ""


def format_path(
    num_control_points: list[int],
    points: list[tuple[float, float]],
    closed: bool,
    precision: int = 2,
) -> str:
    """One subpath in pydiffvg's layout -> compact absolute path data."""
    parts = ["M" + format_numbers(list(points[0]), precision)]
    i = 0
    letters = {0: "L", 1: "Q", 2: "C"}
    for k, ncp in enumerate(num_control_points):
        seg = [points[(i + j) % len(points)] for j in range(1, ncp + 2)]
        i += ncp + 1
        if closed and k == len(num_control_points) - 1 and ncp == 0:
            break  # the closing line is implied by Z
        parts.append(letters[ncp] + format_numbers([c for p in seg for c in p], precision))
    return "".join(parts) + ("Z" if closed else "")
