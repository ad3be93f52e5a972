"""SLATE speed: KV-cached vs recomputed greedy generation, and training throughput.

Two configs from issue 3 (random weights; speed does not depend on them): the reference
implementation's defaults (batch 50, vocab 1024, d_model 192, 4 blocks, 3 slots of 192) and a small
one (batch 32, vocab 256, d_model 128, 2 blocks, 4 slots of 128). A training step is the
reference's joint step (dVAE MSE + token cross-entropy, backward, Adam) on 64x64 images; the
shipped config's step on cached tokens (how ``train slate`` trains after the dVAE) is reported
too. Generation decodes 256 tokens greedily for a batch of 8. Times are medians after a warm-up.
Run: ``python bench/slate.py [--threads 2] [--repeat 3] [--out bench/results/slate.json]``.
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

from scenecraft.slate.config import REFERENCE, SHIP, SMALL, SlateConfig
from scenecraft.slate.model import Slate

# the reference implementation on this machine kind (2 threads), from issue 3
REFERENCE_NUMBERS = {
    "reference": {"s_per_step": 3.98, "images_per_s": 12.6, "generate_s": 12.0},
    "small": {"s_per_step": 0.88, "images_per_s": 36.5, "generate_s": 3.7},
}
GEN_BATCH = 8


def _median_time(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def train_step_time(cfg: SlateConfig, repeat: int, tokens_only: bool = False) -> float:
    torch.manual_seed(0)
    model = Slate(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    images = torch.rand(cfg.batch_size, 3, cfg.image_size, cfg.image_size)
    tokens = torch.randint(0, cfg.vocab_size, (cfg.batch_size, cfg.grid, cfg.grid))

    def step() -> None:
        out = model.token_loss(tokens) if tokens_only else model.loss(images, tau=1.0)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        opt.step()

    return _median_time(step, repeat)


def generate_times(cfg: SlateConfig, repeat: int) -> tuple[float, float, bool]:
    torch.manual_seed(0)
    model = Slate(cfg).eval()
    slots = torch.randn(GEN_BATCH, cfg.num_slots, cfg.slot_size)
    cached = _median_time(lambda: model.generate(slots, use_cache=True), repeat)
    # the quadratic baseline is slow: one timed run after the warm-up is enough
    recompute = _median_time(lambda: model.generate(slots, use_cache=False), 1)
    same = torch.equal(model.generate(slots, True), model.generate(slots, False))
    return cached, recompute, same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("bench/results/slate.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows, results = [], {}
    for name, cfg in [("reference", REFERENCE), ("small", SMALL)]:
        step = train_step_time(cfg, args.repeat)
        cached, recompute, same = generate_times(cfg, args.repeat)
        ref = REFERENCE_NUMBERS[name]
        results[name] = {
            "batch": cfg.batch_size,
            "train_s_per_step": step,
            "train_images_per_s": cfg.batch_size / step,
            "train_speedup_vs_reference": ref["s_per_step"] / step,
            "generate_cached_s": cached,
            "generate_recompute_s": recompute,
            "cache_speedup": recompute / cached,
            "generate_speedup_vs_reference": ref["generate_s"] / cached,
            "cached_equals_recompute": same,
        }
        r = results[name]
        rows.append(
            [
                name,
                f"{step:.2f} s ({r['train_images_per_s']:.1f} img/s)",
                f"{r['train_speedup_vs_reference']:.2f}x",
                f"{cached:.2f} s",
                f"{recompute:.2f} s",
                f"{r['cache_speedup']:.1f}x",
                f"{r['generate_speedup_vs_reference']:.1f}x",
            ]
        )
    ship_step = train_step_time(SHIP, args.repeat, tokens_only=True)
    results["ship_token_step"] = {
        "batch": SHIP.batch_size,
        "s_per_step": ship_step,
        "images_per_s": SHIP.batch_size / ship_step,
    }
    table = Table(title=f"SLATE speed, {args.threads} threads, batch {GEN_BATCH} x 256 tokens")
    for c in [
        "config",
        "train step",
        "vs ref. impl.",
        "generate (KV cache)",
        "generate (recompute)",
        "cache speed-up",
        "vs ref. impl.",
    ]:
        table.add_column(c)
    for r in rows:
        table.add_row(*r)
    console = Console(width=150)
    console.print(table)
    console.print(
        f"shipped config, step on cached tokens (batch {SHIP.batch_size}): {ship_step:.3f} s "
        f"({SHIP.batch_size / ship_step:.1f} img/s)"
    )
    report = {
        "threads": args.threads,
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "torch": torch.__version__,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
