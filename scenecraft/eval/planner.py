"""``scenecraft eval planner``: how well the offline planner parses, lays out and corrects.

- parse exact match on the 400 ShapesWorld benchmark prompts (the spec must be equal);
- parse match on held-out paraphrases (``planner.paraphrase``; same meaning, any order);
- layouts of the benchmark prompts that satisfy their spec (counts, negations, relations,
  boxes on the canvas, IoU <= 0.1 between any two boxes);
- corrections of synthetic (spec, perturbed detections) pairs, 1/4 each missing, extra,
  wrong-colour and wrong-side objects: does the corrected layout satisfy the spec, and do the
  objects that were already right stay within 0.02 of where they were? "Already right" means
  untouched by the perturbation and in no pair of objects that breaks a relation; the stricter
  "keeps all untouched" also counts the reference of a wrong-side object, which a corrector
  cannot tell from the moved one (either may be moved back across the other).

Paraphrases and correction pairs come from seeds in the ``heldout_prompts`` range that tests
and tuning never use.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scenecraft.core.contracts import Box, Detection, Layout, SceneSpec
from scenecraft.eval.common import print_table, write_json
from scenecraft.planner.geometry import free_box, layout_problems, relation_mask
from scenecraft.planner.offline import OfflinePlanner
from scenecraft.planner.paraphrase import equivalent, paraphrase_set
from scenecraft.shapesworld.benchmark import (
    CATEGORIES,
    CATEGORY_STRIDE,
    PROMPT_SEEDS,
    make_prompt,
    prompt_set,
)
from scenecraft.shapesworld.grammar import COLORS
from scenecraft.shapesworld.judge import holds, matches
from scenecraft.shapesworld.prompts import scene_from_spec

PARAPHRASE_OFFSET = 90_000  # seeds heldout_prompts + 90_000 + category * 100_000 + i
CORRECTION_OFFSET = 80_000
PERTURBATIONS = ("missing", "extra", "wrong-colour", "wrong-side")
STAY = 0.02  # an untouched object "stays" when no box coordinate moved more than this
_CATEGORIES_FOR = {
    "missing": ("negation", "numeracy", "attribute", "spatial"),
    "extra": ("negation", "numeracy", "attribute", "spatial"),
    "wrong-colour": ("negation", "attribute", "spatial"),  # their objects all have a colour
    "wrong-side": ("spatial",),
}
TARGETS = {
    "parse_benchmark": 1.0,
    "parse_paraphrases": 0.95,
    "layout_satisfies": 1.0,
    "correct_satisfies": 0.98,
    "correct_keeps_correct": 0.95,
}


@dataclass
class CorrectionCase:
    id: str
    perturbation: str
    prompt: str
    spec: SceneSpec
    detections: list[Detection]
    untouched: list[int]  # indices of detections the perturbation left alone
    uninvolved: list[int]  # ... that are also in no pair breaking a relation


def _relation_breakers(spec: SceneSpec, dets: list[Detection]) -> set[int]:
    """Detections in a pair for which one of the spec's binary relations fails."""
    out: set[int] = set()
    groups = [[i for i, d in enumerate(dets) if matches(d.label, o)] for o in spec.objects]
    for r in spec.relations:
        for a in groups[r.subject]:
            for b in groups[r.object]:
                if not holds(dets[a].box, dets[b].box, r.relation):
                    out |= {a, b}
    return out


def _free(rng: np.random.Generator, box: Box, dets: list[Detection], allowed=None) -> Box | None:
    prefer = (float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9)))
    return free_box(box[2], box[3], [d.box for d in dets], prefer, allowed)


def correction_case(perturbation: str, category: str, seed: int) -> CorrectionCase | None:
    """A clean scene for a benchmark spec, with one perturbation; None if it does not apply."""
    base = make_prompt(category, seed)
    spec = base.spec
    rng = np.random.default_rng([seed, 11])
    scene = scene_from_spec(spec, seed)
    dets = [Detection(o.label, o.box, 0.9) for o in scene.objects]
    touched: int | None = None
    if perturbation == "missing":
        dets.pop(int(rng.integers(len(dets))))
    elif perturbation == "extra":
        src = dets[int(rng.integers(len(dets)))]
        label = src.label
        if spec.negations and rng.random() < 0.5:
            neg = spec.negations[0]
            colour = neg.attributes[0] if neg.attributes else str(rng.choice(list(COLORS)))
            label = f"{colour} {neg.name}"
        box = _free(rng, src.box, dets)
        if box is None:
            return None
        dets.append(Detection(label, box, float(rng.uniform(0.5, 0.9))))
        touched = len(dets) - 1
    elif perturbation == "wrong-colour":
        touched = int(rng.integers(len(dets)))
        colour, shape = dets[touched].label.split(" ", 1)
        other = [c for c in COLORS if c != colour]
        dets[touched].label = f"{other[int(rng.integers(len(other)))]} {shape}"
    elif perturbation == "wrong-side":
        r = spec.relations[0]
        moved, still = (0, 1) if rng.random() < 0.5 else (1, 0)
        as_subject = moved == r.subject
        wrong = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}

        def wrong_side(cx, cy):
            return relation_mask(wrong[r.relation], [dets[still].box], as_subject, cx, cy)

        box = _free(rng, dets[moved].box, [d for i, d in enumerate(dets) if i != moved], wrong_side)
        if box is None:
            return None
        dets[moved].box = box
        touched = moved
    untouched = [i for i in range(len(dets)) if i != touched]
    breakers = _relation_breakers(spec, dets)
    return CorrectionCase(
        f"{perturbation}-{category}-{seed}",
        perturbation,
        base.prompt,
        spec,
        dets,
        untouched,
        [i for i in untouched if i not in breakers],
    )


def correction_cases(n: int = 300, offset: int = CORRECTION_OFFSET) -> list[CorrectionCase]:
    """``n`` cases, a quarter per perturbation, from held-out seeds."""
    cases: list[CorrectionCase] = []
    base = PROMPT_SEEDS["heldout_prompts"] + offset
    for k, perturbation in enumerate(PERTURBATIONS):
        cats = _CATEGORIES_FOR[perturbation]
        want = n // len(PERTURBATIONS) + (k < n % len(PERTURBATIONS))
        i = 0
        while sum(c.perturbation == perturbation for c in cases) < want:
            cat = cats[i % len(cats)]
            seed = base + CATEGORIES.index(cat) * CATEGORY_STRIDE + k * 2_000 + i
            case = correction_case(perturbation, cat, seed)
            if case is not None:
                cases.append(case)
            i += 1
    return cases


def _stays(before: Box, layout: Layout) -> bool:
    return any(
        max(abs(a - b) for a, b in zip(before, it.box, strict=True)) <= STAY for it in layout.items
    )


def evaluate(n_paraphrases: int = 300, n_corrections: int = 300) -> dict:
    planner = OfflinePlanner()
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    bench = prompt_set()
    parse_fail = [p.prompt for p in bench if planner.parse(p.prompt) != p.spec]
    timings["parse_ms"] = 1000 * (time.perf_counter() - t0) / len(bench)

    paras = paraphrase_set(n_paraphrases // 4, offset=PARAPHRASE_OFFSET)
    para_fail = [p.text for p in paras if not equivalent(planner.parse(p.text), p.spec)]

    t0 = time.perf_counter()
    layout_fail = []
    for p in bench:
        problems = layout_problems(planner.layout(p.prompt, (512, 512)), p.spec)
        if problems:
            layout_fail.append({"prompt": p.prompt, "problems": problems})
    timings["layout_ms"] = 1000 * (time.perf_counter() - t0) / len(bench)

    cases = correction_cases(n_corrections)
    per_kind = {k: {"n": 0, "satisfies": 0, "keeps": 0, "keeps_strict": 0} for k in PERTURBATIONS}
    correct_fail = []
    t0 = time.perf_counter()
    # the corrector logs when it has to plan afresh; count those instead of printing them
    fresh = _CountWarnings()
    logging.getLogger("scenecraft.planner.correct").addHandler(fresh)
    try:
        for c in cases:
            layout = planner.correct(c.prompt, c.spec, c.detections)
            problems = layout_problems(layout, c.spec)
            s = per_kind[c.perturbation]
            s["n"] += 1
            s["satisfies"] += not problems
            s["keeps"] += all(_stays(c.detections[i].box, layout) for i in c.uninvolved)
            s["keeps_strict"] += all(_stays(c.detections[i].box, layout) for i in c.untouched)
            if problems:
                correct_fail.append({"id": c.id, "prompt": c.prompt, "problems": problems})
    finally:
        logging.getLogger("scenecraft.planner.correct").removeHandler(fresh)
    timings["correct_ms"] = 1000 * (time.perf_counter() - t0) / max(len(cases), 1)

    total = {k: sum(s[k] for s in per_kind.values()) for k in ("n", "satisfies", "keeps")}
    strict = sum(s["keeps_strict"] for s in per_kind.values())
    metrics = {
        "parse_benchmark": 1 - len(parse_fail) / len(bench),
        "parse_paraphrases": 1 - len(para_fail) / len(paras),
        "layout_satisfies": 1 - len(layout_fail) / len(bench),
        "correct_satisfies": total["satisfies"] / total["n"],
        "correct_keeps_correct": total["keeps"] / total["n"],
        "correct_keeps_all_untouched": strict / total["n"],
    }
    return {
        "metrics": metrics,
        "targets": TARGETS,
        "counts": {
            "benchmark_prompts": len(bench),
            "paraphrases": len(paras),
            "correction_pairs": total["n"],
            "corrections_planned_afresh": fresh.count,
        },
        "corrections_by_perturbation": {
            k: {m: v / max(s["n"], 1) if m != "n" else v for m, v in s.items()}
            for k, s in per_kind.items()
        },
        "seeds": {
            "paraphrases": f"heldout_prompts + {PARAPHRASE_OFFSET} (+ 100000 per category)",
            "corrections": f"heldout_prompts + {CORRECTION_OFFSET} (+ 100000 per category)",
        },
        "timings": timings,
        "failures": {
            "parse_benchmark": parse_fail,
            "parse_paraphrases": para_fail,
            "layout": layout_fail,
            "correct": correct_fail,
        },
    }


class _CountWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def main(
    n_paraphrases: int = 300,
    n_corrections: int = 300,
    out: Path = Path("eval/results/planner.json"),
) -> dict:
    report = evaluate(n_paraphrases, n_corrections)
    m, c = report["metrics"], report["counts"]
    n = {
        "parse_benchmark": c["benchmark_prompts"],
        "parse_paraphrases": c["paraphrases"],
        "layout_satisfies": c["benchmark_prompts"],
        "correct_satisfies": c["correction_pairs"],
        "correct_keeps_correct": c["correction_pairs"],
        "correct_keeps_all_untouched": c["correction_pairs"],
    }
    rows = [
        [
            name,
            n[name],
            value,
            f">= {TARGETS[name]:.2f}" if name in TARGETS else "-",
            ("yes" if value >= TARGETS[name] else "NO") if name in TARGETS else "-",
        ]
        for name, value in m.items()
    ]
    print_table("Offline planner", ["metric", "n", "value", "target", "met"], rows)
    by = report["corrections_by_perturbation"]
    print_table(
        "Corrections by perturbation",
        ["perturbation", "n", "satisfies", "keeps correct", "keeps all untouched"],
        [[k, s["n"], s["satisfies"], s["keeps"], s["keeps_strict"]] for k, s in by.items()],
    )
    write_json(out, report)
    print(f"wrote {out}")
    return report
