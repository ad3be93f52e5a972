"""The pictures pipelines write beside their results: boxes over an image, a layout, the per-box
latents side by side, a loss curve. Each returns PNG bytes."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scenecraft.core.contracts import Layout
    from scenecraft.svgcraft.latents import BoxLatents


def boxes_overlay(image: np.ndarray, detected: list[dict], proposed: list[dict] | None) -> bytes:
    """The image with detected boxes (solid) and proposed boxes (dashed), labelled."""
    from PIL import Image, ImageDraw

    from scenecraft.shapesworld.render import to_png

    scale = 3 if max(image.shape[:2]) <= 256 else 1  # small images are hard to read
    im = Image.fromarray(image).resize((image.shape[1] * scale, image.shape[0] * scale))
    d = ImageDraw.Draw(im)
    w, h = im.size

    def rect(box, colour, dashed):
        x, y, bw, bh = box[0] * w, box[1] * h, box[2] * w, box[3] * h
        if not dashed:
            d.rectangle([x, y, x + bw, y + bh], outline=colour, width=2)
            return
        edges = [
            ((x, y), (x + bw, y)),
            ((x + bw, y), (x + bw, y + bh)),
            ((x + bw, y + bh), (x, y + bh)),
            ((x, y + bh), (x, y)),
        ]
        for (x0, y0), (x1, y1) in edges:
            n = max(int(max(abs(x1 - x0), abs(y1 - y0)) // 6), 1)
            for k in range(0, n, 2):
                a, b = k / n, min((k + 1) / n, 1)
                d.line(
                    [
                        (x0 + (x1 - x0) * a, y0 + (y1 - y0) * a),
                        (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b),
                    ],
                    fill=colour,
                    width=2,
                )

    for det in detected:
        rect(det["box"], (20, 20, 20), False)
        d.text((det["box"][0] * w + 2, det["box"][1] * h + 1), det["label"], fill=(20, 20, 20))
    for item in proposed or []:
        rect(item["box"], (200, 0, 160), True)
        d.text(
            (item["box"][0] * w + 2, (item["box"][1] + item["box"][3]) * h - 11),
            item["label"],
            fill=(200, 0, 160),
        )
    return to_png(np.asarray(im))


def layout_picture(layout: Layout, size: tuple[int, int]) -> bytes:
    """The boxes drawn with their captions on a white canvas with a grey frame.

    A small canvas is drawn at 2x so the captions fit; each caption is
    wrapped to its box's width, written inside the box's top-left corner and cut at the box's
    edges, so neighbouring boxes' captions do not run into each other."""
    from PIL import Image, ImageDraw

    from scenecraft.shapesworld.render import to_png

    scale = 2 if max(size) <= 256 else 1
    w, h = size[0] * scale, size[1] * scale
    image = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(image)
    palette = np.array([[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40]])
    for i, item in enumerate(layout.items):
        x, y, bw, bh = item.box
        colour = tuple(int(c) for c in palette[i % len(palette)])
        draw.rectangle([x * w, y * h, (x + bw) * w - 1, (y + bh) * h - 1], outline=colour, width=2)
        lines: list[str] = []
        for word in item.label.split():
            if lines and draw.textlength(f"{lines[-1]} {word}") <= bw * w - 4:
                lines[-1] = f"{lines[-1]} {word}"
            else:
                lines.append(word)
        # drawn on the box's own layer, so a word wider than its box is cut at the box's edge
        left, top = round(x * w), round(y * h)
        layer = Image.new("RGBA", (max(1, round((x + bw) * w) - left - 2), max(1, round(bh * h))))
        ImageDraw.Draw(layer).multiline_text((3, 2), "\n".join(lines), fill=colour, spacing=1)
        image.paste(layer, (left, top), layer)
    draw.rectangle([0, 0, w - 1, h - 1], outline=(170, 170, 170))
    return to_png(np.asarray(image))


def latents_strip(boxes: list[BoxLatents]) -> bytes:
    """Each object generated alone, side by side, grey outside its refined mask."""
    from scenecraft.shapesworld.render import to_png

    tiles = [np.where(b.mask[..., None], b.image, 200).astype(np.uint8) for b in boxes]
    return to_png(np.concatenate(tiles, axis=1))  # [H, W * n, 3]


def loss_plot(losses: list[float], title: str = "SVG optimisation") -> bytes:
    """The loss per iteration, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.plot(range(1, len(losses) + 1), losses)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
