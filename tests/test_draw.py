"""The pictures pipelines write beside their results."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from scenecraft.core.contracts import Layout, LayoutItem
from scenecraft.pipelines.draw import layout_picture


def test_layout_captions_stay_inside_their_own_boxes():
    # two narrow boxes side by side: unwrapped captions ran into each other's box
    layout = Layout(
        items=[
            LayoutItem(label="green triangle #1", box=[0.1, 0.4, 0.16, 0.18]),
            LayoutItem(label="purple heart #1", box=[0.3, 0.4, 0.16, 0.18]),
        ]
    )
    im = np.asarray(Image.open(io.BytesIO(layout_picture(layout, (128, 128)))).convert("RGB"))
    assert im.shape == (256, 256, 3)  # a small canvas is drawn at 2x
    for colour, item in zip(([31, 119, 180], [255, 127, 14]), layout.items, strict=True):
        x0, y0, w, h = np.array(item.box) * 256
        x, y, x1, y1 = int(x0) - 1, int(y0) - 1, int(x0 + w) + 2, int(y0 + h) + 2
        ink = np.all(np.abs(im.astype(int) - colour) < 60, axis=-1)
        inside = np.zeros_like(ink)
        inside[y:y1, x:x1] = True
        frame = inside.copy()
        frame[y + 4 : y1 - 4, x + 4 : x1 - 4] = False
        assert ink[frame].sum() > 3 * (w + h)  # the box
        assert ink[inside & ~frame].sum() > 30  # its caption
        assert not ink[~inside].any()
