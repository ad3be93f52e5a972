"""``scenecraft eval judge``: how often the ShapesWorld judge names a generated shape as a person
does.

Generated images (the world model's, not renders) hold shapes no template fits exactly: fat
stars, lumpy squares, blobs. A person labelled every shape the detector finds in them, without
seeing what the detector called it (``eval/judge_labels/<set>/labels.json``: image, centre,
and the shape, or null where a person names no ShapesWorld shape: a blob, a fragment cut off at
the edge, an oval). Each detector configuration is scored on those: the share of shapes it
names as the person did (null counted right when it reports nothing there), and how it fails:
another shape named, a blob passed as a shape, a shape missed.

The "dev" set chose the judge's threshold and star templates; "test" was labelled after that
choice and only measures it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from scenecraft.eval.common import print_table, write_json
from scenecraft.planner.geometry import centre
from scenecraft.shapesworld.detect import JUDGE_CONFIG, LOOP_CONFIG, DetectorConfig, detect

LABELS = Path("eval/judge_labels")
NEAR = 0.04  # a detection this close (canvas fraction, centre to centre) is the labelled shape

CONFIGS: dict[str, DetectorConfig] = {
    "before 2026-12-08: own star only, min score 0.55": DetectorConfig(star_variants=False),
    "loop detector: star variants, 0.55": LOOP_CONFIG,
    "star variants, 0.65": replace(JUDGE_CONFIG, min_score=0.65),
    "star variants, 0.70": replace(JUDGE_CONFIG, min_score=0.70),
    f"judge: star variants, {JUDGE_CONFIG.min_score:.2f}": JUDGE_CONFIG,
    "star variants, 0.80": replace(JUDGE_CONFIG, min_score=0.80),
    "star variants, 0.85": replace(JUDGE_CONFIG, min_score=0.85),
}


def score(folder: Path, cfg: DetectorConfig) -> dict:
    """Agreement of ``cfg`` with the person's labels in ``folder``."""
    record = json.loads((folder / "labels.json").read_text())
    counts = {"right": 0, "other_shape": 0, "blob_passed": 0, "missed": 0, "none_right": 0}
    found_cache: dict[int, list] = {}
    for obj in record["objects"]:
        k = obj["image"]
        if k not in found_cache:
            img = np.asarray(Image.open(folder / f"{k:03d}.png").convert("RGB"))
            found_cache[k] = detect(img, replace(cfg, min_score=0.0))
        at = (obj["cx"], obj["cy"])
        gap = lambda d, at=at: float(np.hypot(*np.subtract(centre(d.box), at)))  # noqa: E731
        nearest = min(found_cache[k], key=gap, default=None)
        said = None
        if nearest is not None and gap(nearest) < NEAR and nearest.score >= cfg.min_score:
            said = nearest.label.split()[-1]
        want = obj["shape"]
        if said is None:
            counts["none_right" if want is None else "missed"] += 1
        elif want is None:
            counts["blob_passed"] += 1
        else:
            counts["right" if said == want else "other_shape"] += 1
    n = len(record["objects"])
    return {"n": n, "agreement": (counts["right"] + counts["none_right"]) / n, **counts}


def main(out: Path = Path("eval/results/judge.json"), labels: Path = LABELS) -> dict:
    report: dict = {"configs": {}, "sets": {}}
    for folder in sorted(p for p in labels.iterdir() if (p / "labels.json").exists()):
        record = json.loads((folder / "labels.json").read_text())
        report["sets"][folder.name] = {k: v for k, v in record.items() if k != "objects"}
        rows = []
        for name, cfg in CONFIGS.items():
            r = score(folder, cfg)
            report["configs"].setdefault(name, {})[folder.name] = r
            rows.append(
                [name, r["agreement"], r["right"], r["other_shape"], r["blob_passed"], r["missed"]]
            )
        print_table(
            f"judge vs a person, {folder.name} set ({r['n']} shapes in generated images)",
            ["detector", "agreement", "right", "other shape", "blob passed", "missed"],
            rows,
        )
    write_json(out, report)
    print(f"wrote {out}")
    return report
