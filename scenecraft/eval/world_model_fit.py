"""``scenecraft eval world-model-fit``: does the world model fit the scenes it trained on better
than unseen scenes of the same kind?

Every CPU session since the layout map continues from the shipped model on the same latent cache,
training scenes ``0 .. n_latents-1`` (8,000), so a batch has seen each scene hundreds of times.
This check measures the training loss (v-prediction MSE, min-SNR weighted, no object weights) of
the exported model on scenes from that cache and on training-split scenes no cache held (from
index 500,000 on), with the same noise and timesteps for both, for grounded steps (boxes given)
and plain text-to-image steps. Unseen / seen well above 1 says the model learns its cache more
than the world, and more scenes (``--set n_latents=...``) should help it more than more steps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenecraft.eval.common import print_table, write_json
from scenecraft.models.world_model.architecture import WorldModelConfig, build_scheduler
from scenecraft.shapesworld.render import render_scene
from scenecraft.shapesworld.scene import Scene
from scenecraft.training.scenes import training_scene
from scenecraft.training.world_model import (
    TrainConfig,
    encode_latents,
    make_batch,
    model_config_from,
    unet_loss,
)

UNSEEN_FROM = 500_000  # training-split scenes from here on were in no latent cache


@dataclass
class Parts:
    """The exported model's components, as the UNet stage uses them."""

    cfg: WorldModelConfig
    tokenizer: Any
    text_encoder: Any
    unet: Any
    vae: Any
    scheduler: Any


def load(model: Path) -> tuple[Parts, dict]:
    """The export in ``model`` (a diffusers folder with ``training.json``), in float32."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    record = json.loads((model / "training.json").read_text())
    f32 = {"torch_dtype": torch.float32}
    parts = Parts(
        cfg=model_config_from(record["model"]),
        tokenizer=CLIPTokenizer.from_pretrained(model / "tokenizer"),
        text_encoder=CLIPTextModel.from_pretrained(model / "text_encoder", **f32).eval(),
        unet=UNet2DConditionModel.from_pretrained(model / "unet", **f32).eval(),
        vae=AutoencoderKL.from_pretrained(model / "vae", **f32).eval(),
        scheduler=build_scheduler(),
    )
    return parts, record


def batch_losses(
    parts: Parts, scenes: list[Scene], tc: TrainConfig, batch: int, seed: int = 0
) -> list[float]:
    """The training loss of each batch of ``batch`` of ``scenes``; batch ``k``'s captions,
    boxes, noise and timesteps depend on (``seed``, ``k``) alone, so two scene lists of one
    length are compared batch by batch on the same draws."""
    tc = replace(tc, batch=batch)
    losses = []
    with torch.no_grad():
        for k in range(0, len(scenes) - batch + 1, batch):
            chunk = scenes[k : k + batch]
            images = np.stack([render_scene(s, parts.cfg.image_size).image for s in chunk])
            z = encode_latents(parts.vae, images)
            b = make_batch(chunk, parts.tokenizer, tc, seed * 100_003 + k)
            torch.manual_seed(seed * 100_003 + k)
            loss, _ = unet_loss(
                parts.unet, parts.text_encoder, parts.scheduler, b, z[b["idx"]], parts.cfg, tc
            )
            losses.append(float(loss))
    return losses


def mean_loss(
    parts: Parts, scenes: list[Scene], tc: TrainConfig, batch: int, seed: int = 0
) -> float:
    """``batch_losses``' mean."""
    return float(np.mean(batch_losses(parts, scenes, tc, batch, seed)))


def evaluate(model: Path, n: int = 256, batch: int = 32, seed: int = 0) -> dict[str, Any]:
    """Seen vs unseen loss of the export in ``model`` on ``n`` scenes each, grounded and plain."""
    parts, record = load(model)
    cached = int(record["train"]["n_latents"])
    seen = [training_scene(int(i)) for i in np.linspace(0, cached - 1, n).round()]
    unseen = [training_scene(UNSEEN_FROM + i) for i in range(n)]
    base = TrainConfig(
        p_drop_text=0.0,
        p_drop_boxes=0.0,
        obj_weight=0.0,
        min_snr_gamma=float(record["train"]["min_snr_gamma"]),
        max_objs=int(record["train"]["max_objs"]),
    )
    report: dict[str, Any] = {
        "model": str(model),
        "steps": record.get("steps"),
        "cached_scenes": cached,
        "n": n,
        "batch": batch,
        "seed": seed,
        "modes": {},
    }
    for mode, p_plain in (("grounded", 0.0), ("plain", 1.0)):
        tc = replace(base, p_plain=p_plain)
        a = np.array(batch_losses(parts, seen, tc, batch, seed))
        b = np.array(batch_losses(parts, unseen, tc, batch, seed))
        ratio = b / a  # per batch: the same captions' shape, noise and timesteps on both sides
        report["modes"][mode] = {
            "seen": float(a.mean()),
            "unseen": float(b.mean()),
            "unseen_over_seen": float(b.mean() / a.mean()),
            # the paired per-batch ratios: their spread says whether a gap is more than noise
            "batch_ratio_median": float(np.median(ratio)),
            "batch_ratio_se": float(ratio.std(ddof=1) / np.sqrt(len(ratio)))
            if len(ratio) > 1
            else None,
            "batches_unseen_higher": int((ratio > 1).sum()),
            "batches": len(ratio),
        }
    return report


def main(model: Path, out: Path, n: int = 256, batch: int = 32) -> dict[str, Any]:
    report = evaluate(model, n, batch)
    rows = [
        [
            mode,
            r["seen"],
            r["unseen"],
            f"{r['unseen_over_seen']:.3f}",
            f"{r['batches_unseen_higher']} of {r['batches']}",
        ]
        for mode, r in report["modes"].items()
    ]
    print_table(
        f"World model fit: training loss on {report['cached_scenes']:,} cached scenes vs unseen "
        f"ones (n={n} each)",
        ["steps", "seen (cached)", "unseen", "unseen / seen", "batches unseen higher"],
        rows,
    )
    write_json(out, report)
    return report
