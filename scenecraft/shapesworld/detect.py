"""The ShapesWorld detector: finds coloured shapes in ANY image (rendered, generated, degraded).

How it reads an image:
1. Background: ShapesWorld backgrounds are light neutrals, so each row's background colour is the
   median of its low-saturation pixels (gradients and colour casts are followed row by row).
2. Colour: a pixel is modelled as ``bg + alpha * (colour - bg)`` for each palette colour; the
   colour with the smallest residual wins. Anti-aliased or blurred rims are mixtures with the
   background, so they keep their object's colour instead of turning into a lighter hue.
3. Objects: per colour, labels are smoothed by a 3x3 majority vote, then split into connected
   components; tiny ones are noise.
4. Shape: each component's alpha map is resampled in a frame normalised by its centroid and
   sqrt(area) (both unchanged by blur) and compared by soft IoU with templates of every shape at
   every rotation; the best IoU is the shape and the score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from scenecraft.core.contracts import Detection
from scenecraft.shapesworld.grammar import (
    COLORS,
    ROTATION_PERIOD,
    SHAPES,
    star_outline,
    unit_outline,
)

_PALETTE = np.array(list(COLORS.values()), np.float32) / 255.0  # [K, 3]
_NAMES = list(COLORS)
_GRID = 48  # template resolution
_EXTENT = 1.6  # half-width of the normalised frame, in units of sqrt(area)
_ROT_STEP = 3.0  # degrees
# Templates are also compared blurred, at these Gaussian sigmas in grid cells: a blurred object
# matches its blurred template better than a rounder shape's (a blurred hexagon is not a circle).
_BLUR_LEVELS = (0.0, 0.6, 1.2, 1.8, 2.6, 3.6)


@dataclass(frozen=True)
class DetectorConfig:
    """Thresholds; the in-loop detector and the benchmark judge each keep their own copy."""

    min_fg: float = 0.18  # least distance from background (RGB, 0..1) to count as foreground
    min_alpha: float = 0.3  # least mixing weight of the winning colour
    min_area: float = 0.0015  # least component area, fraction of the image
    min_score: float = 0.55  # least template IoU to report a shape
    max_side: int = 256  # larger images are downscaled first (the shapes are not tiny)
    star_variants: bool = True  # fatter, four- and six-point stars (STAR_VARIANTS) are stars too


# The benchmark judge asks more of a shape than the loop's detector (which should see every
# candidate): calibrated 2026-12-08 against shapes labelled by a person (`scenecraft eval judge`,
# docs/shapesworld.md): exact renders score >= 0.90, VAE reconstructions and JPEG-40 copies >= 0.83
# for 99 in 100 objects, while generated blobs a person names no shape mostly score below 0.75.
JUDGE_CONFIG = DetectorConfig(min_score=0.75)
LOOP_CONFIG = DetectorConfig()
# Stars as people draw and a diffusion model makes them: fatter (inner radius up to 0.65 of the
# outer) and with four or six points are stars still, and were read as squares or hexagons with
# only ShapesWorld's own five-point star (inner 0.45) to match. (points, inner radius)
STAR_VARIANTS = ((5, 0.45), (5, 0.55), (5, 0.65), (4, 0.4), (4, 0.5), (6, 0.5), (6, 0.6))


def _polygon_area_centroid(pts: np.ndarray) -> tuple[float, np.ndarray]:
    x, y = pts[:, 0], pts[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = cross.sum() / 2
    cx = ((x + xn) * cross).sum() / (6 * area)
    cy = ((y + yn) * cross).sum() / (6 * area)
    return abs(area), np.array([cx, cy])


@lru_cache(maxsize=2)
def _templates(star_variants: bool = True) -> tuple[np.ndarray, list[str]]:
    """Area-normalised shape masks at every distinct rotation: [T, G, G] float, and their shapes."""
    masks, names = [], []
    s = 4
    outlines = [(sh, unit_outline(sh), ROTATION_PERIOD[sh]) for sh in SHAPES if sh != "star"]
    stars = STAR_VARIANTS if star_variants else STAR_VARIANTS[:1]
    outlines += [("star", star_outline(p, 1.0, r), 360 / p) for p, r in stars]
    for shape, pts, period in outlines:
        area, c = _polygon_area_centroid(pts)
        pts = (pts - c) / math.sqrt(area)
        if shape == "circle":
            angles = [0.0]
        elif period == 0:  # hearts are drawn upright; generated ones may lean a little
            angles = list(np.arange(-15, 15.1, _ROT_STEP))
        else:
            angles = list(np.arange(0, period, _ROT_STEP))
        for a in angles:
            r = math.radians(a)
            rot = np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])
            q = pts @ rot.T
            pix = (q + _EXTENT) / (2 * _EXTENT) * _GRID * s - 0.5
            img = Image.new("L", (_GRID * s, _GRID * s), 0)
            ImageDraw.Draw(img).polygon([tuple(p) for p in pix], fill=255)
            m = np.asarray(img, np.float32).reshape(_GRID, s, _GRID, s).mean(axis=(1, 3)) / 255
            masks.append(m)
            names.append(shape)
    return np.stack(masks), names


@lru_cache(maxsize=2 * len(_BLUR_LEVELS))
def _blurred_templates(level: int, star_variants: bool = True) -> np.ndarray:
    sigma = _BLUR_LEVELS[level]
    masks = _templates(star_variants)[0]
    if sigma == 0:
        return masks
    return ndimage.gaussian_filter(masks, sigma=(0, sigma, sigma), mode="constant")


def background(img: np.ndarray) -> np.ndarray:
    """Per-row background colour [H, 1, 3] of an [H, W, 3] float image (0..1), from its
    low-saturation, light pixels; rows with none are interpolated, and an image with none at
    all gets its border's median colour."""
    mx, mn = img.max(-1), img.min(-1)
    sat = (mx - mn) / np.maximum(mx, 1e-6)
    neutral = (sat < 0.2) & (mx > 0.5)
    h = img.shape[0]
    rows = np.full((h, 3), np.nan, np.float32)
    for y in range(h):
        sel = neutral[y]
        if sel.sum() >= 3:
            rows[y] = np.median(img[y][sel], axis=0)
    ok = ~np.isnan(rows[:, 0])
    if not ok.any():  # no neutral pixel at all: fall back to the border's median colour
        border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
        rows[:] = np.median(border, axis=0)
    elif not ok.all():
        idx = np.arange(h)
        for c in range(3):
            rows[:, c] = np.interp(idx, idx[ok], rows[ok, c])
    rows = ndimage.uniform_filter1d(rows, size=max(3, h // 16), axis=0, mode="nearest")
    return rows[:, None, :]


def _colour_labels(img: np.ndarray, cfg: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel palette index (-1 = background) and the mixing weight alpha, both [H, W]."""
    bg = background(img)
    diff = img - bg  # [H, W, 3]
    dirs = _PALETTE[:, None, None, :] - bg[None]  # [K, H, 1, 3]
    denom = (dirs**2).sum(-1).clip(1e-4)  # [K, H, 1]
    alpha = ((diff[None] * dirs).sum(-1) / denom).clip(0, 1.2)  # [K, H, W]
    resid = ((diff[None] - alpha[..., None] * dirs) ** 2).sum(-1)  # [K, H, W]
    resid = np.where(alpha >= cfg.min_alpha, resid, np.inf)
    best = resid.argmin(0)
    best_alpha = np.take_along_axis(alpha, best[None], 0)[0]
    fg = (np.sqrt((diff**2).sum(-1)) >= cfg.min_fg) & np.isfinite(resid.min(0))
    labels = np.where(fg, best, -1)
    # 3x3 majority vote over {background, colours}: removes salt-and-pepper noise
    votes = np.stack(
        [
            ndimage.uniform_filter((labels == k).astype(np.float32), 3)
            for k in range(-1, len(_NAMES))
        ]
    )
    labels = votes.argmax(0) - 1
    return labels, best_alpha


def classify_shape(alpha: np.ndarray, star_variants: bool = True) -> tuple[str, float]:
    """Best-matching shape of one object's alpha map [H, W] (1 inside), and its soft IoU."""
    area = float(alpha.sum())
    if area < 4:
        return "circle", 0.0
    ys, xs = np.indices(alpha.shape)
    cy, cx = (alpha * ys).sum() / area, (alpha * xs).sum() / area
    s = math.sqrt(area)
    u = (np.arange(_GRID) + 0.5) / _GRID * 2 * _EXTENT - _EXTENT
    gy, gx = np.meshgrid(cy + u * s, cx + u * s, indexing="ij")
    sample = ndimage.map_coordinates(alpha, [gy - 0.0, gx - 0.0], order=1, cval=0.0)
    sample = sample.clip(0, 1)  # [G, G]
    names = _templates(star_variants)[1]
    best_iou, best_name = -1.0, "circle"
    for level in range(len(_BLUR_LEVELS)):
        templates = _blurred_templates(level, star_variants)
        inter = np.minimum(templates, sample).sum((1, 2))
        union = np.maximum(templates, sample).sum((1, 2))
        iou = inter / np.maximum(union, 1e-6)
        i = int(iou.argmax())
        if iou[i] > best_iou:
            best_iou, best_name = float(iou[i]), names[i]
    return best_name, best_iou


def detect(image: np.ndarray, cfg: DetectorConfig = JUDGE_CONFIG) -> list[Detection]:
    """Find ShapesWorld objects in an [H, W, 3] uint8 (or float 0..1) image."""
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected an [H, W, 3] image, got shape {image.shape}")
    h0, w0 = image.shape[:2]
    img = image[..., :3]
    img = img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)
    scale = min(1.0, cfg.max_side / max(h0, w0))
    if scale < 1.0:
        size = (max(1, round(w0 * scale)), max(1, round(h0 * scale)))
        pil = Image.fromarray((img * 255).round().astype(np.uint8)).resize(size, Image.BOX)
        img = np.asarray(pil, np.float32) / 255.0
    h, w = img.shape[:2]
    labels, alpha = _colour_labels(img, cfg)
    out: list[Detection] = []
    for k, colour in enumerate(_NAMES):
        comp, n = ndimage.label(labels == k, structure=np.ones((3, 3)))
        if n == 0:
            continue
        for i, sl in enumerate(ndimage.find_objects(comp), start=1):
            region = comp[sl] == i
            if region.sum() < cfg.min_area * h * w:
                continue
            # pad so the rim (partly transparent) and the normalised frame fit inside
            pad = 4
            y0, y1 = max(sl[0].start - pad, 0), min(sl[0].stop + pad, h)
            x0, x1 = max(sl[1].start - pad, 0), min(sl[1].stop + pad, w)
            own = comp[y0:y1, x0:x1] == i
            a = np.where(ndimage.binary_dilation(own, iterations=1), alpha[y0:y1, x0:x1], 0)
            shape, score = classify_shape(a.clip(0, 1), cfg.star_variants)
            if score < cfg.min_score:
                continue
            mask = np.zeros((h, w), bool)
            mask[y0:y1, x0:x1] = own & (a >= 0.5)
            if not mask.any():
                continue
            ys, xs = np.nonzero(mask)
            box = [
                xs.min() / w,
                ys.min() / h,
                (xs.max() + 1 - xs.min()) / w,
                (ys.max() + 1 - ys.min()) / h,
            ]
            if scale < 1.0:
                mask = np.asarray(Image.fromarray(mask).resize((w0, h0), Image.NEAREST))
            out.append(Detection(f"{colour} {shape}", [float(v) for v in box], score, mask))
    out.sort(key=lambda d: (d.box[1], d.box[0]))
    return out
