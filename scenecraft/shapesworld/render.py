"""Exact renders of a ShapesWorld scene: anti-aliased raster, SVG, and instance masks.

The raster is drawn with PIL at 4x4 supersampling (coverage = fraction of 16 samples inside) and
composited in sRGB like an SVG renderer; the SVG holds the same geometry (circles as <circle>,
hearts as cubic Beziers), so an independent SVG renderer reproduces the raster (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

import numpy as np
from PIL import Image, ImageDraw

from scenecraft.shapesworld.grammar import (
    BACKGROUNDS,
    COLORS,
    HEART_SEGMENTS,
    HEART_START,
    transform,
)
from scenecraft.shapesworld.scene import Scene, ShapeObject

SUPERSAMPLE = 4


@dataclass
class RenderOut:
    image: np.ndarray  # [H, W, 3] uint8
    masks: np.ndarray  # [H, W] int32: 0 = background, k = scene.objects[k - 1]
    coverage: np.ndarray  # [N, H, W] float32, each object's own anti-aliased coverage
    svg: str


def background_array(background: tuple[str, str], height: int, width: int) -> np.ndarray:
    """Vertical gradient sampled at pixel centres, [H, W, 3] float in 0..255."""
    top = np.array(BACKGROUNDS[background[0]], dtype=np.float64)
    bottom = np.array(BACKGROUNDS[background[1]], dtype=np.float64)
    t = ((np.arange(height) + 0.5) / height)[:, None, None]
    return np.broadcast_to(top * (1 - t) + bottom * t, (height, width, 3)).copy()


def object_coverage(obj: ShapeObject, height: int, width: int) -> np.ndarray:
    """Anti-aliased coverage of one object, [H, W] float32 in 0..1."""
    s = SUPERSAMPLE
    pts = obj.outline() * np.array([width, height])  # pixels
    x0, y0 = np.floor(pts.min(0)).astype(int).clip(0, [width, height])
    x1, y1 = np.ceil(pts.max(0)).astype(int).clip(0, [width, height])
    cov = np.zeros((height, width), np.float32)
    if x1 <= x0 or y1 <= y0:
        return cov
    canvas = Image.new("L", (int(x1 - x0) * s, int(y1 - y0) * s), 0)
    local = (pts - np.array([x0, y0])) * s - 0.5  # PIL samples at integer coordinates
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in local], fill=255)
    small = np.asarray(canvas, np.float32).reshape(y1 - y0, s, x1 - x0, s).mean(axis=(1, 3))
    cov[y0:y1, x0:x1] = small / 255.0
    return cov


def render_scene(scene: Scene, size: int | tuple[int, int]) -> RenderOut:
    """Render a scene at ``size`` (square side, or (width, height))."""
    width, height = (size, size) if isinstance(size, int) else size
    if width < 1 or height < 1:
        raise ValueError(f"canvas must be at least 1x1, got {width}x{height}")
    img = background_array(scene.background, height, width)
    covs = np.zeros((len(scene.objects), height, width), np.float32)
    for k, obj in enumerate(scene.objects):
        cov = object_coverage(obj, height, width)
        covs[k] = cov
        img = img * (1 - cov[..., None]) + np.array(COLORS[obj.color]) * cov[..., None]
    masks = np.zeros((height, width), np.int32)
    # visible ownership: the topmost object covering at least half the pixel owns it
    for k in range(len(scene.objects)):
        masks[covs[k] >= 0.5] = k + 1
    image = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return RenderOut(image=image, masks=masks, coverage=covs, svg=scene_svg(scene, width, height))


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _object_element(obj: ShapeObject, width: int, height: int) -> str:
    fill = "#{:02x}{:02x}{:02x}".format(*COLORS[obj.color])
    if obj.shape == "circle":
        # circles are only round on square canvases; otherwise fall through to an ellipse
        return (
            f'<ellipse cx="{_fmt(obj.cx * width)}" cy="{_fmt(obj.cy * height)}" '
            f'rx="{_fmt(obj.r * width)}" ry="{_fmt(obj.r * height)}" fill="{fill}"/>'
        )
    scale = np.array([width, height])
    if obj.shape == "heart":
        start = transform(HEART_START[None], obj.cx, obj.cy, obj.r, obj.rotation)[0] * scale
        d = [f"M{_fmt(start[0])} {_fmt(start[1])}"]
        for seg in HEART_SEGMENTS:
            p = transform(seg, obj.cx, obj.cy, obj.r, obj.rotation) * scale
            d.append("C" + " ".join(f"{_fmt(x)} {_fmt(y)}" for x, y in p))
        return f'<path d="{"".join(d)}Z" fill="{fill}"/>'
    pts = obj.outline() * scale
    return f'<polygon points="{" ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in pts)}" fill="{fill}"/>'


def scene_svg(scene: Scene, width: int, height: int) -> str:
    """Exact SVG of a scene: a background layer and one named ``<g>`` per object."""
    top = "#{:02x}{:02x}{:02x}".format(*BACKGROUNDS[scene.background[0]])
    bottom = "#{:02x}{:02x}{:02x}".format(*BACKGROUNDS[scene.background[1]])
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        '<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">'
        f'<stop offset="0" stop-color="{top}"/><stop offset="1" stop-color="{bottom}"/>'
        "</linearGradient></defs>",
        f'<g id="background"><rect width="{width}" height="{height}" fill="url(#bg)"/></g>',
    ]
    counts: dict[str, int] = {}
    for obj in scene.objects:
        counts[obj.label] = counts.get(obj.label, 0) + 1
        gid = f"{obj.color}-{obj.shape}-{counts[obj.label]}"
        label = quoteattr(f"{obj.label} #{counts[obj.label]}")
        lines.append(f'<g id="{gid}" data-label={label}>{_object_element(obj, width, height)}</g>')
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def to_png(image: np.ndarray) -> bytes:
    """Encode an [H, W, 3] or [H, W] uint8 array as PNG bytes."""
    import io

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", optimize=False)
    return buf.getvalue()
