"""When can SLD tell that an added object's attempt is failing? (picks ``add_check_fraction``)

Run: ``python bench/sld_add_check.py [--model PATH] [--n 48] [--steps 25]
[--out bench/results/sld_add_check.json]``.

SLD draws every added object alone, grounded in its box, up to ``add_attempts`` times until the
in-loop detector finds it; a failed attempt costs a whole generation. This runs ``--n`` such
attempts exactly as ``SLDPipeline.generate_object`` does (objects of validation-split scenes,
never the benchmark's or the held-out prompts), decodes the scheduler's predicted clean image
after every few steps and asks two questions of it: does the same detector find the object
(``detector``), and is a tenth of the box the object's colour (``colour``, a cheaper, looser
check)? For each check and step it tells: how many attempts that
end right pass the check there (kept), how many failing ones it drops, and what an add of three
attempts then costs (in generations) and how often it succeeds, against no check.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import track
from rich.table import Table

from scenecraft.core.contracts import ObjectSpec
from scenecraft.core.settings import get_settings
from scenecraft.models import diffusion as D
from scenecraft.models.detect import ShapesDetector
from scenecraft.planner.geometry import label_matches
from scenecraft.shapesworld.grammar import COLORS
from scenecraft.shapesworld.scene import sample_scene, split_seed
from scenecraft.sld.pipeline import SLDConfig

CHECKS = (0.12, 0.2, 0.32, 0.4, 0.52, 0.6, 0.72)  # shares of the steps looked at


def attempts(model: D.DiffusionModel, n: int, steps: int) -> list[dict]:
    """Per attempt: its phrase, whether the final image shows it, and the check at each step."""
    cfg = SLDConfig(steps=steps)
    detector = ShapesDetector()
    at = sorted({max(1, int(c * steps)) for c in CHECKS})
    objects = []
    for i in range(n):  # one object of each of n validation scenes
        scene = sample_scene(split_seed("val", 50_000 + i))
        objects.append(scene.objects[i % len(scene.objects)])
    out = []
    for i, obj in enumerate(track(objects, description=f"{n} add attempts")):
        phrase = obj.label
        *attrs, noun = phrase.split()
        want = ObjectSpec(name=noun, attributes=attrs)

        def found(img: np.ndarray, phrase: str = phrase, want: ObjectSpec = want) -> bool:
            return any(label_matches(d.label, want) for d in detector(img, [phrase]))

        seen: dict[int, bool] = {}
        tinted: dict[int, bool] = {}

        def peek(step: int, x0: torch.Tensor, found=found, seen=seen, tinted=tinted, obj=obj):
            if step in at:
                img = D.decode(model, x0)[0]
                seen[step] = found(img)
                tinted[step] = coloured(img, obj.box, COLORS[obj.color])

        res = D.sample(
            model,
            f"a {phrase}",
            steps=steps,
            guidance=cfg.guidance,
            generator=torch.Generator().manual_seed(i),
            grounding=D.Grounding([phrase], [obj.box], cfg.grounding_fraction),
            peek=peek,
        )
        out.append(
            {"phrase": phrase, "final": found(res.images[0]), "detector": seen, "colour": tinted}
        )
    return out


def coloured(img: np.ndarray, box: list[float], rgb: tuple[int, int, int]) -> bool:
    """Is at least a tenth of the box within 60 (RGB distance) of the object's colour?"""
    h, w = img.shape[:2]
    x, y, bw, bh = box
    crop = img[int(y * h) : int((y + bh) * h) + 1, int(x * w) : int((x + bw) * w) + 1]
    dist = np.linalg.norm(crop.astype(np.float32) - np.array(rgb, np.float32), axis=-1)
    return bool((dist < 60).mean() >= 0.1)


def summarise(rows: list[dict], steps: int, check: str, tries: int = 3) -> list[dict]:
    """Per check step: kept, dropped, and an add of ``tries`` attempts' cost and success."""
    table = []
    p_final = float(np.mean([r["final"] for r in rows]))
    good = [r for r in rows if r["final"]]
    bad = [r for r in rows if not r["final"]]

    def add(success: float, cost: float) -> tuple[float, float]:
        # attempts stop at the first success; each is i.i.d. with these odds
        expected_attempts = sum((1 - success) ** k for k in range(tries))
        return 1 - (1 - success) ** tries, cost * expected_attempts

    ok, cost = add(p_final, 1.0)
    table.append({"check_step": None, "kept": 1.0, "dropped": 0.0, "add_ok": ok, "add_cost": cost})
    for step in sorted({s for r in rows for s in r[check]}):
        passed = np.array([r[check][step] for r in rows])
        success = float(np.mean([r["final"] and r[check][step] for r in rows]))
        per_attempt = step / steps + (1 - step / steps) * float(passed.mean())
        ok, cost = add(success, per_attempt)
        table.append(
            {
                "check_step": step,
                "kept": float(np.mean([r[check][step] for r in good])) if good else None,
                "dropped": float(np.mean([not r[check][step] for r in bad])) if bad else None,
                "add_ok": ok,
                "add_cost": cost,
            }
        )
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="world model folder (default: the shipped one)")
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--out", type=Path, default=Path("bench/results/sld_add_check.json"))
    args = ap.parse_args()
    path = args.model or get_settings().world_model
    model = D.load(path, "cpu", cache={})
    t0 = time.perf_counter()
    rows = attempts(model, args.n, args.steps)
    tables = {check: summarise(rows, args.steps, check) for check in ("detector", "colour")}
    t = Table(title=f"SLD add attempts: a check after k of {args.steps} steps ({args.n} attempts)")
    cols = ("check", "after", "right ones kept", "failing dropped", "add succeeds", "add cost")
    for c in cols:
        t.add_column(c)
    for check, table in tables.items():
        for r in table:
            k = "no check" if r["check_step"] is None else str(r["check_step"])
            kept = "-" if r["kept"] is None else f"{r['kept']:.2f}"
            dropped = "-" if r["dropped"] is None else f"{r['dropped']:.2f}"
            t.add_row(check, k, kept, dropped, f"{r['add_ok']:.2f}", f"{r['add_cost']:.2f}")
    Console().print(t)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "model": str(path),
        "n": args.n,
        "steps": args.steps,
        "attempt_right": float(np.mean([r["final"] for r in rows])),
        "tables": tables,
        "attempts": rows,
        "seconds": time.perf_counter() - t0,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
    }
    args.out.write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
