"""Images as job inputs: a held-out ShapesWorld scene by index, or a base64-encoded PNG/JPEG."""

from __future__ import annotations

import base64
import binascii
import io

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from scenecraft.errors import InvalidParams
from scenecraft.pipelines.base import JSONModel

MAX_IMAGE_BYTES = 8 * 1024 * 1024
ACCEPTED_MODES = ("RGB", "RGBA", "P", "L")


class ImageInput(JSONModel):
    """An input image: a held-out ShapesWorld scene by index, or a base64 PNG/JPEG."""

    model_config = ConfigDict(extra="forbid")

    scene: int | None = Field(None, ge=0, le=999_999, description="held-out ShapesWorld scene")
    png_base64: str | None = Field(None, description="an image, base64-encoded")

    @model_validator(mode="after")
    def _one(self) -> ImageInput:
        if (self.scene is None) == (self.png_base64 is None):
            raise ValueError("give exactly one of 'scene' or 'png_base64'")
        if self.png_base64 is not None and len(self.png_base64) > MAX_IMAGE_BYTES * 4 // 3:
            raise ValueError(f"image is larger than {MAX_IMAGE_BYTES} bytes")
        return self


def decode_image(data: str, field: str) -> np.ndarray:
    """A base64 PNG/JPEG -> [H, W, 3] uint8; transparency is flattened onto white.

    Errors name ``field`` (e.g. ``params.image.png_base64``) and say what was wrong."""
    from PIL import Image, UnidentifiedImageError

    try:
        im = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
        im.load()
    except UnidentifiedImageError:
        raise InvalidParams.single(
            field, "not an image format PIL can read (PNG, JPEG, ...)"
        ) from None
    except (binascii.Error, OSError, ValueError) as e:
        raise InvalidParams.single(field, f"not an image: {e}") from None
    if im.mode not in ACCEPTED_MODES:
        raise InvalidParams.single(
            field, f"image mode {im.mode} is not supported; use {', '.join(ACCEPTED_MODES)}"
        )
    if im.width < 1 or im.height < 1:
        raise InvalidParams.single(field, "image has no pixels")
    rgba = im.convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    return np.asarray(flat.convert("RGB"))


def load_image(inp: ImageInput, size: int, field: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(image [H, W, 3] uint8, ShapesWorld instance masks or None).

    A scene is rendered at ``size``; an uploaded image keeps its own size."""
    from scenecraft.world.render import render_scene
    from scenecraft.world.scene import sample_scene, split_seed

    if inp.scene is not None:
        out = render_scene(sample_scene(split_seed("heldout", inp.scene), 2, 5), size)
        return out.image, out.masks
    return decode_image(inp.png_base64 or "", f"{field}.png_base64"), None


def encode_png(image: np.ndarray) -> str:
    """[H, W, 3] uint8 -> base64 PNG (what ``png_base64`` fields take)."""
    from scenecraft.world.render import to_png

    return base64.b64encode(to_png(image)).decode()
