"""Images as job inputs: a held-out ShapesWorld scene by index, or a base64-encoded PNG/JPEG."""

from __future__ import annotations

import base64
import binascii
import io
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ConfigDict, Field, field_validator, model_validator

from scenecraft.core.errors import InvalidParams
from scenecraft.core.settings import get_settings
from scenecraft.pipelines.base import JSONModel

if TYPE_CHECKING:
    from PIL import Image

MAX_IMAGE_BYTES = 8 * 1024 * 1024
ACCEPTED_MODES = ("RGB", "RGBA", "P", "L")


class ImageInput(JSONModel):
    """An input image: a held-out ShapesWorld scene by index, or a base64 PNG/JPEG."""

    model_config = ConfigDict(extra="forbid")

    scene: int | None = Field(None, ge=0, le=999_999, description="held-out ShapesWorld scene")
    png_base64: str | None = Field(
        None, description="an image, base64-encoded; each side at most the max_side limit"
    )

    @field_validator("png_base64")
    @classmethod
    def _decodes(cls, data: str | None) -> str | None:
        # decoded in full here, so a bomb or a broken file is a 422 and never a queued job
        if data is not None:
            open_image(data)
        return data

    @model_validator(mode="after")
    def _one(self) -> ImageInput:
        if (self.scene is None) == (self.png_base64 is None):
            raise ValueError("give exactly one of 'scene' or 'png_base64'")
        return self


def open_image(data: str) -> Image.Image:
    """The image in base64 ``data``, decoded; ``ValueError`` saying what is wrong with it.

    The header's size is checked against the ``max_side`` limit before any pixel is decoded (a
    few bytes can declare 65535 x 65535 pixels), then the whole image is decoded, so truncated
    or corrupt data fails here rather than in a job."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_IMAGE_BYTES * 4 // 3:
        raise ValueError(f"image is larger than {MAX_IMAGE_BYTES} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error as e:
        raise ValueError(f"not base64: {e}") from None
    side = get_settings().limits.max_side
    # PIL raises many kinds of exception for malformed files (SyntaxError, struct.error, zlib
    # errors, its DecompressionBombError, ...); every one of them means "not a usable image"
    too_big = f"each side must be 1 to {side} px"
    try:
        im = Image.open(io.BytesIO(raw))
    except Image.DecompressionBombError:  # PIL's own limit, far above ours, refused the header
        raise ValueError(f"image has hundreds of millions of pixels; {too_big}") from None
    except UnidentifiedImageError:
        raise ValueError("not an image format PIL can read (PNG, JPEG, ...)") from None
    except Exception as e:
        raise ValueError(f"not a readable image: {e}") from None
    if not (0 < im.width <= side and 0 < im.height <= side):
        raise ValueError(f"image is {im.width} x {im.height} px; {too_big}")
    if im.mode not in ACCEPTED_MODES:
        raise ValueError(f"image mode {im.mode} is not supported; use {', '.join(ACCEPTED_MODES)}")
    try:
        im.load()
    except Exception as e:
        raise ValueError(f"the image data is broken or cut short: {e}") from None
    return im


def decode_image(data: str, field: str) -> np.ndarray:
    """A base64 PNG/JPEG -> [H, W, 3] uint8; transparency is flattened onto white.

    Errors name ``field`` (e.g. ``params.image.png_base64``) and say what was wrong."""
    from PIL import Image

    try:
        im = open_image(data)
    except ValueError as e:
        raise InvalidParams.single(field, str(e)) from None
    rgba = im.convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    return np.asarray(flat.convert("RGB"))


def load_image(inp: ImageInput, size: int, field: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(image [H, W, 3] uint8, ShapesWorld instance masks or None).

    A scene is rendered at ``size``; an uploaded image keeps its own size."""
    from scenecraft.shapesworld.render import render_scene
    from scenecraft.shapesworld.scene import sample_scene, split_seed

    if inp.scene is not None:
        out = render_scene(sample_scene(split_seed("heldout", inp.scene), 2, 5), size)
        return out.image, out.masks
    return decode_image(inp.png_base64 or "", f"{field}.png_base64"), None


def encode_png(image: np.ndarray) -> str:
    """[H, W, 3] uint8 -> base64 PNG (what ``png_base64`` fields take)."""
    from scenecraft.shapesworld.render import to_png

    return base64.b64encode(to_png(image)).decode()
