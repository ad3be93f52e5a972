"""The offline layout: boxes for a SceneSpec that keep its counts, places and relations without
overlap.

Relations become an order of columns (left/right, between) and rows (above/below), and a place
on the canvas an order against an empty column or row ("on the left": left of an empty middle
column; "in the centre": between two empty ones): each object kind gets the cell these put it
in, and the instances in a cell share it on a grid, each in the middle of its slot. Kinds that
must be "next to" each other share a cell, packed tight. Boxes are square in pixels
(aspect-aware) with the ShapesWorld sizes: a side of twice the circumradius (small 0.15, medium
0.2, large 0.26 of the shorter canvas side), smaller only when a cell is crowded; a crowded
place (three objects in a corner) is packed around its anchor, smaller still if need be.
"""

from __future__ import annotations

import math

import numpy as np

from scenecraft.core.contracts import Box, Layout, SceneSpec
from scenecraft.core.errors import PlannerError
from scenecraft.planner.geometry import (
    NEXT_TO,
    centre,
    free_box,
    layout_problems,
    negative_prompt,
    numbered,
    relation_mask,
)
from scenecraft.shapesworld.grammar import SIZES
from scenecraft.shapesworld.judge import in_place, place_anchor, place_phrase

SLOT_FILL = 0.8  # an object's side is at most this fraction of its slot, so neighbours keep apart
MIN_SIDE = 0.06  # below this fraction of the shorter side an object is too small to draw
_DEFAULT_SIZE = "medium"
_SHRINK = (1.0, 0.85, 0.7, 0.55, 0.4)  # sizes tried when packing objects into their place


def _layers(n: int, edges: set[tuple[int, int]], spec: SceneSpec, axis: str) -> list[int]:
    """Longest-path layer of each cluster along one axis (edge a -> b: a before b)."""
    layer = [0] * n
    for _ in range(n + 1):
        changed = False
        for a, b in edges:
            if layer[b] < layer[a] + 1:
                layer[b] = layer[a] + 1
                changed = True
        if not changed:
            return layer
    wanted = "; ".join(
        [
            f"{spec.objects[r.subject].phrase} {r.relation} {spec.objects[r.object].phrase}"
            for r in spec.relations
        ]
        + [f"{o.phrase} {place_phrase(o.place)}" for o in spec.objects if o.place]
    )
    raise PlannerError(f"the relations contradict each other along the {axis} axis: {wanted}")


def _clusters(spec: SceneSpec) -> list[int]:
    """Cluster id of each object kind: kinds "next to" each other share one."""
    parent = list(range(len(spec.objects)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for r in spec.relations:
        if r.relation == "next to":
            parent[root(r.subject)] = root(r.object)
    roots = sorted({root(i) for i in parent})
    return [roots.index(root(i)) for i in range(len(parent))]


def _order_edges(spec: SceneSpec, cluster: list[int]) -> tuple[set, set]:
    xs: set[tuple[int, int]] = set()
    ys: set[tuple[int, int]] = set()
    for r in spec.relations:
        s, o = cluster[r.subject], cluster[r.object]
        if r.relation == "left of":
            xs.add((s, o))
        elif r.relation == "right of":
            xs.add((o, s))
        elif r.relation == "above":
            ys.add((s, o))
        elif r.relation == "below":
            ys.add((o, s))
        elif r.relation == "between" and r.object2 is not None:
            xs |= {(o, s), (s, cluster[r.object2])}
    for a, b in xs | ys:
        if a == b:
            raise PlannerError(
                "objects that must be next to each other cannot also be left/right of or "
                "above/below each other in this planner; drop one of the relations"
            )
    return xs, ys


def _place_edges(
    spec: SceneSpec, cluster: list[int], n: int, xs: set, ys: set
) -> tuple[int, dict[str, int]]:
    """Order objects with a place against empty anchor cells: along x, 'left' before a middle
    anchor and 'right' after it, 'centre' between a low and a high anchor; likewise along y.
    Adds the edges to ``xs``/``ys``; returns the node count and each axis's middle anchor."""
    mids: dict[str, int] = {}
    placed = [(cluster[k], o.place) for k, o in enumerate(spec.objects) if o.place and o.count]
    for axis, edges, (low, high) in (("x", xs, ("left", "right")), ("y", ys, ("top", "bottom"))):
        sided = [(c, w) for c, place in placed for w in place.split() if w in (low, high)]
        if sided:
            mids[axis] = n
            edges |= {(c, n) if w == low else (n, c) for c, w in sided}
            n += 1
        centred = {c for c, place in placed if place == "centre"}
        if centred:
            edges |= {(n, c) for c in centred} | {(c, n + 1) for c in centred}
            n += 2
    return n, mids


def _pack_in_place(spec: SceneSpec, placed: dict[int, list[Box]], k: int) -> None:
    """Move kind ``k``'s boxes into its place when the cells left some out (crowded corners),
    each to the free spot nearest the place's anchor that keeps its relations, shrinking them
    until they fit."""
    place = spec.objects[k].place
    assert place is not None
    if all(in_place(*centre(b), place) for b in placed[k]):
        return
    others = [b for j, boxes in placed.items() if j != k for b in boxes]
    relations = [
        (r.relation, r.subject == k, placed[r.object if r.subject == k else r.subject])
        for r in spec.relations
        if r.relation != "between" and k in (r.subject, r.object) and r.subject != r.object
    ]

    def allowed(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
        ok = in_place(cx, cy, place)
        for relation, as_subject, boxes in relations:
            ok &= relation_mask(relation, boxes, as_subject, cx, cy)
        return ok

    for scale in _SHRINK:
        boxes: list[Box] = []
        for _, _, w, h in placed[k]:
            box = free_box(w * scale, h * scale, others + boxes, place_anchor(place), allowed)
            if box is None:
                break
            boxes.append(box)
        else:
            placed[k] = boxes
            return


def _weights(cells: dict[tuple[int, int], list[int]], index: int, n: int) -> list[float]:
    """Share of the canvas each column (index 0) or row (index 1) gets: more for crowded ones."""
    need = [1.0] * n
    for key, members in cells.items():
        need[key[index]] = max(need[key[index]], math.sqrt(len(members)))
    total = sum(need)
    return [v / total for v in need]


def _grid(n: int, cw: float, ch: float) -> tuple[int, int]:
    """Columns and rows for n equal slots in a cw x ch (pixel) cell, making slots largest."""
    best = max(range(1, n + 1), key=lambda c: (min(cw / c, ch / math.ceil(n / c)), -c))
    return best, math.ceil(n / best)


def _side_px(size: str, width: int, height: int) -> float:
    return 2 * SIZES[size] * min(width, height)


def place_kinds(spec: SceneSpec, size: tuple[int, int] = (512, 512)) -> dict[int, list[Box]]:
    """Boxes for the instances of each object kind (index into ``spec.objects``)."""
    width, height = size
    kinds = [i for i, o in enumerate(spec.objects) if o.count > 0]
    cluster = _clusters(spec)
    n_clusters = max(cluster, default=-1) + 1
    xs, ys = _order_edges(spec, cluster)
    n_nodes, mids = _place_edges(spec, cluster, n_clusters, xs, ys)
    col = _layers(n_nodes, xs, spec, "x")
    row = _layers(n_nodes, ys, spec, "y")
    # kinds free along an axis stand beside its middle anchor, away from the placed ones
    for layer, edges, axis in ((col, xs, "x"), (row, ys, "y")):
        if axis in mids:
            for c in set(range(n_clusters)) - {c for e in edges for c in e}:
                layer[c] = layer[mids[axis]]
    cells: dict[tuple[int, int], list[int]] = {}  # (col, row) -> object kinds, one per instance
    for k in kinds:
        cells.setdefault((col[cluster[k]], row[cluster[k]]), []).extend([k] * spec.objects[k].count)
    col_w = _weights(cells, 0, max(col, default=0) + 1)
    row_h = _weights(cells, 1, max(row, default=0) + 1)
    tight = {cluster[r.subject] for r in spec.relations if r.relation == "next to"}
    placed: dict[int, list[Box]] = {k: [] for k in kinds}
    for (c, r), members in sorted(cells.items()):
        x0, y0 = sum(col_w[:c]), sum(row_h[:r])
        cw, ch = col_w[c], row_h[r]
        cols, rows = _grid(len(members), cw * width, ch * height)
        slot_px = min(cw * width / cols, ch * height / rows)
        if cluster[members[0]] in tight:
            # pack kinds that must be next to each other around the cell's middle, close
            # enough that the farthest two instances are still "next to" each other
            cols = math.ceil(math.sqrt(len(members)))
            rows = math.ceil(len(members) / cols)
            span = math.hypot((cols - 1) / width, (rows - 1) / height)
            reach = (NEXT_TO - 0.03) / span if span else math.inf
            side_px = min(_side_px(_DEFAULT_SIZE, width, height), SLOT_FILL * reach)
            slot_px = side_px / SLOT_FILL
            x0 += (cw * width - cols * slot_px) / 2 / width
            y0 += (ch * height - rows * slot_px) / 2 / height
            cw, ch = cols * slot_px / width, rows * slot_px / height
        for i, k in enumerate(members):
            size_word = next((a for a in spec.objects[k].attributes if a in SIZES), _DEFAULT_SIZE)
            side_px = min(_side_px(size_word, width, height), SLOT_FILL * slot_px)
            if side_px < MIN_SIDE * min(width, height):
                raise PlannerError(
                    f"too many objects to lay out on one {width}x{height} canvas "
                    f"({sum(o.count for o in spec.objects)}); ask for fewer"
                )
            r_i, c_i = divmod(i, cols)
            in_row = min(cols, len(members) - r_i * cols)  # centre a short last row
            cx = x0 + cw * (c_i + 0.5 + (cols - in_row) / 2) / cols
            cy = y0 + ch * (r_i + 0.5) / rows
            w, h = side_px / width, side_px / height
            placed[k].append([cx - w / 2, cy - h / 2, w, h])
    for k in kinds:
        if spec.objects[k].place is not None:
            _pack_in_place(spec, placed, k)
    return placed


def plan_layout(spec: SceneSpec, size: tuple[int, int] = (512, 512)) -> Layout:
    """Boxes for every instance ``spec`` asks for on a ``size`` = (width, height) canvas."""
    placed = place_kinds(spec, size)
    layout = Layout(
        items=numbered([(spec.objects[k].phrase, b) for k, boxes in placed.items() for b in boxes]),
        background=spec.background or "",
        negative_prompt=negative_prompt(spec),
        warnings=spec.warnings,
    )
    problems = layout_problems(layout, spec)
    if problems:
        raise PlannerError("could not lay out the prompt: " + "; ".join(problems))
    return layout
