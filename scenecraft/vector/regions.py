"""A starting scene read from the image itself: colour regions become layered, curved paths.

Colours are quantised (k-means in Lab), connected regions of one colour are found, and each
region's outline is fitted with cubics. Paths are layered largest first, so a region's holes are
painted by the smaller regions inside it; the largest region becomes the background. Where the
residual error of a fit is large, ``add_residual_paths`` adds paths on top, as LIVE does.
``line_art_start`` is the same start with regions drawn with lines as stroked lines instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage
from skimage.color import rgb2lab
from skimage.measure import approximate_polygon, find_contours, label
from sklearn.cluster import KMeans
from torch import Tensor

from scenecraft.vector.initialise import vertical_gradient
from scenecraft.vector.raster import render_torch
from scenecraft.vector.scene import Path, Scene, ShapeGroup
from scenecraft.vector.strokes import Lines

COLORS = 12  # k-means clusters; more than most flat images need, merged back below
STROKE_SLACK = 0.25  # squared error a start drawn with lines may add (both fits then decide)
HOLE_TOLERANCE = 0.06  # a hole this close in colour (RGB, any channel) to what is beneath is bare


def quantise(target: np.ndarray, colors: int = COLORS, seed: int = 0) -> np.ndarray:
    """target [H, W, 3] in [0, 1] -> colour labels [H, W] (k-means in Lab, perceptual distances)."""
    lab = rgb2lab(target).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    sample = lab[rng.choice(len(lab), min(len(lab), 4096), replace=False)]
    k = min(colors, len(np.unique(sample.round(1), axis=0)))
    kmeans = KMeans(k, n_init=1, random_state=seed).fit(sample)
    return kmeans.predict(lab).reshape(target.shape[:2])


def _thick(comp: np.ndarray) -> np.ndarray:
    """Components [H, W] (0 = none) -> [N + 1] bool: has a pixel whose 3x3 block is all its own."""
    h, w = comp.shape
    padded = np.pad(comp, 1, mode="edge")
    inside = np.ones_like(comp, dtype=bool)
    for dy in range(3):
        for dx in range(3):
            inside &= padded[dy : dy + h, dx : dx + w] == comp
    thick = np.zeros(int(comp.max()) + 1, dtype=bool)
    thick[np.unique(comp[inside])] = True
    thick[0] = False
    return thick


def regions(labels: np.ndarray, min_area: int) -> np.ndarray:
    """Colour labels [H, W] -> connected regions [H, W] (0..R-1), anti-aliased fringes removed.

    Edge pixels blend the colours either side and form thin regions of their own; a region is
    kept only if it has ``min_area`` pixels and is 3 px thick somewhere, and the pixels of the
    others go to the nearest kept region.
    """
    comp = label(labels + 1, background=0, connectivity=1)  # [H, W], 1..N
    keep = _thick(comp) & (np.bincount(comp.ravel()) >= min_area)
    if not keep.any():
        keep[np.argmax(np.bincount(comp.ravel())[1:]) + 1] = True
    _, (iy, ix) = ndimage.distance_transform_edt(~keep[comp], return_indices=True)
    return label(comp[iy, ix], background=0, connectivity=1) - 1  # nearest kept pixel's region


def merge(region_map: np.ndarray, target: np.ndarray, count: int) -> np.ndarray:
    """Merge neighbouring regions until at most ``count`` remain, cheapest first.

    The cost of a merge is the increase in squared error of painting each region its mean colour
    (Ward's criterion): small regions and regions close in colour to a neighbour go first.
    """
    n = int(region_map.max()) + 1
    area = np.bincount(region_map.ravel(), minlength=n).astype(np.float64)
    sums = np.stack(
        [np.bincount(region_map.ravel(), target[..., c].ravel(), n) for c in range(3)], -1
    )
    pairs = np.concatenate(
        [
            np.stack([region_map[:, :-1].ravel(), region_map[:, 1:].ravel()], -1),
            np.stack([region_map[:-1].ravel(), region_map[1:].ravel()], -1),
        ]
    )
    pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], 1), axis=0)
    neighbours: dict[int, set[int]] = {r: set() for r in range(n)}
    for a, b in pairs.tolist():
        neighbours[a].add(b)
        neighbours[b].add(a)
    parent = np.arange(n)
    alive = set(range(n))

    def cost(a: int, b: int) -> float:
        d = sums[a] / area[a] - sums[b] / area[b]
        return float(area[a] * area[b] / (area[a] + area[b]) * (d @ d))

    while len(alive) > count:
        a, b = min(((a, b) for a in alive for b in neighbours[a] if a < b), key=lambda p: cost(*p))
        area[a] += area[b]
        sums[a] += sums[b]
        parent[parent == b] = a
        for c in neighbours.pop(b) - {a}:
            neighbours[c].discard(b)
            neighbours[c].add(a)
            neighbours[a].add(c)
        neighbours[a].discard(b)
        alive.discard(b)
    _, dense = np.unique(parent, return_inverse=True)
    return dense[region_map]


def _fit_cubic(pts: np.ndarray) -> tuple[np.ndarray, float, int]:
    """Points [M, 2] from one end to the other -> (the two control points [2, 2] of the
    least-squares cubic with those ends, the largest distance from it, the index of that point)."""
    p0, p3 = pts[0], pts[-1]
    chord = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    t = chord / chord[-1]  # [M] chord-length parameters
    straight = np.stack([p0 + (p3 - p0) / 3, p0 + 2 * (p3 - p0) / 3])
    if len(pts) < 4:
        return straight, 0.0, 0
    basis = np.stack([3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t)], -1)  # [M, 2]
    rhs = pts - np.outer((1 - t) ** 3, p0) - np.outer(t**3, p3)
    controls = np.linalg.lstsq(basis, rhs, rcond=None)[0]  # [2, 2]
    curve = np.outer((1 - t) ** 3, p0) + basis @ controls + np.outer(t**3, p3)
    error = np.linalg.norm(curve - pts, axis=1)
    return controls, float(error.max()), int(error.argmax())


def _fit_span(pts: np.ndarray, tolerance: float) -> list[np.ndarray]:
    """Points [M, 2] -> cubics [3, 2] (start and two controls) within ``tolerance`` px of them,
    split where the error is largest (Schneider's curve fitting, without tangent continuity)."""
    controls, error, worst = _fit_cubic(pts)
    if error <= tolerance or len(pts) <= 4 or worst in (0, len(pts) - 1):
        return [np.concatenate([pts[:1], controls])]
    return _fit_span(pts[: worst + 1], tolerance) + _fit_span(pts[worst:], tolerance)


def fit_polyline(points: np.ndarray, closed: bool, tolerance: float = 1.0) -> Path | None:
    """Points [N, 2] (x, y) along a line -> a path of cubics within ``tolerance`` px of them.

    Douglas-Peucker at three times ``tolerance`` finds the corners (and cuts long curves into
    arcs a cubic can follow); the stretch between two of them is fitted by as few cubics as keep
    within ``tolerance`` px of it, so a circle is a few curves, not pixel steps. A closed line's
    last cubic ends at its first point; a single point is a line of no length (a dot, stroked).
    None for a closed line with fewer than two corners (it encloses nothing).
    """
    if len(points) == 1:
        return Path([0], torch.tensor(np.repeat(points, 2, 0), dtype=torch.float32), False)
    ring = np.concatenate([points, points[:1]]) if closed else points
    corners = approximate_polygon(ring, 3 * tolerance)
    index = {tuple(p): i for i, p in enumerate(points.tolist())}
    ids = sorted({index[tuple(p)] for p in corners.tolist()})
    if closed and len(ids) < 2:
        return None
    ends = [*ids[1:], ids[0] + len(points)] if closed else ids[1:]
    segments = []
    for a, b in zip(ids, ends, strict=False):
        segments.extend(_fit_span(points[np.arange(a, b + 1) % len(points)], tolerance))
    pts = np.concatenate(segments)  # [3S, 2]
    if not closed:
        pts = np.concatenate([pts, points[-1:]])
    return Path(torch.full((len(segments),), 2), torch.tensor(pts, dtype=torch.float32), closed)


def outline(mask: np.ndarray, tolerance: float = 1.0) -> Path | None:
    """Boolean mask [H, W] -> its outer outline as a closed path of cubics (None if empty).

    The contour follows pixel edges, a staircase, which ``fit_polyline`` turns into curves.
    """
    contours = find_contours(np.pad(mask.astype(np.float32), 1), 0.5)
    if not contours:
        return None
    contour = max(contours, key=len)[:-1, ::-1] - 0.5  # [N, 2] (x, y), open; undo the padding
    if len(contour) < 3:
        return None
    return fit_polyline(contour, True, tolerance)


@dataclass
class _Regions:
    """A regions start and what it was built from, for ``line_art_start``."""

    tgt: np.ndarray  # [H, W, 3] the target
    region_map: np.ndarray  # [H, W] region of each pixel
    filled: list[np.ndarray]  # each region with its holes filled
    fills: dict[int, tuple[Path, Tensor]]  # region -> (outline, colour), in paint order
    scene: Scene


def _regions(target: Tensor, paths: int, seed: int, tolerance: float) -> _Regions:
    tgt = target.detach().float().cpu().numpy()
    h, w = tgt.shape[:2]
    min_area = max(4, round(2e-4 * h * w))
    region_map = merge(regions(quantise(tgt, seed=seed), min_area), tgt, paths + 1)
    filled = [ndimage.binary_fill_holes(region_map == r) for r in range(region_map.max() + 1)]
    order = sorted(range(len(filled)), key=lambda r: -int(filled[r].sum()))
    background = vertical_gradient(target.float().cpu(), torch.from_numpy(region_map == order[0]))
    fills: dict[int, tuple[Path, Tensor]] = {}
    for r in order[1:]:
        path = outline(filled[r], tolerance)
        if path is not None:
            color = torch.from_numpy(tgt[region_map == r].mean(0)).float()
            fills[r] = (path, torch.cat([color, torch.ones(1)]))
    scene = _layered(w, h, background, list(fills.values()), [])
    return _Regions(tgt, region_map, filled, fills, scene)


def from_regions(target: Tensor, paths: int, seed: int = 0, tolerance: float = 1.0) -> Scene:
    """target [H, W, 3] in [0, 1] -> a scene of at most ``paths`` region paths, largest first, on
    a background fitted to the largest region; each path is its region's mean colour, opaque."""
    return _regions(target, paths, seed, tolerance).scene


def line_art_start(
    target: Tensor, paths: int, seed: int = 0, tolerance: float = 1.0
) -> Scene | None:
    """``from_regions``' start with the regions drawn with lines as stroked lines on top, or None
    when no region is (see ``_lines``)."""
    start = _regions(target, paths, seed, tolerance)
    scene = _lines(start, paths, tolerance)
    return scene if any(g.stroke_color is not None for g in scene.shape_groups) else None


def _layered(
    w: int, h: int, background, fills: list[tuple[Path, Tensor]], lines: list[Lines]
) -> Scene:
    """Filled paths in order, then each group of lines, stroked, on top of them all."""
    shapes, groups = [], []
    for path, color in fills:
        shapes.append(path)
        groups.append(ShapeGroup([len(shapes) - 1], color, id=f"region-{len(groups)}"))
    for k, group in enumerate(lines):
        width = torch.tensor(group.width)  # one tensor: the group's lines are fitted as one width
        first = len(shapes)
        for path in group.paths:
            path.stroke_width = width
            shapes.append(path)
        ids = list(range(first, len(shapes)))
        groups.append(ShapeGroup(ids, None, False, group.color, id=f"lines-{k}"))
    return Scene(w, h, shapes, groups, background)


def _lines(start: _Regions, paths: int, tolerance: float) -> Scene:
    """Regions drawn with lines become stroked lines where the start then writes fewer bytes
    (at one decimal) and draws about as well (squared error within ``STROKE_SLACK``: a start's
    thin lines are rough either way, and the pipeline fits both starts before it chooses), one
    region at a time, in paint order. A region's hole painted in about the colour beneath the
    region is dropped with it, where that is better still."""
    from scenecraft.vector.strokes import line_art
    from scenecraft.vector.svg_write import to_svg

    tgt, region_map, fills, scene = start.tgt, start.region_map, start.fills, start.scene
    target = torch.from_numpy(tgt)
    h, w = tgt.shape[:2]

    def cost(trial: Scene) -> tuple[float, int]:
        with torch.no_grad():
            image = render_torch(trial, w, h)
        rgb = image[..., :3] * image[..., 3:] + (1 - image[..., 3:])
        return float(((rgb - target) ** 2).sum()), len(to_svg(trial, 1))

    stroked: dict[int, list[Lines]] = {}
    dropped: set[int] = set()

    def build(lines: dict[int, list[Lines]], gone: set[int]) -> Scene:
        kept = [fills[r] for r in fills if r not in gone]
        return _layered(w, h, scene.background, kept, [g for v in lines.values() for g in v])

    error, size = cost(scene)
    for r in fills:
        lines = None if r in dropped else line_art(region_map == r, tgt)
        if not lines:
            continue
        holes = _repainted_holes(r, region_map == r, scene, start.filled, fills, dropped)
        for gone in [{r} | holes, {r}] if holes else [{r}]:
            trial = build({**stroked, r: lines}, dropped | gone)
            if len(trial.shapes) > paths:
                continue
            trial_error, trial_size = cost(trial)
            if trial_size < size and trial_error <= error * (1 + STROKE_SLACK):
                stroked[r], error, size = lines, trial_error, trial_size
                dropped |= gone
                break
    return build(stroked, dropped)


def _repainted_holes(
    r: int,
    own: np.ndarray,
    scene: Scene,
    filled: list[np.ndarray],
    fills: dict[int, tuple[Path, Tensor]],
    dropped: set[int],
) -> set[int]:
    """Regions inside region ``r`` (``own`` [H, W] its pixels) that touch it and are painted in
    about the colour of what lies beneath ``r``: they only repaint its filled hole, which a
    stroke leaves bare."""
    kept = [s for s in fills if s not in dropped]
    at = kept.index(r)
    below = [s for s in kept[:at] if not (filled[r] & ~filled[s]).any()]
    beneath = fills[below[-1]][1] if below else scene.background.stop_colors.mean(0)
    under = beneath[:3]
    near = ndimage.binary_dilation(own)
    return {
        s
        for s in kept[at + 1 :]
        if not (filled[s] & ~filled[r]).any()
        and (filled[s] & near).any()
        and float((fills[s][1][:3] - under).abs().max()) < HOLE_TOLERANCE
    }


def add_residual_paths(
    scene: Scene, target: Tensor, paths: int, threshold: float = 0.1, tolerance: float = 1.0
) -> Scene:
    """Up to ``paths`` new paths on top of ``scene`` where its render differs most from
    ``target`` [H, W, 3]: connected pixels off by more than ``threshold`` (mean over RGB), most
    total error first, each coloured the target's mean there. Thin error (edges) adds nothing."""
    h, w = target.shape[:2]
    with torch.no_grad():
        image = render_torch(scene, w, h)
        rgb = image[..., :3] * image[..., 3:] + (1 - image[..., 3:])  # over white, as fit sees
        error = (rgb - target.float()).abs().mean(-1).numpy()  # [H, W]
    comp = label(error > threshold, connectivity=1)
    keep = _thick(comp) & (np.bincount(comp.ravel()) >= max(4, round(2e-4 * h * w)))
    total = np.bincount(comp.ravel(), error.ravel())
    ranked = sorted(np.flatnonzero(keep), key=lambda k: -total[k])[:paths]
    shapes, groups = list(scene.shapes), list(scene.shape_groups)
    tgt = target.float().cpu()
    for k in ranked:
        mask = ndimage.binary_fill_holes(comp == k)
        path = outline(mask, tolerance)
        if path is None:
            continue
        color = torch.cat([tgt[torch.from_numpy(mask)].mean(0), torch.ones(1)])
        shapes.append(path)
        groups.append(ShapeGroup([len(shapes) - 1], color, id=f"residual-{len(groups)}"))
    return Scene(scene.canvas_width, scene.canvas_height, shapes, groups, scene.background)
