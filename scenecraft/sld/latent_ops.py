"""SLD's latent operations on a DDIM-inverted image: delete, move, add, recolour.

The image is inverted once per round; ``LatentCanvas`` holds that trajectory (one latent per
sampling step, noisiest first) and two masks at latent resolution: ``free`` (regions to be
regenerated from fresh noise: deleted objects, vacated places) and ``edited`` (everything an op
touched, for the final blend back onto the untouched pixels). Ops write into every step of the
trajectory, so a pasted object stays at the right noise level while the rest is denoised.

Beyond the paper (``SLDConfig.paste_objects``): an object whose pixels are known (a moved one,
from the image; an added one, from the generation the detector checked) also leaves a
``PixelPatch`` on the canvas, and the old places of deleted and moved objects are marked
``vacated``. The final blend then takes the denoise only where something was vacated, the input
everywhere else, and lays the patches over that. The paper lets the final denoise redraw such
objects from their pasted latents, and a model with a weak shape prior redraws them wrong and
bigger (on the shipped ShapesWorld model a moved hexagon came back a circle, a checked triangle a
yellow blob); here the denoise only fills the holes objects left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from scenecraft.core.contracts import Box


@dataclass
class PixelPatch:
    """Known pixels of one object in image coordinates: ``alpha`` [H, W] in [0, 1] (0 outside the
    object), ``pixels`` [H, W, 3] float, meaningful where ``alpha`` > 0; ``box`` where it lands."""

    pixels: np.ndarray
    alpha: np.ndarray
    box: Box

    def over(self, image: np.ndarray) -> np.ndarray:
        """This patch laid over an [H, W, 3] float image."""
        a = self.alpha[:, :, None]
        return a * self.pixels + (1 - a) * image


@dataclass
class LatentCanvas:
    trajectory: list[torch.Tensor]  # per sampling step i: [1, C, h, w] latent before step i
    free: torch.Tensor  # [1, 1, h, w] 1 = regenerate from noise
    edited: torch.Tensor  # [1, 1, h, w] 1 = changed by an op
    patches: list[PixelPatch] = field(default_factory=list)  # laid over the decoded image
    # [H, W] bool: pixels of the objects deleted, recoloured or moved away (None: no such op)
    vacated: np.ndarray | None = None

    def vacate(self, mask: np.ndarray) -> None:
        """Mark an object's old pixels as the final denoise's to redraw."""
        m = np.asarray(mask, bool)
        self.vacated = m.copy() if self.vacated is None else self.vacated | m

    @classmethod
    def from_trajectory(cls, trajectory: list[torch.Tensor]) -> LatentCanvas:
        z = trajectory[0]
        zeros = torch.zeros(1, 1, *z.shape[-2:], device=z.device)
        return cls([t.clone() for t in trajectory], zeros.clone(), zeros.clone())

    @property
    def size(self) -> tuple[int, int]:
        h, w = self.trajectory[0].shape[-2:]
        return h, w


def latent_mask(mask: np.ndarray, size: tuple[int, int], dilate: int = 1) -> torch.Tensor:
    """An [H, W] pixel mask -> [1, 1, h, w] binary latent mask (any coverage counts), dilated."""
    m = torch.from_numpy(np.asarray(mask, np.float32))[None, None]
    m = (F.adaptive_avg_pool2d(m, size) > 0.05).float()
    if dilate > 0:
        m = (F.max_pool2d(m, 2 * dilate + 1, stride=1, padding=dilate) > 0).float()
    return m


def box_cells(box: Box, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A [x, y, w, h] box in [0, 1] -> latent cells (y0, y1, x0, x1), at least one cell each way."""
    h, w = size
    x, y, bw, bh = box
    x0, y0 = int(np.floor(x * w)), int(np.floor(y * h))
    x1, y1 = max(int(np.ceil((x + bw) * w)), x0 + 1), max(int(np.ceil((y + bh) * h)), y0 + 1)
    return max(y0, 0), min(y1, h), max(x0, 0), min(x1, w)


def place_pixels(
    source: np.ndarray, mask: np.ndarray, old_box: Box, new_box: Box, size: tuple[int, int]
) -> PixelPatch:
    """The pixels of ``source`` under ``mask`` inside ``old_box``, resized into ``new_box`` of an
    image of ``size`` (height, width): the pixel twin of ``transplant``."""
    h, w = size
    sh, sw = source.shape[:2]

    def cells(box: Box, bh: int, bw: int) -> tuple[int, int, int, int]:
        x, y, wb, hb = box
        x0, y0 = int(np.clip(round(x * bw), 0, bw - 1)), int(np.clip(round(y * bh), 0, bh - 1))
        x1 = int(np.clip(round((x + wb) * bw), x0 + 1, bw))
        y1 = int(np.clip(round((y + hb) * bh), y0 + 1, bh))
        return y0, y1, x0, x1

    sy0, sy1, sx0, sx1 = cells(old_box, sh, sw)
    ty0, ty1, tx0, tx1 = cells(new_box, h, w)
    crop = torch.from_numpy(np.asarray(source, np.float32)[sy0:sy1, sx0:sx1]).permute(2, 0, 1)
    crop_mask = torch.from_numpy(np.asarray(mask, np.float32)[sy0:sy1, sx0:sx1])
    stacked = torch.cat([crop, crop_mask[None]])[None]
    placed = F.interpolate(
        stacked, size=(ty1 - ty0, tx1 - tx0), mode="bilinear", align_corners=False
    )
    placed = placed[0].permute(1, 2, 0).numpy()
    pixels = np.zeros((h, w, 3), np.float32)
    alpha = np.zeros((h, w), np.float32)
    pixels[ty0:ty1, tx0:tx1] = placed[..., :3]
    alpha[ty0:ty1, tx0:tx1] = placed[..., 3].clip(0, 1)
    return PixelPatch(pixels, alpha, list(new_box))


def delete(canvas: LatentCanvas, mask: torch.Tensor) -> None:
    """Forget the latents under ``mask``: the final denoise regenerates them from fresh noise."""
    canvas.free = torch.maximum(canvas.free, mask)
    canvas.edited = torch.maximum(canvas.edited, mask)


def transplant(
    canvas: LatentCanvas,
    source: list[torch.Tensor],
    mask: torch.Tensor,
    old_box: Box,
    new_box: Box,
) -> None:
    """Copy the latents under ``mask`` inside ``old_box`` of ``source`` into ``new_box``.

    ``source`` is a trajectory aligned step by step with the canvas's (the canvas itself for a
    move, a separately generated and inverted object for an add). The crop is resized to the new
    box, so an object can also grow or shrink.
    """
    size = canvas.size
    sy0, sy1, sx0, sx1 = box_cells(old_box, size)
    ty0, ty1, tx0, tx1 = box_cells(new_box, size)
    th, tw = ty1 - ty0, tx1 - tx0
    crop_mask = mask[..., sy0:sy1, sx0:sx1]
    placed = F.interpolate(crop_mask, size=(th, tw), mode="nearest")  # [1, 1, th, tw]
    crops = [
        F.interpolate(z[..., sy0:sy1, sx0:sx1], size=(th, tw), mode="bilinear", align_corners=False)
        for z in source
    ]
    for z, crop in zip(canvas.trajectory, crops, strict=True):
        region = z[..., ty0:ty1, tx0:tx1]
        z[..., ty0:ty1, tx0:tx1] = placed * crop + (1 - placed) * region
    target = torch.zeros_like(canvas.free)
    target[..., ty0:ty1, tx0:tx1] = placed
    canvas.free = canvas.free * (1 - target)  # pasted content is known, not regenerated
    canvas.edited = torch.maximum(canvas.edited, target)


def move(
    canvas: LatentCanvas,
    mask: torch.Tensor,
    old_box: Box,
    new_box: Box,
    source: list[torch.Tensor] | None = None,
) -> None:
    """Reposition an object: paste its latents at the new box, regenerate where it was.

    ``source``: the trajectory the object is read from (default: the canvas as it is now). When
    several ops act on one canvas, pass the trajectory from before any of them: in a swap the
    second object's old place already holds the first one, and would carry it along."""
    source = [z.clone() for z in (source if source is not None else canvas.trajectory)]
    delete(canvas, mask)
    transplant(canvas, source, mask, old_box, new_box)


def start_latents(canvas: LatentCanvas, generator: torch.Generator) -> torch.Tensor:
    """The noisiest latent with fresh noise in the free regions (re-noising deleted content)."""
    z = canvas.trajectory[0]
    noise = torch.randn(z.shape, generator=generator, dtype=torch.float32).to(z)
    return canvas.free * noise + (1 - canvas.free) * z
