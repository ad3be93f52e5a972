"""``scenecraft eval sheets``: pictures a person can judge, one PNG sheet per system.

For eight fixed prompts (one row each), every stage a job writes as a picture, left to right:

- ``sld``: the base image, then per correction round the image with what the detector found
  (black) and the boxes the loop proposed (magenta, dashed), and the final image;
- ``svgcraft``: the planned layout, the per-box latents, the fused raster and the render of the
  final SVG.

Each row ends with the judge's verdict on the final picture (the same judge as every figure,
not the in-loop detector's settings), so a reader can check a figure against its images.
The prompts are written here once, in plain wording across the four LMD categories, and never
tuned to what the model draws well.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw
from rich.progress import track

from scenecraft.eval.common import write_json

if TYPE_CHECKING:
    from scenecraft.core.settings import Settings

PROMPTS = (
    "a red circle and a blue square",
    "two yellow stars",
    "a green triangle to the left of a purple heart",
    "three circles and no squares",
    "a pink hexagon above an orange circle",
    "a blue star, a red square and a yellow triangle",
    "four hearts",
    "a cyan square to the right of a green star",
)
SYSTEMS = ("sld", "svgcraft")
CELL = 256  # side of one picture on the sheet: a layout's captions stay readable
LABEL_W = 150


def stage_names(system: str, names: list[str]) -> list[str]:
    """The picture artifacts of one job, in the order of its method."""
    if system == "sld":
        rounds = sorted(
            {int(m.group(1)) for n in names if (m := re.fullmatch(r"round(\d+)_boxes\.png", n))}
        )
        return ["initial.png", *(f"round{r}_boxes.png" for r in rounds), "final.png"]
    return ["layout.png", "box_latents.png", "fused.png", "final.png"]


def _run(
    system: str, prompt: str, seed: int, store: Path, params: dict, settings: Settings
) -> dict[str, np.ndarray]:
    from scenecraft.pipelines.artifacts import LocalArtifactStore
    from scenecraft.pipelines.registry import run_pipeline

    params = {"prompt": prompt, "seed": seed, **params}
    result = run_pipeline(
        system, params, store=LocalArtifactStore(store), device="cpu", settings=settings
    )
    names = [n for n in stage_names(system, list(result.artifacts)) if n in result.artifacts]
    return {n: np.asarray(Image.open(io.BytesIO(result.read(n))).convert("RGB")) for n in names}


def _fit(image: np.ndarray, height: int) -> Image.Image:
    im = Image.fromarray(image)
    # pixels stay sharp when enlarged; text stays legible when shrunk
    how = Image.NEAREST if im.height <= height else Image.LANCZOS
    return im.resize((max(1, round(im.width * height / im.height)), height), how)


def _wrap(text: str, width: int) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def draw_sheet(system: str, rows: list[dict], path: Path) -> None:
    """One row a prompt: its text and verdict, then its stage pictures with their names."""
    pics = [[_fit(img, CELL) for img in r["images"].values()] for r in rows]
    width = LABEL_W + max(sum(p.width + 4 for p in row) for row in pics)
    row_h = CELL + 16
    sheet = Image.new("RGB", (width, 22 + row_h * len(rows)), "white")
    d = ImageDraw.Draw(sheet)
    right = sum(r["ok"] for r in rows)
    d.text((4, 4), f"{system}: {right} of {len(rows)} final pictures judged right", fill="black")
    for i, (r, row) in enumerate(zip(rows, pics, strict=True)):
        y = 22 + i * row_h
        verdict = "RIGHT" if r["ok"] else "wrong: " + "; ".join(r["reasons"])
        d.text((4, y), _wrap(r["prompt"], 22), fill="black")
        lines = _wrap(verdict, 24).split("\n")  # two lines at most: the row ends below them
        if len(lines) > 2:
            lines = [lines[0], lines[1][:21] + "..."]
        d.text((4, y + CELL - 24), "\n".join(lines), fill=(0, 120, 0) if r["ok"] else "red")
        x = LABEL_W
        for name, pic in zip(r["images"], row, strict=True):
            sheet.paste(pic, (x, y))
            d.text((x + 2, y + CELL + 2), name.removesuffix(".png"), fill=(90, 90, 90))
            x += pic.width + 4
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def main(
    system: str,
    model: str,
    out: Path,
    prompts: tuple[str, ...] = PROMPTS,
    params: dict | None = None,
) -> dict:
    """Run ``system`` on ``prompts`` (seed = row; ``params`` over the pipeline's defaults), judge
    each final picture, draw the sheet at ``out`` (PNG) and write the verdicts beside it (JSON)."""
    from scenecraft.core.settings import get_settings
    from scenecraft.planner.offline import OfflinePlanner
    from scenecraft.shapesworld.detect import detect
    from scenecraft.shapesworld.judge import judge

    if system not in SYSTEMS:
        raise ValueError(f"system must be one of {', '.join(SYSTEMS)}, got {system!r}")
    # the jobs' settings are the process's with the model asked for
    settings = get_settings().model_copy(update={"world_model": model})
    planner = OfflinePlanner()
    rows = []
    with tempfile.TemporaryDirectory() as store:
        for seed, prompt in enumerate(track(prompts, description=f"{system} sheet")):
            images = _run(system, prompt, seed, Path(store), params or {}, settings)
            verdict = judge(detect(images["final.png"]), planner.parse(prompt))
            rows.append(
                {
                    "prompt": prompt,
                    "seed": seed,
                    "ok": verdict.ok,
                    "reasons": verdict.reasons,
                    "images": images,
                }
            )
    draw_sheet(system, rows, out)
    write_json(
        out.with_suffix(".json"),
        {
            "system": system,
            "model": model,
            "rows": [{k: v for k, v in r.items() if k != "images"} for r in rows],
        },
    )
    print(f"{system}: {sum(r['ok'] for r in rows)} of {len(rows)} right; wrote {out}")
    return {"right": sum(r["ok"] for r in rows), "n": len(rows)}
