"""``scenecraft eval world-model-bakeoff``: training recipes for the world model compared by what
they learn in the same CPU minutes.

Every candidate is a list of ``KEY=VALUE`` settings over the default recipe (see
``train.with_overrides``). Each trains from the same seed on the same finished VAE and the same
latent cache, in its own run folder, and is stopped at the same marks of its own training time
(``TrainConfig.wall_limit_s``: step time only, evals and checkpoints not counted); at every mark
its EMA weights are exported and judged the same way: single-object prompts (every colour x
shape once) and grounded layouts of 1-4 validation objects (objects found in their box, IoU >=
0.5). The run resumes mark by mark, so a cut session continues where it stopped, and the
winner's run folder can simply go on training.

Writes a table, a JSON report and a PNG of accuracy against CPU minutes, one curve a candidate.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import torch

from scenecraft.eval.common import print_table, write_json

ATTN_EVERYWHERE = [
    'unet_down=["CrossAttnDownBlock2D","CrossAttnDownBlock2D","CrossAttnDownBlock2D"]',
    'unet_up=["CrossAttnUpBlock2D","CrossAttnUpBlock2D","CrossAttnUpBlock2D"]',
]
# The default recipe (9.1 M UNet, 30% plain steps, a 500-step warm-up at 5e-4); a smaller UNet
# with cross-attention and GLIGEN at every resolution (16x16 too, so a small object's box covers
# a few tokens), trained mostly grounded with a short warm-up to twice the rate (a CPU run has
# only hundreds of steps an hour to spend); and that at batch 16, twice the steps a minute.
SMALL_GROUNDED = [
    "unet_channels=[32,64,128]",
    *ATTN_EVERYWHERE,
    "p_plain=0.1",
    "lr=0.001",
    "warmup=100",
]
CANDIDATES: dict[str, list[str]] = {
    "default": [],
    "attn16-grounded": SMALL_GROUNDED,
    "attn16-grounded-b16": [*SMALL_GROUNDED, "batch=16"],
}


def _params(model: Path) -> float:
    from diffusers import UNet2DConditionModel

    return sum(p.numel() for p in UNet2DConditionModel.from_pretrained(model / "unet").parameters())


def _loss_at(run: Path, step: int) -> float | None:
    """The run's smoothed training loss (log.jsonl) at the last logged step up to ``step``: all
    candidates train on one v-prediction objective with min-SNR weights, so it compares them
    where the judge reads nothing yet."""
    rows = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    seen = [r["loss"] for r in rows if r.get("stage") == "unet" and r["step"] <= step]
    return seen[-1] if seen else None


def _seed_run(cache: Path, run: Path) -> None:
    """A candidate's run folder starts with the shared VAE stages and latent cache."""
    if run.exists():
        return
    tmp = run.with_name(run.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copytree(cache / "vae", tmp / "vae")
    for name in ("latents.pt", "decoder_state.pt", "evals.jsonl", "vae_source.json"):
        if (cache / name).exists():
            os.link(cache / name, tmp / name)
    os.replace(tmp, run)


def judge_model(model: Path, n_single: int, n_grounded: int, steps: int) -> dict:
    """Single-object accuracy and grounded recall of an exported model, as eval world-model
    measures them (fewer samples)."""
    from scenecraft.eval.world_model import grounded, single_objects
    from scenecraft.models import diffusion as D

    m = D.load(model, cache={})
    single, _ = single_objects(m, n_single, steps, 3.0, batch=8)
    ground, _ = grounded(m, n_grounded, steps, 3.0)
    return {
        "single_object": single["accuracy"],
        "shape_present": single["shape_present"],
        "color_present": single["color_present"],
        "grounded_recall": ground["object_recall_iou50"],
    }


def main(
    out_dir: Path,
    result: Path,
    names: list[str],
    minutes: float,
    every: float,
    vae: Path,
    n_latents: int = 8000,
    base: list[str] | tuple[str, ...] = (),
    n_single: int = 48,
    n_grounded: int = 16,
    steps: int = 20,
) -> dict:
    from scenecraft.training.world_model import TrainConfig, train

    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise ValueError(f"unknown candidates {unknown}; known: {', '.join(CANDIDATES)}")
    cache = out_dir / "_cache"
    if not (cache / "latents.pt").exists():  # the VAE adopted and the latents encoded, once
        train(
            cache, steps=0, resume=cache.exists(), latents=n_latents, vae_from=vae, overrides=base
        )
    tc = replace(TrainConfig(), n_latents=n_latents, eval_every=10**9)
    marks = [round(every * k, 6) for k in range(1, int(minutes / every + 1e-9) + 1)]
    curves: dict[str, list[dict]] = {}
    for name in names:
        run = out_dir / name
        _seed_run(cache, run)
        done_path = run / "bakeoff.jsonl"
        rows = []
        if done_path.exists():
            rows = [json.loads(x) for x in done_path.read_text().splitlines()]
        for mark in marks[len(rows) :]:
            t0 = time.monotonic()
            model = train(
                run,
                resume=True,
                train_config=replace(tc, wall_limit_s=mark * 60),
                overrides=[*base, *CANDIDATES[name]],
                command=f"scenecraft eval world-model-bakeoff (candidate {name})",
            )
            state = torch.load(run / "unet_state.pt", map_location="cpu", weights_only=False)
            row = {
                "candidate": name,
                "mark_min": mark,
                "cpu_min": state["wall"] / 60,
                "steps": state["step"],
                "samples": state["step"]
                * json.loads((run / "config.json").read_text())["train"]["batch"],
                "s_per_step": state["wall"] / max(state["step"], 1),
                **judge_model(model, n_single, n_grounded, steps),
                "seconds_with_eval": time.monotonic() - t0,
            }
            with open(done_path, "a") as f:
                f.write(json.dumps(row) + "\n")
            rows.append(row)
            print(json.dumps(row))
        curves[name] = [{**r, "train_loss": _loss_at(run, r["steps"])} for r in rows]
    params = {n: _params(out_dir / n / "model") / 1e6 for n in names}
    report = {
        "candidates": {n: CANDIDATES[n] for n in names},
        "minutes": minutes,
        "every": every,
        "n_single": n_single,
        "n_grounded": n_grounded,
        "ddim_steps": steps,
        "unet_params_m": params,
        "curves": curves,
        "hardware": f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}",
    }
    write_json(result, report)
    _plot(curves, result.with_suffix(".png"))
    rows = [
        [
            n,
            f"{params[n]:.2f}",
            f"{c[-1]['s_per_step']:.2f}",
            c[-1]["steps"],
            c[-1]["train_loss"],
            c[-1]["single_object"],
            c[-1]["grounded_recall"],
        ]
        for n, c in curves.items()
    ]
    print_table(
        f"world-model recipes after {minutes:g} CPU minutes each",
        [
            "candidate",
            "UNet M params",
            "s/step",
            "steps",
            "train loss",
            "single object",
            "grounded recall",
        ],
        rows,
    )
    return report


def _plot(curves: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for name, rows in curves.items():
        x = [r["cpu_min"] for r in rows]
        axes[0].plot(x, [r["single_object"] for r in rows], marker="o", label=name)
        axes[1].plot(x, [r["grounded_recall"] for r in rows], marker="o", label=name)
        axes[2].plot(x, [r["train_loss"] for r in rows], marker="o", label=name)
    axes[0].set_title("single object right (judge)")
    axes[1].set_title("grounded: objects in their box")
    axes[2].set_title("training loss (v-prediction, min-SNR)")
    for ax in axes:
        ax.set_xlabel("CPU minutes of training")
        ax.grid(alpha=0.3)
    for ax in axes[:2]:
        ax.set_ylim(0, 1)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
