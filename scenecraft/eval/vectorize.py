"""``scenecraft eval vectorize``: image -> SVG fidelity on ShapesWorld scenes.

Each held-out scene is rendered, initialised with one closed path per object mask, fitted with
L2 for ``iters`` steps, and written as SVG. Reported per scene: PSNR of the fitted scene, PSNR of
the SVG as written (2-decimal coordinates, read back and rendered), paths, SVG bytes, wall time
(init + fit + write).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
from rich.progress import track

from scenecraft.eval.common import print_table, write_json
from scenecraft.shapesworld.render import render_scene
from scenecraft.shapesworld.scene import sample_scene, split_seed
from scenecraft.vector import render
from scenecraft.vector.fit import fit
from scenecraft.vector.initialise import from_masks
from scenecraft.vector.svg_read import read_svg
from scenecraft.vector.svg_write import to_svg


def _psnr(image: torch.Tensor, target: torch.Tensor) -> float:
    mse = float(((image[..., :3] - target) ** 2).mean())
    return 10 * torch.log10(torch.tensor(1 / max(mse, 1e-12))).item()


def evaluate(
    n: int = 50, size: int = 128, iters: int = 200, split: str = "heldout", progress: bool = True
) -> dict:
    rows = []
    for i in track(range(n), description="vectorize eval", disable=not progress):
        seed = split_seed(split, i)
        world = render_scene(sample_scene(seed), size)
        target = torch.from_numpy(world.image).float() / 255  # [H, W, 3]
        start = time.perf_counter()
        init = from_masks(world.masks, target)
        result = fit(target, init, iters=iters, loss="l2", opacity_modulation=None, lr_points=0.5)
        svg = to_svg(result.scene)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            rows.append(
                {
                    "seed": seed,
                    "objects": len(world.coverage),
                    "paths": len(result.scene.shapes),
                    "psnr_init": _psnr(render(init), target),
                    "psnr_fit": _psnr(render(result.scene), target),
                    "psnr_svg": _psnr(render(read_svg(svg)), target),
                    "svg_bytes": len(svg.encode()),
                    "seconds": seconds,
                }
            )
    summary = {
        key: {
            "min": min(r[key] for r in rows),
            "median": statistics.median(r[key] for r in rows),
            "max": max(r[key] for r in rows),
        }
        for key in ("psnr_init", "psnr_fit", "psnr_svg", "paths", "svg_bytes", "seconds")
    }
    summary["one_path_per_object"] = all(r["paths"] == r["objects"] for r in rows)
    return {
        "n_scenes": n,
        "size": size,
        "iters": iters,
        "split": split,
        "threads": torch.get_num_threads(),
        "summary": summary,
        "scenes": rows,
    }


def main(
    n: int = 50, size: int = 128, out: Path = Path("eval/results/vectorize.json"), iters: int = 200
) -> dict:
    report = evaluate(n=n, size=size, iters=iters)
    s = report["summary"]
    rows = [
        [key, s[key]["min"], s[key]["median"], s[key]["max"]]
        for key in ("psnr_init", "psnr_fit", "psnr_svg", "paths", "svg_bytes", "seconds")
    ]
    print_table(
        f"Mask-initialised SVG fits, {n} held-out ShapesWorld scenes at {size}px, {iters} iters",
        ["metric", "min", "median", "max"],
        rows,
    )
    write_json(out, report)
    print(f"one path per object: {s['one_path_per_object']}; wrote {out}")
    return report
