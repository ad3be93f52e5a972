"""Painter's-order "over" compositing of coverage layers, with a hand-written backward pass.

Each layer only touches its bounding box. Forward paints layers bottom to top into a
premultiplied canvas; backward walks top to bottom keeping the transmittance T of everything
above, using d(out)/d(a_l) = T_l * (c_l - under_l), where under_l is the canvas just before layer
l was painted (saved in forward). No division by (1 - a), so fully opaque layers keep exact
gradients (3D Gaussian splatting clamps alpha to 0.99 to divide; this does not need to).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

from scenecraft.vector.coverage import Layers


class _Over(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        cov: Tensor,
        colors: Tensor,
        background: Tensor,
        boxes: Layers,
        height: int,
        width: int,
    ) -> Tensor:
        # cov [total] flat coverage; colors [L, 4] straight RGBA;
        # background [4] or [H, W, 4] premultiplied
        paint = torch.cat([colors[:, :3], torch.ones_like(colors[:, :1])], 1)  # [L, 4]
        canvas = background.expand(height, width, 4).clone()  # [H, W, 4] premultiplied
        under = []
        for i in range(len(colors)):
            x, y, w, h = boxes.x0[i], boxes.y0[i], boxes.width[i], boxes.height[i]
            if w == 0 or h == 0:
                under.append(None)
                continue
            a = boxes.view(cov, i) * colors[i, 3]  # [h, w]
            region = canvas[y : y + h, x : x + w]  # [h, w, 4] view
            under.append(region.clone())
            region.mul_(1 - a[..., None]).add_(a[..., None] * paint[i])
        ctx.save_for_backward(cov, colors, paint)
        ctx.under, ctx.boxes = under, boxes
        ctx.flat_background = background.dim() == 1
        return canvas

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor | None, ...]:
        cov, colors, paint = ctx.saved_tensors
        boxes: Layers = ctx.boxes
        height, width = grad.shape[:2]
        transmit = torch.ones(height, width, dtype=grad.dtype, device=grad.device)  # [H, W]
        grad_cov = torch.zeros_like(cov)
        grad_colors = torch.zeros_like(colors)
        for i in reversed(range(len(colors))):
            under = ctx.under[i]
            if under is None:
                continue
            x, y, w, h = boxes.x0[i], boxes.y0[i], boxes.width[i], boxes.height[i]
            t = transmit[y : y + h, x : x + w]  # [h, w] view, updated in place below
            c = boxes.view(cov, i)
            a = c * colors[i, 3]
            g = grad[y : y + h, x : x + w] * t[..., None]  # [h, w, 4]
            grad_a = (g * (paint[i] - under)).sum(-1)  # [h, w]
            boxes.view(grad_cov, i).copy_(grad_a * colors[i, 3])
            grad_colors[i, 3] = (grad_a * c).sum()
            grad_colors[i, :3] = torch.einsum("hwc,hw->c", g[..., :3], a)
            t.mul_(1 - a)
        grad_background = grad * transmit[..., None]  # [H, W, 4]
        if ctx.flat_background:
            grad_background = grad_background.sum((0, 1))
        return grad_cov, grad_colors, grad_background, None, None, None


def over(
    cov: Tensor, colors: Tensor, background: Tensor, boxes: Layers, height: int, width: int
) -> Tensor:
    """Composite layers (coverage x colour) in order onto ``background`` -> premultiplied [H, W, 4].

    cov: flat coverage (read through ``boxes``); colors [L, 4] straight RGBA; background [4] or
    [H, W, 4] premultiplied RGBA.
    """
    return _Over.apply(cov, colors, background, boxes, height, width)


@torch.no_grad()
def visible_area(cov: Tensor, colors: Tensor, boxes: Layers, height: int, width: int) -> Tensor:
    """[L] pixels each layer actually shows: sum over its box of coverage * alpha * T_above."""
    transmit = torch.ones(height, width, dtype=cov.dtype, device=cov.device)
    area = torch.zeros(len(colors), dtype=cov.dtype, device=cov.device)
    for i in reversed(range(len(colors))):
        x, y, w, h = boxes.x0[i], boxes.y0[i], boxes.width[i], boxes.height[i]
        if w == 0 or h == 0:
            continue
        t = transmit[y : y + h, x : x + w]
        a = boxes.view(cov, i) * colors[i, 3]
        area[i] = (a * t).sum()
        t.mul_(1 - a)
    return area
