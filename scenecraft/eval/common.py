"""Helpers every benchmark shares: box IoU, greedy matching, writing the JSON and the table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def box_iou(a: list[float], b: list[float]) -> float:
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    ix = max(0.0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    iy = max(0.0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def match(
    pred: list[tuple[str, list[float]]], gt: list[tuple[str, list[float]]], min_iou: float = 0.5
) -> int:
    """Greedy one-to-one matching by IoU of boxes with equal labels; returns the matched count."""
    pairs = sorted(
        (
            (box_iou(p[1], g[1]), i, j)
            for i, p in enumerate(pred)
            for j, g in enumerate(gt)
            if p[0] == g[0]
        ),
        reverse=True,
    )
    used_p, used_g, n = set(), set(), 0
    for iou, i, j in pairs:
        if iou < min_iou or i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        n += 1
    return n


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*[_cell(v) for v in r])
    Console().print(table)


def _cell(v: Any) -> str:
    """Floats to three decimals, or three significant digits below 0.1 (an MSE of 0.00267)."""
    if not isinstance(v, float):
        return str(v)
    return f"{v:.3g}" if 0 < abs(v) < 0.1 else f"{v:.3f}"


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path
