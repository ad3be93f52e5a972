"""SVG path data (the ``d`` attribute) to and from pydiffvg-style segment lists.

Reading handles every command (M L H V C S Q T A Z, absolute and relative, implicit repeats,
packed arc flags such as ``a5 5 0 1010 10``); elliptical arcs become cubic Béziers of at most
90° each. Writing is compact: rounded numbers, no redundant separators.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from scenecraft.errors import SVGError

_TOKEN = re.compile(
    r"\s*(?:([MmLlHhVvCcSsQqTtAaZz])|([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))\s*,?\s*"
)
_FLAG = re.compile(r"\s*([01])\s*,?\s*")
_ARITY = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "A": 7, "Z": 0}
MAX_COMMANDS = 200_000


@dataclass
class Subpath:
    """One subpath in pydiffvg's layout: points [x, y] and control points per segment."""

    points: list[tuple[float, float]] = field(default_factory=list)
    num_control_points: list[int] = field(default_factory=list)
    closed: bool = False

    def add(self, ncp: int, *pts: tuple[float, float]) -> None:
        self.num_control_points.append(ncp)
        self.points.extend(pts)


def _numbers(d: str, pos: int, command: str) -> tuple[list[float], int]:
    """Read one argument group of ``command`` starting at ``pos``."""
    values = []
    for i in range(_ARITY[command.upper()]):
        if command in "Aa" and i in (3, 4):  # arc flags may be packed without separators
            m = _FLAG.match(d, pos)
        else:
            m = _TOKEN.match(d, pos)
            if m and m.group(1):
                m = None
        if not m:
            raise SVGError(f"path data: expected a number for {command!r} at character {pos}")
        values.append(float(m.group(m.lastindex)))
        pos = m.end()
    return values, pos


def _arc(
    p0: tuple[float, float],
    rx: float,
    ry: float,
    angle: float,
    large: bool,
    sweep: bool,
    p1: tuple[float, float],
) -> list[tuple[tuple[float, float], ...]]:
    """SVG endpoint arc -> cubic control triples (c1, c2, end), per the SVG 1.1 appendix F.6."""
    if not all(math.isfinite(v) for v in (*p0, rx, ry, angle, *p1)):
        raise SVGError("path data: an arc has a non-finite number")
    if p0 == p1:
        return []
    rx, ry = abs(rx), abs(ry)
    if rx == 0 or ry == 0:
        return [(p0, p1, p1)]
    phi = math.radians(angle % 360)
    cos, sin = math.cos(phi), math.sin(phi)
    dx, dy = (p0[0] - p1[0]) / 2, (p0[1] - p1[1]) / 2
    x1, y1 = cos * dx + sin * dy, -sin * dx + cos * dy
    grow = x1 * x1 / (rx * rx) + y1 * y1 / (ry * ry)
    if grow > 1:  # radii too small: scale up (F.6.6)
        rx, ry = rx * math.sqrt(grow), ry * math.sqrt(grow)
    num = rx * rx * ry * ry - rx * rx * y1 * y1 - ry * ry * x1 * x1
    den = rx * rx * y1 * y1 + ry * ry * x1 * x1
    coef = math.sqrt(max(0.0, num / den)) * (-1 if large == sweep else 1)
    cx1, cy1 = coef * rx * y1 / ry, -coef * ry * x1 / rx
    cx = cos * cx1 - sin * cy1 + (p0[0] + p1[0]) / 2
    cy = sin * cx1 + cos * cy1 + (p0[1] + p1[1]) / 2

    def angle_of(ux: float, uy: float) -> float:
        return math.atan2(uy, ux)

    start = angle_of((x1 - cx1) / rx, (y1 - cy1) / ry)
    delta = angle_of((-x1 - cx1) / rx, (-y1 - cy1) / ry) - start
    if sweep and delta < 0:
        delta += 2 * math.pi
    elif not sweep and delta > 0:
        delta -= 2 * math.pi
    pieces = max(1, math.ceil(abs(delta) / (math.pi / 2) - 1e-9))
    step = delta / pieces
    k = 4 / 3 * math.tan(step / 4)

    def point(t: float, scale: float = 1.0, deriv: bool = False) -> tuple[float, float]:
        ex, ey = (-math.sin(t), math.cos(t)) if deriv else (math.cos(t), math.sin(t))
        ex, ey = ex * rx * scale, ey * ry * scale
        return cos * ex - sin * ey, sin * ex + cos * ey

    out = []
    for i in range(pieces):
        a0, a1 = start + i * step, start + (i + 1) * step
        s0, s1 = point(a0), point(a1)
        d0, d1 = point(a0, k, True), point(a1, k, True)
        c1 = (cx + s0[0] + d0[0], cy + s0[1] + d0[1])
        c2 = (cx + s1[0] - d1[0], cy + s1[1] - d1[1])
        end = p1 if i == pieces - 1 else (cx + s1[0], cy + s1[1])
        out.append((c1, c2, end))
    return out


def parse_path(d: str) -> list[Subpath]:
    """Path data -> subpaths (an empty list for empty data); :class:`SVGError` if malformed."""
    subpaths: list[Subpath] = []
    current: Subpath | None = None
    pos, command, count = 0, None, 0
    x = y = start_x = start_y = 0.0
    last_ctrl: tuple[float, float] | None = None  # reflection point for S / T
    last_kind = ""
    while pos < len(d):
        m = _TOKEN.match(d, pos)
        if m is None:
            if d[pos:].strip() == "":
                break
            raise SVGError(f"path data: unexpected {d[pos]!r} at character {pos}")
        if m.group(1):
            if command is None and m.group(1) not in "Mm":
                raise SVGError("path data must start with a moveto (M or m)")
            command, pos = m.group(1), m.end()
        elif command is None:
            raise SVGError("path data must start with a moveto (M or m)")
        elif command in "Zz":
            raise SVGError(f"path data: a number follows Z at character {pos}")
        count += 1
        if count > MAX_COMMANDS:
            raise SVGError(f"path data has more than {MAX_COMMANDS} commands")
        upper, rel = command.upper(), command.islower()
        if upper == "Z":
            if current is not None and current.points:
                _close(current, start_x, start_y)
                x, y = start_x, start_y
            current, last_kind = None, ""
            continue
        values, pos = _numbers(d, pos, command)
        ox, oy = (x, y) if rel else (0.0, 0.0)
        if upper == "M":
            x, y = values[0] + ox, values[1] + oy
            start_x, start_y = x, y
            current = Subpath(points=[(x, y)])
            subpaths.append(current)
            command = "l" if rel else "L"  # further pairs are implicit linetos
            last_kind = ""
            continue
        if current is None:  # drawing after Z starts a new subpath at the last point
            current = Subpath(points=[(x, y)])
            subpaths.append(current)
            start_x, start_y = x, y
        if upper in "LHV":
            if upper == "H":
                x = values[0] + ox
            elif upper == "V":
                y = values[0] + oy
            else:
                x, y = values[0] + ox, values[1] + oy
            current.add(0, (x, y))
            last_kind = ""
        elif upper in "CS":
            if upper == "C":
                c1 = (values[0] + ox, values[1] + oy)
                rest = values[2:]
            else:
                c1 = (2 * x - last_ctrl[0], 2 * y - last_ctrl[1]) if last_kind == "C" else (x, y)
                rest = values
            c2 = (rest[0] + ox, rest[1] + oy)
            x, y = rest[2] + ox, rest[3] + oy
            current.add(2, c1, c2, (x, y))
            last_ctrl, last_kind = c2, "C"
        elif upper in "QT":
            if upper == "Q":
                c = (values[0] + ox, values[1] + oy)
                x, y = values[2] + ox, values[3] + oy
            else:
                c = (2 * x - last_ctrl[0], 2 * y - last_ctrl[1]) if last_kind == "Q" else (x, y)
                x, y = values[0] + ox, values[1] + oy
            current.add(1, c, (x, y))
            last_ctrl, last_kind = c, "Q"
        else:  # A
            end = (values[5] + ox, values[6] + oy)
            for c1, c2, p in _arc(
                (x, y), values[0], values[1], values[2], values[3] != 0, values[4] != 0, end
            ):
                current.add(2, c1, c2, p)
            x, y = end
            last_kind = ""
    return [s for s in subpaths if s.num_control_points or s.closed]


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
