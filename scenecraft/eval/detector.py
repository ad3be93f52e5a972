"""``scenecraft eval detector``: precision, recall and count accuracy of the ShapesWorld detector
on rendered scenes, clean and degraded (blur, noise, JPEG 40, colour jitter, 64 px and back)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.progress import track

from scenecraft.core.geometry import match
from scenecraft.eval.common import print_table, write_json
from scenecraft.shapesworld.degrade import DEGRADATIONS, degrade
from scenecraft.shapesworld.detect import JUDGE_CONFIG, DetectorConfig, detect
from scenecraft.shapesworld.render import render_scene
from scenecraft.shapesworld.scene import sample_scene, split_seed


def evaluate(
    n: int = 500,
    size: int = 128,
    split: str = "heldout",
    offset: int = 0,
    conditions: tuple[str, ...] = ("clean", *DEGRADATIONS),
    cfg: DetectorConfig = JUDGE_CONFIG,
    progress: bool = True,
) -> dict:
    """Object-level precision/recall (label equal, box IoU >= 0.5) and per-image count accuracy."""
    stats = {c: {"tp": 0, "pred": 0, "gt": 0, "count_ok": 0, "seconds": 0.0} for c in conditions}
    seeds = [split_seed(split, offset + i) for i in range(n)]
    for seed in track(seeds, description="detector eval", disable=not progress):
        scene = sample_scene(seed)
        clean = render_scene(scene, size).image
        gt = [(o.label, o.box) for o in scene.objects]
        gt_counts = _counts(g[0] for g in gt)
        for cond in conditions:
            img = clean if cond == "clean" else degrade(clean, cond, seed)
            t0 = time.perf_counter()
            dets = detect(img, cfg)
            s = stats[cond]
            s["seconds"] += time.perf_counter() - t0
            pred = [(d.label, d.box) for d in dets]
            s["tp"] += match(pred, gt)
            s["pred"] += len(pred)
            s["gt"] += len(gt)
            s["count_ok"] += _counts(p[0] for p in pred) == gt_counts
    results = {}
    for cond, s in stats.items():
        results[cond] = {
            "precision": s["tp"] / max(s["pred"], 1),
            "recall": s["tp"] / max(s["gt"], 1),
            "count_accuracy": s["count_ok"] / n,
            "ms_per_image": 1000 * s["seconds"] / n,
        }
    return {"n_scenes": n, "size": size, "split": split, "offset": offset, "results": results}


def _counts(labels) -> dict[str, int]:
    out: dict[str, int] = {}
    for label in labels:
        out[label] = out.get(label, 0) + 1
    return out


def main(n: int = 500, size: int = 128, out: Path = Path("eval/results/detector.json")) -> dict:
    report = evaluate(n=n, size=size)
    rows = [
        [c, r["precision"], r["recall"], r["count_accuracy"], r["ms_per_image"]]
        for c, r in report["results"].items()
    ]
    print_table(
        f"ShapesWorld detector on {n} held-out scenes at {size}px",
        ["condition", "precision", "recall", "count acc", "ms/image"],
        rows,
    )
    write_json(out, report)
    print(f"wrote {out}")
    return report
