"""The vector scene model: shapes, shape groups and a canvas, shaped like pydiffvg's.

Code written against pydiffvg reads the same here: ``Path(num_control_points, points, is_closed,
stroke_width)``, ``ShapeGroup(shape_ids, fill_color, use_even_odd_rule, stroke_color)``.

Conventions (where scenecraft deliberately differs from diffvg, the comment says so):
- coordinates are pixels, origin top-left, y down (SVG's user space);
- ``stroke_width`` is the FULL stroke width as in SVG (diffvg's is a half-width);
- colours are straight (not premultiplied) RGBA in [0, 1]; A is the fill or stroke opacity;
- strokes have round joins and round caps (diffvg's distance-based strokes look like that too);
- a group's fill is decided by the winding of all its shapes together, so a second path in the
  same group with ``use_even_odd_rule=True`` cuts a hole;
- groups paint in list order, later on top; within a group the fill paints before the stroke.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from scenecraft.core.errors import InvalidParams


def _tensor(value: Tensor | float | list, dtype: torch.dtype = torch.float32) -> Tensor:
    return value if isinstance(value, Tensor) else torch.as_tensor(value, dtype=dtype)


@dataclass(eq=False)
class Path:
    """Line (0), quadratic (1) and cubic (2) segments, pydiffvg's point layout.

    ``points`` [P, 2] lists an on-curve point, then the segment's control points, then the next
    on-curve point, and so on; a closed path's last segment ends at ``points[0]`` (so it has
    ``sum(ncp + 1)`` points; an open one has one more).
    """

    num_control_points: Tensor  # [S] int
    points: Tensor  # [P, 2]
    is_closed: bool = True
    stroke_width: Tensor = field(default_factory=lambda: torch.tensor(1.0))
    id: str = ""

    def __post_init__(self) -> None:
        self.num_control_points = _tensor(self.num_control_points, torch.int64)
        self.points = _tensor(self.points)
        self.stroke_width = _tensor(self.stroke_width)


@dataclass(eq=False)
class Circle:
    radius: Tensor  # []
    center: Tensor  # [2]
    stroke_width: Tensor = field(default_factory=lambda: torch.tensor(1.0))
    id: str = ""

    def __post_init__(self) -> None:
        self.radius, self.center = _tensor(self.radius), _tensor(self.center)
        self.stroke_width = _tensor(self.stroke_width)


@dataclass(eq=False)
class Ellipse:
    radius: Tensor  # [2] (rx, ry)
    center: Tensor  # [2]
    stroke_width: Tensor = field(default_factory=lambda: torch.tensor(1.0))
    id: str = ""

    def __post_init__(self) -> None:
        self.radius, self.center = _tensor(self.radius), _tensor(self.center)
        self.stroke_width = _tensor(self.stroke_width)


@dataclass(eq=False)
class Rect:
    p_min: Tensor  # [2] top-left
    p_max: Tensor  # [2] bottom-right
    stroke_width: Tensor = field(default_factory=lambda: torch.tensor(1.0))
    id: str = ""

    def __post_init__(self) -> None:
        self.p_min, self.p_max = _tensor(self.p_min), _tensor(self.p_max)
        self.stroke_width = _tensor(self.stroke_width)


@dataclass(eq=False)
class Polygon:
    points: Tensor  # [P, 2]
    is_closed: bool = True
    stroke_width: Tensor = field(default_factory=lambda: torch.tensor(1.0))
    id: str = ""

    def __post_init__(self) -> None:
        self.points = _tensor(self.points)
        self.stroke_width = _tensor(self.stroke_width)


Shape = Path | Circle | Ellipse | Rect | Polygon


@dataclass(eq=False)
class LinearGradient:
    """pydiffvg's LinearGradient, used here for the canvas background: the colour runs along
    begin -> end (pixels), piecewise linear between stops, padded beyond them (SVG's ``pad``)."""

    begin: Tensor  # [2]
    end: Tensor  # [2]
    offsets: Tensor  # [K] increasing, in [0, 1]
    stop_colors: Tensor  # [K, 4] straight RGBA

    def __post_init__(self) -> None:
        self.begin, self.end = _tensor(self.begin), _tensor(self.end)
        self.offsets, self.stop_colors = _tensor(self.offsets), _tensor(self.stop_colors)

    def sample(self, width: int, height: int, scale: Tensor) -> Tensor:
        """[height, width, 4] straight RGBA at pixel centres; ``scale`` [2] maps scene px to
        output px."""
        dev, dtype = self.stop_colors.device, self.stop_colors.dtype
        ys, xs = torch.meshgrid(
            torch.arange(height, device=dev, dtype=dtype) + 0.5,
            torch.arange(width, device=dev, dtype=dtype) + 0.5,
            indexing="ij",
        )
        begin, end = self.begin.to(dtype) * scale, self.end.to(dtype) * scale
        axis = end - begin
        t = ((xs - begin[0]) * axis[0] + (ys - begin[1]) * axis[1]) / (axis @ axis).clamp(
            min=1e-12
        )  # [H, W]
        t = t.clamp(float(self.offsets[0]), float(self.offsets[-1]))
        k = torch.searchsorted(self.offsets.detach().contiguous(), t.detach().contiguous())
        k = k.clamp(1, len(self.offsets) - 1)
        lo, hi = self.offsets[k - 1], self.offsets[k]
        w = ((t - lo) / (hi - lo).clamp(min=1e-12))[..., None]  # [H, W, 1]
        return self.stop_colors[k - 1] * (1 - w) + self.stop_colors[k] * w


@dataclass(eq=False)
class ShapeGroup:
    """Shapes painted together with one fill and one stroke (either may be ``None``)."""

    shape_ids: Tensor | list[int]
    fill_color: Tensor | None  # [4] straight RGBA
    use_even_odd_rule: bool = True  # pydiffvg's default; SVG's default is nonzero
    stroke_color: Tensor | None = None  # [4] straight RGBA
    shape_to_canvas: Tensor | None = None  # [3, 3] affine, applied to every shape of the group
    id: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        self.shape_ids = [int(i) for i in _tensor(self.shape_ids, torch.int64).reshape(-1)]
        if self.fill_color is not None:
            self.fill_color = _tensor(self.fill_color)
        if self.stroke_color is not None:
            self.stroke_color = _tensor(self.stroke_color)


@dataclass(eq=False)
class Scene:
    canvas_width: int
    canvas_height: int
    shapes: list[Shape]
    shape_groups: list[ShapeGroup]
    background: Tensor | LinearGradient | None = None  # [4] straight RGBA; None = transparent

    @property
    def device(self) -> torch.device:
        """Where the scene's tensors live (the first shape's); CPU for an empty scene."""
        return self._first_tensor().device

    @property
    def dtype(self) -> torch.dtype:
        """float64 when the shapes are float64 (for gradient checks), else float32."""
        return torch.float64 if self._first_tensor().dtype == torch.float64 else torch.float32

    def _first_tensor(self) -> Tensor:
        for shape in self.shapes:
            for value in vars(shape).values():
                if isinstance(value, Tensor) and value.is_floating_point():
                    return value
        return torch.zeros(())

    def validate(self) -> None:
        """Raise :class:`InvalidParams` naming the first bad field (size, ids, NaNs)."""
        if self.canvas_width <= 0 or self.canvas_height <= 0:
            raise InvalidParams.single(
                "scene.canvas",
                f"canvas must be at least 1x1, got {self.canvas_width}x{self.canvas_height}",
            )
        for i, shape in enumerate(self.shapes):
            for name, value in vars(shape).items():
                floating = isinstance(value, Tensor) and value.is_floating_point()
                if floating and not torch.isfinite(value).all():
                    raise InvalidParams.single(
                        f"scene.shapes[{i}].{name}", "contains NaN or infinite values"
                    )
            if isinstance(shape, Path):
                _check_path_layout(shape, i)
        bg = self.background
        tensors = [bg] if isinstance(bg, Tensor) else [] if bg is None else list(vars(bg).values())
        if not all(torch.isfinite(t).all() for t in tensors):
            raise InvalidParams.single("scene.background", "contains NaN or infinite values")
        for g, group in enumerate(self.shape_groups):
            for sid in group.shape_ids:
                if not 0 <= sid < len(self.shapes):
                    raise InvalidParams.single(
                        f"scene.shape_groups[{g}].shape_ids",
                        f"shape id {sid} is not one of the scene's {len(self.shapes)} shapes",
                    )
            for name in ("fill_color", "stroke_color"):
                color = getattr(group, name)
                if color is not None and (color.shape != (4,) or not torch.isfinite(color).all()):
                    raise InvalidParams.single(
                        f"scene.shape_groups[{g}].{name}", "must be 4 finite RGBA values"
                    )


def _check_path_layout(path: Path, index: int) -> None:
    ncp = path.num_control_points
    expected = int((ncp + 1).sum()) + (0 if path.is_closed else 1)
    if ncp.numel() == 0 or ((ncp < 0) | (ncp > 2)).any():
        raise InvalidParams.single(
            f"scene.shapes[{index}].num_control_points",
            "needs at least one segment, each with 0, 1 or 2 control points",
        )
    if path.points.shape != (expected, 2):
        raise InvalidParams.single(
            f"scene.shapes[{index}].points",
            f"expected [{expected}, 2] for these segments, got {list(path.points.shape)}",
        )
