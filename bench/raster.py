"""Rasteriser speed: forward and forward+backward time and peak memory for random cubic blobs.

Scenes are the anchor scene's kind: closed paths of 4 cubics, radius 10-40 px, random RGBA
fills, seeded. Run: ``python bench/raster.py [--out bench/results/raster.json]``. Times are
medians over ``--repeat`` runs after one warm-up, on the current torch thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import weakref
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from scenecraft.vector import render
from scenecraft.vector.initialise import random_blobs

CASES = [(16, 256), (64, 256), (256, 256), (64, 512)]
# diffvg built from source on this machine kind (2 cores, 2x2 samples), from issue 8
DIFFVG_MS = {
    (16, 256): (45, 235),
    (64, 256): (90, 430),
    (256, 256): (270, 1180),
    (64, 512): (175, 1080),
}


def _scene(n: int, size: int, seed: int = 0):
    scene = random_blobs(n, size, size, seed=seed)
    for shape in scene.shapes:
        shape.points.requires_grad_(True)
    for group in scene.shape_groups:
        group.fill_color.requires_grad_(True)
    return scene


def _time(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


class _PeakTensorMemory(TorchDispatchMode):
    """Peak bytes of tensor storage created by ops while active (CPU has no allocator stats)."""

    def __init__(self) -> None:
        super().__init__()
        self.live = self.peak = 0
        self.seen: set[int] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                key, size = storage.data_ptr(), storage.nbytes()
                if size and key not in self.seen:
                    self.seen.add(key)
                    self.live += size
                    self.peak = max(self.peak, self.live)
                    weakref.finalize(storage, self._free, key, size)
        return out

    def _free(self, key: int, size: int) -> None:
        self.seen.discard(key)
        self.live -= size


def _peak_mb(fn) -> float:
    """Peak MiB of tensors allocated during one call of fn."""
    with _PeakTensorMemory() as tracker:
        fn()
    return tracker.peak / 2**20


def measure(n: int, size: int, repeat: int) -> dict:
    scene = _scene(n, size)
    target = torch.rand(size, size, 3)

    def forward():
        with torch.no_grad():
            render(scene, backend="torch")

    def forward_backward():
        image = render(scene, backend="torch")
        ((image[..., :3] - target) ** 2).mean().backward()

    row = {
        "blobs": n,
        "size": size,
        "forward_ms": _time(forward, repeat),
        "forward_backward_ms": _time(forward_backward, repeat),
        "peak_mib": _peak_mb(forward_backward),
    }
    ref = DIFFVG_MS[(n, size)]
    row["diffvg_forward_ms"], row["diffvg_forward_backward_ms"] = ref
    row["speedup_forward_backward"] = ref[1] / row["forward_backward_ms"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/raster.json"))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = [measure(n, size, args.repeat) for n, size in CASES]
    table = Table(
        title=f"scenecraft rasteriser, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s), CPU"
    )
    for col in (
        "blobs",
        "canvas",
        "forward ms",
        "fwd+bwd ms",
        "peak MiB",
        "diffvg fwd / fwd+bwd",
        "fwd+bwd speed-up",
    ):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r["blobs"]),
            f"{r['size']}²",
            f"{r['forward_ms']:.1f}",
            f"{r['forward_backward_ms']:.1f}",
            f"{r['peak_mib']:.1f}",
            f"{r['diffvg_forward_ms']} / {r['diffvg_forward_backward_ms']}",
            f"{r['speedup_forward_backward']:.1f}x",
        )
    Console().print(table)
    load = [load_before, os.getloadavg()[0]]
    Console().print(
        f"1-min load average before / after: {load[0]:.1f} / {load[1]:.1f} on {os.cpu_count()} "
        "CPUs; other processes on the machine slow these timings"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "device": "cpu",
        "repeat": args.repeat,
        "cpu_count": os.cpu_count(),
        "load_average_1min": load,
    }
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
