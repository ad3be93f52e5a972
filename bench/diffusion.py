"""Sampling speed of a diffusion checkpoint: 25 DDIM steps with guidance, batch 1 and 8.

Run: ``python bench/diffusion.py [--model PATH | --architecture] [--size 128] [--steps 25]
[--repeat 3] [--out bench/results/diffusion.json]``. Times are medians over ``--repeat`` runs
after one warm-up, end to end (text encoding, denoising, VAE decode), on the current torch thread
count. ``--architecture`` times the world model's shipped architecture (WorldModelConfig) with
random weights, which cost the same as trained ones, so anyone can rerun it before the model
ships. The target for the embedded world model is <= 0.5 s per image at batch 8 on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from scenecraft.core.settings import get_settings
from scenecraft.models import diffusion as D


def bench(model: D.DiffusionModel, batch: int, size: int, steps: int, repeat: int) -> float:
    prompts = ["a red circle and a blue star"] * batch

    def run() -> None:
        D.sample(
            model,
            prompts,
            height=size,
            width=size,
            steps=steps,
            guidance=3.0,
            generator=torch.Generator().manual_seed(0),
        )

    run()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=get_settings().world_model)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=Path("bench/results/diffusion.json"))
    ap.add_argument(
        "--architecture",
        action="store_true",
        help="the world model's architecture with random weights instead of --model",
    )
    args = ap.parse_args()
    if args.architecture:
        import tempfile

        from scenecraft.models.world_model.architecture import WorldModelConfig
        from scenecraft.models.world_model.tiny import save_tiny_pipeline

        args.model = "architecture: WorldModelConfig() with random weights"
        folder = save_tiny_pipeline(Path(tempfile.mkdtemp()) / "model", WorldModelConfig())
        model = D.load(str(folder), device=args.device)
    else:
        model = D.load(args.model, device=args.device)
    rows = []
    for b in (int(x) for x in args.batches.split(",")):
        s = bench(model, b, args.size, args.steps, args.repeat)
        rows.append({"batch": b, "seconds": s, "seconds_per_image": s / b})
    table = Table(title=f"sampling {args.steps} steps at {args.size}^2: {args.model}")
    for c in ("batch", "s per batch", "s per image"):
        table.add_column(c)
    for r in rows:
        table.add_row(str(r["batch"]), f"{r['seconds']:.3f}", f"{r['seconds_per_image']:.3f}")
    Console().print(table)
    report = {
        "model": args.model,
        "size": args.size,
        "steps": args.steps,
        "repeat": args.repeat,
        "device": args.device,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
