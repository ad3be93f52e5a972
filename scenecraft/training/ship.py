"""Ship a trained world model into ``scenecraft/assets/shapes-sd``: fp16 safetensors, a training
record that the next session continues from (``train world-model --init-from``), and a model card
whose history table gains one row a session.

A candidate replaces the shipped model only when it measures better on the same evaluation
(``scenecraft eval world-model``): the mean of single-object accuracy and grounded recall.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import torch

from scenecraft.training.world_model import PRIOR, SHIP_RECORD, _json_or_none, run_progress

MAX_MB = 20.0  # the whole shipped folder; it is replaced every session, so it must stay small


def score(report: dict) -> float:
    """The figure a candidate must beat: mean of single-object accuracy and grounded recall."""
    return (report["single_object"]["accuracy"] + report["grounded"]["object_recall_iou50"]) / 2


def _row(
    report: dict, steps: int, samples: int, minutes: float, on: str, label: str, command: str
) -> dict:
    return {
        "date": dt.date.today().isoformat(),
        "label": label,
        "steps": steps,
        "samples": samples,
        "minutes": round(minutes, 1),  # this run's own training time
        "on": on,
        "single_object": report["single_object"]["accuracy"],
        "grounded_recall": report["grounded"]["object_recall_iou50"],
        "lmd_overall": report["lmd"]["overall"],
        "inversion_psnr": report["inversion"]["psnr_mean"],
        "command": command,
    }


def shipped_record(dest: Path) -> dict | None:
    return _json_or_none(dest / SHIP_RECORD)


def _write_record(dest: Path, record: dict) -> None:
    """Write a model folder's record and card, each replaced whole (the weights untouched)."""
    for name, text in ((SHIP_RECORD, json.dumps(record, indent=1)), ("README.md", card(record))):
        tmp = dest / f"{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, dest / name)


def _repo_path(path: Path, dest: Path) -> str:
    """``path`` as the card cites it: relative to the repository that holds ``dest`` (the
    nearest folder above it with a pyproject.toml), or as given when it lies elsewhere."""
    root = next((p for p in dest.resolve().parents if (p / "pyproject.toml").exists()), None)
    try:
        return str(path.resolve().relative_to(root)) if root else str(path)
    except ValueError:
        return str(path)


def _rechecked(recheck: tuple[Path, Path], model: Path, dest: Path) -> tuple[float, float, dict]:
    """The scores of the candidate and the shipped model on one fresh draw
    (``eval world-model --draw N``, N >= 1, the same N for both): each report checked to judge
    what it says it judged."""
    cand, shipped = (json.loads(p.read_text()) for p in recheck)
    for path, rep, want in ((recheck[0], cand, model), (recheck[1], shipped, dest)):
        if Path(rep["model"]).resolve() != want.resolve():
            raise ValueError(f"{path} judged {rep['model']}, not {want}")
    draws = {cand.get("draw", 0), shipped.get("draw", 0)}
    if len(draws) != 1 or 0 in draws:
        raise ValueError(f"a recheck is one fresh draw (1-9) for both, got draws {sorted(draws)}")
    row = {
        "draw": draws.pop(),
        "candidate": score(cand),
        "shipped": score(shipped),
        "files": [str(p) for p in recheck],
    }
    return score(cand), score(shipped), row


def ship(
    run: Path,
    report_path: Path,
    dest: Path,
    label: str,
    force: bool = False,
    recheck: tuple[Path, Path] | None = None,
    shipped_report: Path | None = None,
) -> bool:
    """Write ``run``'s exported model to ``dest`` if its report beats the shipped one's last row
    (or ``force``). Returns whether it shipped.

    With ``recheck`` (the candidate's and the shipped model's reports on one fresh draw), each
    is scored by its mean over the card's draw and that one: the shipped model was kept as the
    best of several on the card's draw, so its figure there flatters it, and a fresh draw
    judged for both halves that lean without favouring either.

    With ``shipped_report`` (the shipped model judged again on the card's draw, as after a
    change of the judge), that report stands for the shipped model instead of its row's."""
    report = json.loads(report_path.read_text())
    model = run / "model"
    if Path(report["model"]).resolve() != model.resolve():
        raise ValueError(f"{report_path} judged {report['model']}, not {model}")
    fresh = _rechecked(recheck, model, dest) if recheck else None
    old = shipped_record(dest)
    cfg = json.loads((run / "config.json").read_text())
    steps, wall = run_progress(run)
    prior = _json_or_none(run / PRIOR) or {}
    # samples: those before this run (prior) plus this run's own steps at its batch
    own_steps = steps - prior.get("steps", 0)
    samples = prior.get("samples", 0) + own_steps * cfg["train"]["batch"]
    on = "GPU" if "CUDA" in cfg.get("hardware", "") else "CPU"
    own_minutes = (wall - prior.get("wall", 0.0)) / 60
    # every command of the run: its last alone may be a resume that only exported
    command = " ; then ".join(cfg.get("commands", [cfg["command"]]))
    row = _row(report, steps, samples, own_minutes, on, label, command)
    row["from_steps"] = prior.get("steps", 0)
    row["report_file"] = _repo_path(report_path, dest)
    new_score = score(report)
    if fresh is not None:
        row["recheck"] = fresh[2]
    rejudged = json.loads(shipped_report.read_text()) if shipped_report else None
    if rejudged is not None:
        if Path(rejudged["model"]).resolve() != dest.resolve() or rejudged.get("draw", 0) != 0:
            raise ValueError(f"{shipped_report} is not the shipped model {dest} on draw 0")
        row["shipped_rejudged"] = {
            "file": _repo_path(shipped_report, dest),
            "score": score(rejudged),
            "row_score": score(old["report"]) if old else None,
        }
    if old and not force:
        old_score = score(rejudged if rejudged is not None else old["report"])
        if fresh is not None:
            new_score, old_score = (new_score + fresh[0]) / 2, (old_score + fresh[1]) / 2
        if new_score <= old_score:
            # the shipped model stays; its record and card say this session trained and lost
            old["not_shipped"] = [*old.get("not_shipped", []), row]
            _write_record(dest, old)
            how = " (mean of the card's draw and the recheck)" if fresh else ""
            print(f"not shipped: score {new_score:.3f} <= shipped {old_score:.3f}{how}")
            return False
    history = [*prior.get("history", [])]
    if old and not prior:  # a run that did not start from the shipped model: keep its history
        history = [*old["history"]]
    history.append(row)
    evals = [json.loads(x) for x in (run / "evals.jsonl").read_text().splitlines()]
    vae_check = next((e for e in reversed(evals) if e["stage"] in ("vae_done", "decoder_done")), {})
    record = {
        "model": cfg["model"],
        "train": cfg["train"],
        "overrides": cfg.get("overrides", []),
        "command": cfg["command"],
        "commands": [*prior.get("commands", []), *cfg.get("commands", [cfg["command"]])],
        "hardware": cfg.get("hardware", "unknown"),
        "batch": cfg["train"]["batch"],
        "seed": cfg["train"]["seed"],
        "steps": steps,
        "wall": wall,
        "samples": samples,
        "vae_check": {k: v for k, v in vae_check.items() if k != "stage"},
        "report": report,
        "history": history,
        "not_shipped": (old or {}).get("not_shipped", []),
    }
    from diffusers import StableDiffusionPipeline

    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    pipe = StableDiffusionPipeline.from_pretrained(model, safety_checker=None)
    pipe.to(torch.float16).save_pretrained(tmp)
    _write_record(tmp, record)
    size = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file()) / 2**20
    if size > MAX_MB:
        shutil.rmtree(tmp)
        raise ValueError(f"the model is {size:.1f} MB; the shipped folder must stay under {MAX_MB}")
    old_dir = dest.with_name(dest.name + ".old")
    shutil.rmtree(old_dir, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old_dir)
    os.replace(tmp, dest)
    shutil.rmtree(old_dir, ignore_errors=True)
    print(f"shipped {model} -> {dest} ({size:.1f} MB)")
    return True


SD_NOTE = [
    "Load it like Stable Diffusion: `StableDiffusionPipeline.from_pretrained(path)` or",
    "`StableDiffusionGLIGENPipeline.from_pretrained(path)`.",
]
LAYOUT_NOTE = [
    "Its UNet also takes the layout as a map beside the latents (8 latent + 129 input",
    "channels: each box painted with its phrase's pooled text embedding, and the box coverage;",
    "`scenecraft/models/layout_map.py`), as SD-inpainting takes its mask:",
    "`StableDiffusionPipeline.from_pretrained(path)` loads every component, and",
    "`scenecraft.models.diffusion.sample` paints the map (all zero for text alone).",
]


def card(rec: dict) -> str:
    """The shipped model's card: provenance, measured figures against the targets, history."""
    r = rec["report"]
    s, g, lmd, inv = r["single_object"], r["grounded"], r["lmd"], r["inversion"]
    lmd_items = lmd["accuracy"].items()
    hist = [
        f"| {h['date']} | {h['label']} | {h['steps']:,} | {h['samples']:,} "
        f"| {h['minutes']:.0f} {h['on']} "
        f"| {h['single_object']:.3f} | {h['grounded_recall']:.3f} | {h['lmd_overall']:.3f} "
        f"| {h['inversion_psnr']:.1f} |"
        for h in rec["history"]
    ]

    def target(value: float, goal: float) -> str:
        return "meets" if value >= goal else "**below**"

    return "\n".join(
        [
            "# shapes-sd: a tiny Stable-Diffusion-architecture model of ShapesWorld",
            "",
            "AutoencoderKL (factor 8, 8 latent channels) + CLIP-architecture text encoder +",
            "UNet2DConditionModel with GLIGEN gated attention, trained from scratch on 128x128",
            "ShapesWorld scenes (train-split seeds only), v-prediction with zero terminal SNR.",
            *(LAYOUT_NOTE if rec["model"].get("layout_map") else SD_NOTE),
            "Weights are float16, as in SD's fp16 checkpoints: on a CPU pass",
            "`dtype=torch.float32`, as scenecraft does.",
            "",
            f"- seed: {rec['seed']}; batch {rec['batch']}; settings over the default recipe: "
            f"`{' '.join(rec['overrides']) or '(none)'}`",
            f"- UNet + text encoder: {rec['steps']:,} steps, {rec['samples']:,} samples, "
            f"{rec['wall'] / 60:.0f} minutes of training in all (EMA weights; the history "
            "says on what)",
            f"- hardware: {rec['hardware']}",
            f"- VAE: PSNR {rec['vae_check'].get('psnr', float('nan')):.2f} dB, the detector reads"
            f" the same objects in {rec['vae_check'].get('detector_agreement', float('nan')):.1%}"
            " of validation reconstructions",
            "- commands, in order:",
            *[f"  - `{c}`" for c in rec["commands"]],
            "",
            "Continue it: `scenecraft train world-model --out RUN --init-from "
            "scenecraft/assets/shapes-sd`, then `scenecraft eval world-model --model RUN/model "
            "--out R.json` and `scenecraft train world-model-ship RUN --report R.json`. A close "
            "call: judge both models on a fresh draw (`eval world-model --draw 1`) and pass "
            "`--recheck C1.json S1.json`; each is then scored by its mean over both draws.",
            "",
            f"## Measured (`scenecraft eval world-model`, {r['steps']} DDIM steps, guidance "
            f"{r['guidance']}, held-out seeds, every image judged)",
            "",
            f"Judged on `{r['model']}`, the float32 export these float16 weights were cast from.",
            "",
            "| metric | value | target |",
            "|---|---|---|",
            f"| single object right (colour, shape, exactly one), n={s['n']} | {s['accuracy']:.3f} "
            f"| >= 0.95 ({target(s['accuracy'], 0.95)}) |",
            f"| grounded: objects in their box (IoU >= 0.5), {g['objects']} objects "
            f"| {g['object_recall_iou50']:.3f} "
            f"| >= 0.90 ({target(g['object_recall_iou50'], 0.90)}) |",
            *(
                [
                    "| grounded: something in the box / right colour / right shape "
                    f"| {g['placed_recall_iou50']:.3f} / {g['colour_recall_iou50']:.3f} / "
                    f"{g['shape_recall_iou50']:.3f} | |"
                ]
                if "placed_recall_iou50" in g
                else []
            ),
            *[f"| LMD {c}, plain prompts | {v:.3f} | baseline |" for c, v in lmd_items],
            f"| LMD overall | {lmd['overall']:.3f} | baseline |",
            f"| DDIM inversion round trip PSNR (dB) | {inv['psnr_mean']:.1f} "
            f"| >= 25 ({target(inv['psnr_mean'], 25)}) |",
            "",
            "## History (one row a shipped session)",
            "",
            "| date | run | steps | samples | minutes on | single object | grounded | LMD | "
            "inversion dB |",
            "|---|---|---|---|---|---|---|---|---|",
            *hist,
            "",
            *_not_shipped(rec.get("not_shipped", [])),
        ]
    )


def _not_shipped(rows: list[dict]) -> list[str]:
    """The card's table of sessions that trained on but measured no better."""
    if not rows:
        return []
    return [
        "Sessions that trained on but did not ship (measured no better by the mean of "
        "single-object and grounded accuracy; `scenecraft train world-model-ship` kept the model "
        "above):",
        "",
        "| date | run | steps | minutes on | single object | grounded | LMD | inversion dB "
        "| report |",
        "|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {h['date']} | {h['label']} | {h['from_steps']:,} -> {h['steps']:,} "
            f"| {h['minutes']:.0f} {h['on']} | {h['single_object']:.3f} "
            f"| {h['grounded_recall']:.3f} | {h['lmd_overall']:.3f} "
            f"| {h['inversion_psnr']:.1f} | {h['report_file']} |"
            for h in rows
        ],
        "",
    ]
