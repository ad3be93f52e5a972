"""Training speed of the world model's UNet stage: full optimiser steps at batch 8 and 32.

Run: ``python bench/world_model_train.py [--batches 8,32] [--repeat 5] [--device cpu]
[--threads 0] [--samples 512000] [--out bench/results/world_model_train.json]``. Each step is
``train.unet_step``, the code ``train_unet`` runs (text encoder with GLIGEN phrase embeddings on
grounded steps, v-prediction loss with min-SNR weights, backward, clipped AdamW, EMA update), on
batches ``make_batch`` builds from training scenes as ``train_unet``'s loader does. Plain and
grounded steps are timed apart (median of ``--repeat`` each, after one warm-up) and s/step is
their mean weighted by ``p_plain``, as training mixes them; building the batch (done in-process by
the ``cpu`` preset, in loader processes by ``gpu``) is timed apart too. The architecture is the
shipped WorldModelConfig with random weights, which cost the same as trained ones; the latents are
random at the VAE's latent shape, since real ones come from a run's latent cache (a trained VAE).
``--samples`` turns samples/s into hours: 512,000 is 4,000 steps at batch 128, where the session-2
GPU run read 25% of single-object prompts right (README, "The world model").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from scenecraft.models.world_model.architecture import WorldModelConfig
from scenecraft.training.scenes import training_scene
from scenecraft.training.world_model import (
    TrainConfig,
    fresh_unet_stage,
    make_batch,
    unet_step,
)


def bench(
    cfg: WorldModelConfig, batch: int, repeat: int, device: str = "cpu", scenes: int = 512
) -> dict:
    """Seconds of one UNet training step at ``batch``, fresh models set up as ``train_unet`` sets
    them up: the median of ``repeat`` plain (text-only) steps and of ``repeat`` grounded (GLIGEN)
    steps after a warm-up, and their mean weighted as training mixes them (``p_plain``).

    Both kinds are timed because they differ (the fuser's gated self-attention and the phrase
    embeddings cost about half a plain step more); a median over steps as they come would report
    whichever kind happened to be drawn more often."""
    tc = replace(TrainConfig(), batch=batch)
    m = fresh_unet_stage(cfg, tc, device)
    pool = [training_scene(i) for i in range(scenes)]
    side = m.unet.config.sample_size  # the latent grid the UNet was built for
    latents = torch.randn(scenes, cfg.latent_channels, side, side).half()  # as the cache holds them
    times: dict[bool, list[float]] = {False: [], True: []}  # grounded? -> step seconds
    builds = []
    step = 0
    warm = True  # the first step warms up (allocations, optimiser state) and is not counted
    while min(len(t) for t in times.values()) < repeat:
        t0 = time.perf_counter()
        b = make_batch(pool, m.tokenizer, tc, step)
        t1 = time.perf_counter()
        step += 1
        if not warm and len(times[b["grounded"]]) >= repeat:
            continue  # enough of this kind: draw the next batch
        z0 = latents[b["idx"]].float().to(device)  # [B, C, h, w]
        loss = unet_step(
            m.unet, m.text_encoder, m.scheduler, m.opt, m.ema, b, z0, cfg, tc, tc.lr, tc.ema_decay
        )
        loss.item()  # waits for the device, as the training loop's logging does
        t2 = time.perf_counter()
        if not warm:
            builds.append(t1 - t0)
            times[b["grounded"]].append(t2 - t1)
        warm = False
    plain, grounded = statistics.median(times[False]), statistics.median(times[True])
    s = tc.p_plain * plain + (1 - tc.p_plain) * grounded
    return {
        "batch": batch,
        "seconds_per_step": s,  # as training mixes the two kinds
        "samples_per_s": batch / s,
        "plain_seconds": plain,
        "grounded_seconds": grounded,
        "p_plain": tc.p_plain,
        "make_batch_seconds": statistics.median(builds),
        "plain_step_seconds": times[False],
        "grounded_step_seconds": times[True],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="8,32")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads; 0: torch's default")
    ap.add_argument("--samples", type=int, default=512_000, help="training samples to estimate")
    ap.add_argument("--out", type=Path, default=Path("bench/results/world_model_train.json"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda"):  # as scenecraft train world-model sets them
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    cfg = WorldModelConfig()
    rows = [bench(cfg, int(b), args.repeat, args.device) for b in args.batches.split(",")]
    for r in rows:
        r["hours_to_samples"] = args.samples / r["samples_per_s"] / 3600
    threads = torch.get_num_threads()
    table = Table(title="world model UNet training: WorldModelConfig() with random weights")
    for c in ("device", "threads", "batch", "plain s", "grounded s", "s/step", "samples/s"):
        table.add_column(c)
    for r in rows:
        table.add_row(
            args.device,
            str(threads),
            str(r["batch"]),
            f"{r['plain_seconds']:.3f}",
            f"{r['grounded_seconds']:.3f}",
            f"{r['seconds_per_step']:.3f}",
            f"{r['samples_per_s']:.2f}",
        )
    console = Console()
    console.print(table)
    hours = ", ".join(f"{r['hours_to_samples']:.1f} h at batch {r['batch']}" for r in rows)
    console.print(
        f"{args.samples:,} training samples would take {hours} "
        f"(steps only: the cpu preset also builds each batch in-process, "
        f"{rows[-1]['make_batch_seconds']:.3f} s at batch {rows[-1]['batch']})"
    )
    gpu = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else None
    report = {
        "model": "architecture: WorldModelConfig() with random weights",
        "config": asdict(cfg),
        "train": {k: v for k, v in asdict(TrainConfig()).items() if k != "batch"},
        "date": time.strftime("%Y-%m-%d"),  # shared machines: the same step took 3x longer
        "repeat": args.repeat,
        "samples": args.samples,
        "device": args.device,
        "gpu": gpu,
        "threads": threads,
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
