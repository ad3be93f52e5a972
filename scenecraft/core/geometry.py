"""Box geometry every layer shares: IoU of ``[x, y, w, h]`` boxes and greedy label matching."""

from __future__ import annotations


def box_iou(a: list[float], b: list[float]) -> float:
    """IoU of two ``[x, y, w, h]`` boxes (0 when both are empty)."""
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
