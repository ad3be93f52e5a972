"""A layout painted into extra UNet input channels: each box filled with its phrase's embedding.

GLIGEN tells the UNet where objects go through gated self-attention between visual tokens and
box tokens; the visual tokens carry no position of their own, so a UNet must first learn where
each token is (from the borders' zero padding) before it can match a box. SD's deep UNets learn
it during GLIGEN's long fine-tuning; the small ShapesWorld UNet trained from scratch did not
(0 of 35 objects in their boxes with the fuser on for every step). A layout map hands the position
over directly, as SD-inpainting hands over its mask: ``D + 1`` channels beside the latents, the
phrase embedding (D) where a box covers a latent cell and the coverage itself (1), later boxes
painted over earlier ones (drawing order), every channel zero where no box is (and for the
unconditional half of classifier-free guidance).

A UNet takes the map when ``in_channels == latent_channels + D + 1`` with D its cross-attention
width (``layout_channels``); any other UNet (SD 1.x/2.x, SD-inpainting's 9 channels) has none.
"""

from __future__ import annotations

import torch


def layout_channels(unet_config, latent_channels: int) -> int:
    """Channels of the layout map a UNet takes beside ``latent_channels`` latents (0: none)."""
    extra = unet_config.in_channels - latent_channels
    dim = unet_config.cross_attention_dim
    return extra if isinstance(dim, int) and extra == dim + 1 else 0


def _coverage(lo: torch.Tensor, hi: torch.Tensor, n: int) -> torch.Tensor:
    """Share of each of ``n`` equal cells of [0, 1] that [lo, hi] covers: [...] -> [..., n]."""
    edges = torch.arange(n + 1, device=lo.device, dtype=lo.dtype) / n
    start = torch.maximum(lo[..., None], edges[:-1])
    end = torch.minimum(hi[..., None], edges[1:])
    return (end - start).clamp(min=0) * n


def box_cover(boxes: torch.Tensor, masks: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """How much of each cell of a ``height`` x ``width`` grid the boxes [B, M, 4] (x0, y0, x1, y1
    in [0, 1]; ``masks`` [B, M] 1 for a box) cover together: [B, 1, height, width] in [0, 1]."""
    cov_x = _coverage(boxes[..., 0], boxes[..., 2], width)  # [B, M, W]
    cov_y = _coverage(boxes[..., 1], boxes[..., 3], height)  # [B, M, H]
    cover = cov_y[..., :, None] * cov_x[..., None, :] * masks[..., None, None]  # [B, M, H, W]
    return 1 - (1 - cover).prod(dim=1, keepdim=True)


def paint_layout(
    boxes: torch.Tensor, embeddings: torch.Tensor, masks: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """The layout map [B, D + 1, height, width] of boxes [B, M, 4] (x0, y0, x1, y1 in [0, 1]),
    their phrase embeddings [B, M, D] and masks [B, M] (1: a box, 0: padding).

    Cells a box covers in part get the part (anti-aliased edges, so a box smaller than a cell
    still shows); box k is painted over boxes 0..k-1 in proportion to its coverage.
    """
    b, m, d = embeddings.shape
    cov_x = _coverage(boxes[..., 0], boxes[..., 2], width)  # [B, M, W]
    cov_y = _coverage(boxes[..., 1], boxes[..., 3], height)  # [B, M, H]
    cover = cov_y[..., :, None] * cov_x[..., None, :] * masks[..., None, None]  # [B, M, H, W]
    feat = embeddings.new_zeros(b, d, height, width)
    occupied = embeddings.new_zeros(b, 1, height, width)
    for k in range(m):
        c = cover[:, k, None].to(embeddings.dtype)  # [B, 1, H, W]
        feat = feat * (1 - c) + embeddings[:, k, :, None, None] * c
        occupied = occupied * (1 - c) + c
    return torch.cat([feat, occupied], dim=1)


def expand_conv_in(state: dict[str, torch.Tensor], in_channels: int) -> dict[str, torch.Tensor]:
    """A UNet state dict whose ``conv_in`` takes ``in_channels``: the weights it has for its
    first channels, zeros for the rest, so a UNet trained without a layout map starts out
    computing exactly what it did and learns to read the new channels."""
    w = state["conv_in.weight"]  # [C_out, C_in, k, k]
    if w.shape[1] == in_channels:
        return state
    if w.shape[1] > in_channels:
        raise ValueError(f"conv_in takes {w.shape[1]} channels, more than {in_channels}")
    grown = w.new_zeros(w.shape[0], in_channels, *w.shape[2:])
    grown[:, : w.shape[1]] = w
    return {**state, "conv_in.weight": grown}
