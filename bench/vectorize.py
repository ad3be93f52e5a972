"""``vectorize`` on a picture that is not a ShapesWorld scene: PSNR, paths, SVG bytes, steps, time.

The picture is ``tests/vector/data/three_shapes.png`` (128 px: a red circle, a blue square and a
yellow star on a light background, anti-aliased), from issue 23. Each seed runs the pipeline as
``scenecraft vectorize in.png -o out.svg --paths 8 --iters 200 --size 128 --seed S`` does. Run:
``OMP_NUM_THREADS=1 python bench/vectorize.py [--out bench/results/vectorize.json]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from scenecraft.pipelines.artifacts import open_store
from scenecraft.pipelines.base import make_context
from scenecraft.pipelines.registry import execute, validate

PICTURE = Path(__file__).parent.parent / "tests/vector/data/three_shapes.png"


def run_one(png: bytes, init: str, seed: int, paths: int, iters: int, size: int) -> dict:
    params = {
        "image": {"png_base64": base64.b64encode(png).decode()},
        "init": init,
        "paths": paths,
        "iters": iters,
        "size": size,
        "seed": seed,
    }
    pipe, valid = validate("vectorize", params)
    with tempfile.TemporaryDirectory() as store:
        ctx = make_context(open_store(store), valid.seed, "cpu")
        start = time.perf_counter()
        result = execute(pipe, valid, ctx)
        seconds = time.perf_counter() - start
    m = result.metrics
    keys = ("psnr", "paths", "svg_bytes", "iterations")
    return {"init": init, "seed": seed, **{k: m[k] for k in keys}, "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inits", nargs="+", default=["regions", "blobs"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--paths", type=int, default=8)
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--out", type=Path, default=Path("bench/results/vectorize.json"))
    args = parser.parse_args()
    png = PICTURE.read_bytes()
    runs = [
        run_one(png, init, seed, args.paths, args.iters, args.size)
        for init in args.inits
        for seed in range(args.seeds)
    ]
    table = Table("init", "PSNR min / median dB", "paths max", "bytes max", "steps median", "s")
    summary = {}
    for init in args.inits:
        rows = [r for r in runs if r["init"] == init]
        psnrs = [r["psnr"] for r in rows]
        summary[init] = {
            "psnr_min": min(psnrs),
            "psnr_median": statistics.median(psnrs),
            "paths_max": max(r["paths"] for r in rows),
            "svg_bytes_max": max(r["svg_bytes"] for r in rows),
            "iterations_median": statistics.median(r["iterations"] for r in rows),
            "seconds_median": statistics.median(r["seconds"] for r in rows),
        }
        s = summary[init]
        table.add_row(
            init,
            f"{s['psnr_min']:.1f} / {s['psnr_median']:.1f}",
            str(s["paths_max"]),
            str(s["svg_bytes_max"]),
            str(s["iterations_median"]),
            f"{s['seconds_median']:.1f}",
        )
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "picture": str(PICTURE.relative_to(PICTURE.parent.parent.parent.parent)),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": os.cpu_count()},
        "torch_threads": int(os.environ.get("OMP_NUM_THREADS", "0")) or None,
        "summary": summary,
        "runs": runs,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
