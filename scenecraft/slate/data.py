"""Training data: ShapesWorld scenes rendered from split seeds (with instance masks), or a folder
of the user's images. Arrays are uint8 [N, H, W, 3]; masks int [N, H, W] with 0 = background."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from PIL import Image

from scenecraft.shapesworld.render import render_scene
from scenecraft.shapesworld.scene import sample_scene, split_seed

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


@dataclass
class ImageSet:
    images: np.ndarray  # [N, H, W, 3] uint8
    masks: np.ndarray | None = None  # [N, H, W] int32 instance ids, when known
    seeds: np.ndarray | None = None  # ShapesWorld scene seeds, when rendered

    def __len__(self) -> int:
        return len(self.images)


def shapes_world(
    split: str, n: int, size: int = 64, min_objects: int = 1, max_objects: int = 5, offset: int = 0
) -> ImageSet:
    """The first ``n`` scenes of a ShapesWorld split, rendered at ``size``."""
    seeds = np.array([split_seed(split, offset + i) for i in range(n)], np.int64)
    images = np.zeros((n, size, size, 3), np.uint8)
    masks = np.zeros((n, size, size), np.int32)
    for i, seed in enumerate(seeds):
        out = render_scene(sample_scene(int(seed), min_objects, max_objects), size)
        images[i], masks[i] = out.image, out.masks
    return ImageSet(images, masks, seeds)


def cached_shapes_world(cache: Path, split: str, n: int, size: int, **kw) -> ImageSet:
    """``shapes_world`` saved to an .npz once, so a resumed run does not render again."""
    path = Path(cache) / f"{split}-{n}-{size}-{kw.get('min_objects', 1)}.npz"
    if path.exists():
        d = np.load(path)
        return ImageSet(d["images"], d["masks"], d["seeds"])
    data = shapes_world(split, n, size, **kw)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, images=data.images, masks=data.masks, seeds=data.seeds)
    tmp.replace(path)
    return data


def image_folder(folder: Path, size: int) -> ImageSet:
    """Every image under ``folder``, centre-cropped to a square and resized to ``size``."""
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {folder}")
    images = np.zeros((len(paths), size, size, 3), np.uint8)
    for i, p in enumerate(paths):
        im = Image.open(p).convert("RGB")
        side = min(im.size)
        left, top = (im.width - side) // 2, (im.height - side) // 2
        im = im.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
        images[i] = np.asarray(im)
    return ImageSet(images)


def to_tensor(images: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    # [N, H, W, 3] uint8 -> [N, 3, H, W] float in 0..1
    x = torch.from_numpy(np.array(images)).to(device)  # a copy: inputs may be read-only
    return rearrange(x, "n h w c -> n c h w").float() / 255.0


def to_uint8(images: torch.Tensor) -> np.ndarray:
    # [N, 3, H, W] float in 0..1 -> [N, H, W, 3] uint8
    x = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    return rearrange(x, "n c h w -> n h w c").cpu().numpy()
