"""The one entry point that turns a vector scene into pixels, on whichever backend is chosen.

``SCENECRAFT_RASTERIZER`` (or ``Settings.rasterizer``): ``torch`` = scenecraft's own rasteriser,
``diffvg`` = pydiffvg (an error if it is not installed), ``auto`` = pydiffvg when importable,
else torch. Both return [H, W, 4] straight (not premultiplied) RGBA in [0, 1].
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from torch import Tensor

from scenecraft.core.errors import InvalidParams
from scenecraft.core.settings import get_settings
from scenecraft.vector import diffvg_backend
from scenecraft.vector.raster import render_torch
from scenecraft.vector.scene import Scene

Backend = Literal["auto", "torch", "diffvg"]


def resolve_backend(backend: Backend | None = None) -> Literal["torch", "diffvg"]:
    """The backend a render would use: the argument, else settings (``SCENECRAFT_RASTERIZER``)."""
    choice = backend or get_settings().rasterizer
    if choice == "diffvg" and not diffvg_backend.available():
        raise InvalidParams.single(
            "rasterizer",
            "diffvg was requested but pydiffvg is not importable; build it from "
            "github.com/BachiLi/diffvg or set SCENECRAFT_RASTERIZER=torch",
        )
    if choice == "auto":
        return "diffvg" if diffvg_backend.available() else "torch"
    if choice not in ("torch", "diffvg"):
        raise InvalidParams.single("rasterizer", f"must be auto, torch or diffvg, not {choice!r}")
    return choice


def render(
    scene: Scene,
    width: int | None = None,
    height: int | None = None,
    *,
    backend: Backend | None = None,
    num_samples: int = 2,
    seed: int = 0,
) -> Tensor:
    """Rasterise ``scene`` -> [height, width, 4] straight RGBA, differentiable in its tensors.

    width / height default to the scene's canvas; other sizes scale the scene. ``num_samples``
    and ``seed`` only matter to diffvg (the torch backend's coverage is exact, not sampled).
    """
    scene.validate()
    width = scene.canvas_width if width is None else width
    height = scene.canvas_height if height is None else height
    if width <= 0 or height <= 0:
        raise InvalidParams.single(
            "size", f"width and height must be positive, not {width}x{height}"
        )
    if resolve_backend(backend) == "diffvg":
        return diffvg_backend.render_diffvg(scene, width, height, num_samples, seed)
    return render_torch(scene, width, height)


def to_uint8(image: Tensor) -> np.ndarray:
    """An image [H, W, C] in [0, 1] as uint8."""
    return (image.detach().clamp(0, 1) * 255).round().byte().cpu().numpy()


def png_over_white(image: Tensor) -> bytes:
    """A straight-RGBA render [H, W, 4] in [0, 1], composited over white, as PNG bytes."""
    from scenecraft.shapesworld.render import to_png

    return to_png(to_uint8(image[..., :3] * image[..., 3:] + (1 - image[..., 3:])))
