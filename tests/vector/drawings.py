"""Line drawings made here, to tune and test how line art is vectorized (never the corpus).

Each is SVG text in a 128-unit box, drawn over white at any size (``raster``) by resvg, or by
scenecraft's own rasteriser: resvg strokes curves about 0.15 px off at 1:1 (its stroker's
offset curves), which no exact stroke matches, so a drawing meant to be drawn exactly (strokes
as an SVG means them) is made with ``exact=True``.
"""

from __future__ import annotations

import io

import numpy as np
import resvg_py
from PIL import Image

_HEAD = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128">'
_LINE = 'fill="none" stroke="{c}" stroke-width="{w}" stroke-linecap="round" stroke-linejoin="round"'

DRAWINGS = {
    # an outline icon: a ring and a tick, one width
    "ring-tick": _HEAD
    + f'<circle cx="64" cy="64" r="44" {_LINE.format(c="#000", w=4)}/>'
    + f'<path d="M42 66l15 15 30-34" {_LINE.format(c="#000", w=4)}/></svg>',
    # a face under black outlines of one width, filled eyes, a stroked mouth
    "outlined-face": _HEAD
    + f'<circle cx="64" cy="64" r="46" fill="#fcea2b" {_LINE.format(c="#000", w=4)[12:]}/>'
    + '<circle cx="48" cy="54" r="5"/><circle cx="80" cy="54" r="5"/>'
    + f'<path d="M42 80q22 20 44 0" {_LINE.format(c="#000", w=4)}/></svg>',
    # a broad-lined square frame and a plus sign in it (an icon drawn at 16 px, shown at 128)
    "thick-frame": _HEAD
    + '<rect x="16" y="16" width="96" height="96" rx="12" fill="none" stroke="#212529"'
    + ' stroke-width="8"/>'
    + f'<path d="M64 40v48M40 64h48" {_LINE.format(c="#212529", w=8)}/></svg>',
    # a grid of crossing thin lines in two colours
    "hash": _HEAD
    + f'<path d="M44 20v88M84 20v88" {_LINE.format(c="#1d4ed8", w=3)}/>'
    + f'<path d="M20 44h88M20 84h88" {_LINE.format(c="#b91c1c", w=3)}/></svg>',
    # a house: filled roof and wall, outlined door and window, a wavy line of smoke
    "house": _HEAD
    + '<path d="M20 60L64 22l44 38z" fill="#c2410c"/><rect x="30" y="60" width="68" height="50"'
    + ' fill="#fde68a"/>'
    + f'<path d="M54 110V82h20v28M80 70h12v12H80z" {_LINE.format(c="#78350f", w=3)}/>'
    + f'<path d="M90 36c4-8-4-12 0-20s-4-10 0-14" {_LINE.format(c="#6b7280", w=2.5)}/></svg>',
}


def raster(name: str, side: int = 128, exact: bool = False) -> np.ndarray:
    """A drawing rendered over white at ``side`` px: [side, side, 3] uint8."""
    if exact:
        from scenecraft.vector import render
        from scenecraft.vector.svg_read import read_svg

        svg = DRAWINGS[name].replace("<svg ", f'<svg width="{side}" height="{side}" ', 1)
        image = render(read_svg(svg)).detach()
        rgb = image[..., :3] * image[..., 3:] + (1 - image[..., 3:])
        return (rgb.numpy() * 255).round().astype(np.uint8)
    png = resvg_py.svg_to_bytes(
        svg_string=DRAWINGS[name], width=side, height=side, background="#ffffff"
    )
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB"))
