"""Exact pixel-area coverage of polygons, differentiable in the vertices (an accumulation buffer).

The method of font rasterisers (font-rs, stb_truetype): cut every edge at each pixel-grid line
it crosses, so each piece lies in one pixel cell; a piece moving dy down through a cell adds
``dy * (1 - x̄)`` to that cell and ``dy * x̄`` to the next (x̄ = the piece's mean x inside the
cell); a running sum along each row then gives, per pixel, the signed area of the polygon inside
the pixel's square. That is the box-filtered coverage diffvg estimates with samples, computed
exactly, so there is no sampling noise in values or gradients. Cost grows with the grid lines
crossed (the outline length) plus the pixels of each layer's bounding box, never with
layers x canvas. The fill rule is applied to the integrated winding: nonzero -> min(1, |w|),
even-odd -> a triangle wave of |w|; both exact wherever one edge crosses a pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Layers:
    """Where each layer's coverage lives in the flat buffer (Python ints, known before autograd)."""

    x0: list[int]
    y0: list[int]
    width: list[int]
    height: list[int]
    offset: list[int]  # start of the layer's rows; each row has width + 1 cells (a spill cell)

    def view(self, flat: Tensor, i: int) -> Tensor:
        """The [height, width] coverage of layer i inside ``flat``."""
        h, w = self.height[i], self.width[i]
        return flat[self.offset[i] : self.offset[i] + h * (w + 1)].view(h, w + 1)[:, :w]


def layer_boxes(a: Tensor, b: Tensor, layer: Tensor, num_layers: int, w: int, h: int) -> Layers:
    """Integer pixel boxes of each layer's edges, clipped to the canvas."""
    pts = torch.cat([a, b]).detach()
    ids = torch.cat([layer, layer])
    big = torch.full(
        (num_layers, 2), torch.finfo(pts.dtype).max, device=pts.device, dtype=pts.dtype
    )
    index = ids[:, None].expand(-1, 2)
    lo = big.scatter_reduce(0, index, pts, "amin")
    hi = (-big).scatter_reduce(0, index, pts, "amax")
    limit = torch.tensor([w, h], device=pts.device)
    lo = torch.floor(lo).clamp(min=0).minimum(limit.to(lo)).long()
    hi = torch.ceil(hi).minimum(limit.to(hi)).long()
    size = (hi - lo).clamp(min=0)  # empty layers (off canvas or no edges) get size 0
    x0, y0 = lo[:, 0].tolist(), lo[:, 1].tolist()
    width, height = size[:, 0].tolist(), size[:, 1].tolist()
    offsets, total = [], 0
    for lw, lh in zip(width, height, strict=True):
        offsets.append(total)
        total += (lw + 1) * lh
    return Layers(x0, y0, width, height, offsets)


def _crossings(lo: Tensor, hi: Tensor, first: Tensor, last: Tensor) -> tuple[Tensor, Tensor]:
    """Integer lines L with lo < L < hi and first <= L <= last, per edge -> (edge id, L)."""
    start = torch.maximum(torch.floor(lo) + 1, first)
    stop = torch.minimum(torch.ceil(hi) - 1, last)
    count = (stop - start + 1).clamp(min=0).long()
    edge = torch.repeat_interleave(torch.arange(len(lo), device=lo.device), count)
    rank = torch.arange(len(edge), device=lo.device) - (torch.cumsum(count, 0) - count)[edge]
    return edge, start[edge] + rank


def coverage(a: Tensor, b: Tensor, layer: Tensor, even_odd: Tensor, boxes: Layers) -> Tensor:
    """Edges a->b [E, 2] of closed polygons, layer id [E] -> flat coverage in [0, 1].

    ``even_odd`` [num_layers] bool picks each layer's fill rule; read layers with ``boxes.view``.
    """
    n_layers, dev = len(boxes.x0), a.device
    bx0 = torch.tensor(boxes.x0, dtype=a.dtype, device=dev)
    by0 = torch.tensor(boxes.y0, dtype=a.dtype, device=dev)
    bw = torch.tensor(boxes.width, device=dev)
    bh = torch.tensor(boxes.height, device=dev)
    offset = torch.tensor(boxes.offset, device=dev)
    d = b - a  # [E, 2]
    ad, bd = a.detach(), b.detach()
    lo, hi = torch.minimum(ad, bd), torch.maximum(ad, bd)
    ex0, ey0 = bx0[layer], by0[layer]

    # cut points where edges cross vertical lines x = X (at and inside the layer box) ...
    e_x, x_line = _crossings(lo[:, 0], hi[:, 0], ex0, ex0 + bw[layer])
    t_x = (x_line - a[e_x, 0]) / d[e_x, 0]
    p_x = torch.stack([x_line, a[e_x, 1] + t_x * d[e_x, 1]], -1)
    # ... and horizontal lines y = Y
    e_y, y_line = _crossings(lo[:, 1], hi[:, 1], ey0, ey0 + bh[layer])
    t_y = (y_line - a[e_y, 1]) / d[e_y, 1]
    p_y = torch.stack([a[e_y, 0] + t_y * d[e_y, 0], y_line], -1)

    # events along each edge, sorted by (edge, t): start, cuts, end
    n = len(a)
    every = torch.arange(n, device=dev)
    edge_of = torch.cat([every, e_x, e_y, every])
    zero = torch.zeros(n, device=dev)
    t = torch.cat([zero, t_x.detach().float(), t_y.detach().float(), zero + 1])
    order = torch.argsort(edge_of.double() * 2 + t.double())
    pts = torch.cat([a, p_x, p_y, b])[order]  # [V, 2]
    is_end = (torch.arange(len(order), device=dev) >= n + len(e_x) + len(e_y))[order]
    start = torch.nonzero(~is_end).squeeze(1)
    p, q = pts[start], pts[start + 1]  # pieces [K, 2], each inside one pixel cell
    lid = layer[edge_of[order][start]]

    mid = ((p + q) / 2).detach()
    col = torch.floor(mid[:, 0]).long() - bx0[lid].long()
    row = torch.floor(mid[:, 1]).long() - by0[lid].long()
    keep = (row >= 0) & (row < bh[lid]) & (col < bw[lid])
    p, q, lid, col, row = p[keep], q[keep], lid[keep], col[keep], row[keep]
    dy = q[:, 1] - p[:, 1]
    xbar = (p[:, 0] + q[:, 0]) / 2 - (bx0[lid] + col.clamp(min=0))
    left = col < 0  # left of the box: all of dy reaches every pixel of the row
    right_share = torch.where(left, torch.zeros_like(dy), dy * xbar)
    here = dy - right_share
    cell = offset[lid] + row * (bw[lid] + 1) + col.clamp(min=0)

    total = int(offset[-1] + (bw[-1] + 1) * bh[-1]) if n_layers else 0
    acc = torch.zeros(total, dtype=torch.float64, device=dev)
    acc = acc.index_add(0, torch.cat([cell, cell + 1]), torch.cat([here, right_share]).double())

    # running sum along every row (rows are contiguous runs of width + 1 cells)
    row_len = torch.repeat_interleave(bw + 1, bh)  # [R]
    row_of = torch.repeat_interleave(torch.arange(len(row_len), device=dev), row_len)  # [total]
    csum = torch.cumsum(acc, 0)
    row_start = torch.cumsum(row_len, 0) - row_len
    before = csum[row_start] - acc[row_start]  # [R] sum of everything ahead of each row
    winding = (csum - before[row_of]).abs().to(a.dtype)

    layer_of = torch.repeat_interleave(torch.arange(n_layers, device=dev), (bw + 1) * bh)
    odd = even_odd[layer_of]
    return torch.where(odd, 1 - (torch.remainder(winding, 2) - 1).abs(), winding.clamp(max=1))
