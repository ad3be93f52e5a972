"""Train the world model in resumable stages: VAE, latent cache, then UNet + text encoder.

Everything lives under one run folder; each stage writes atomic checkpoints every few minutes and
a rerun with ``resume=True`` continues where the last one stopped (sessions get cut without
warning). The finished model is exported as a diffusers folder (``<out>/model``).

    <out>/vae/                 AutoencoderKL (diffusers), written when the VAE stage finishes
    <out>/vae_state.pt         VAE stage checkpoint (weights, optimiser, step, wall time)
    <out>/latents.pt           cached posterior means of the training scenes + their scenes
    <out>/decoder_state.pt     optional decoder-only fine-tuning (encoder frozen)
    <out>/unet_state.pt        UNet + text encoder (+ EMA) checkpoint
    <out>/log.jsonl            one line per logged step; evals.jsonl: judge accuracy per eval
    <out>/loss_vae.png, loss_unet.png
    <out>/model/               the exported pipeline folder
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from scenecraft.core.overrides import parse_setting
from scenecraft.models.layout_map import box_cover, expand_conv_in, paint_layout
from scenecraft.models.world_model.architecture import (
    WorldModelConfig,
    assemble_pipeline,
    build_scheduler,
    build_text_encoder,
    build_tokenizer,
    build_unet,
    build_vae,
)
from scenecraft.shapesworld.render import render_scene
from scenecraft.shapesworld.scene import Scene
from scenecraft.training.scenes import make_caption, training_scene

console = Console(stderr=True)


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    vae_steps: int = 2500
    vae_batch: int = 16
    vae_crop: int = 64  # the VAE is fully convolutional: crops cost 4x less than 128^2 images
    vae_lr: float = 1e-3
    vae_kl: float = 1e-4  # small: latents stay near-deterministic but bounded for diffusion
    # decoder-only fine-tuning on full images: sharper shapes without moving the latent space
    # (the latent cache and the UNet stay valid), so it can run at any point of a run
    decoder_steps: int = 0
    decoder_batch: int = 4
    decoder_lr: float = 2e-4
    n_latents: int = 8_000  # cached training scenes; a resumed run may ask for more
    # a cap on the UNet's steps in all, across the runs a model was continued through (a run
    # started --init-from counts on from the steps before it); runs end on --time-limit here.
    # It was 30,000 until session 26, whose continuation of 28,616 stopped at it after 1,384
    unet_steps: int = 1_000_000
    batch: int = 32
    lr: float = 5e-4
    warmup: int = 500
    # learning-rate decay after warm-up: cosine from ``lr`` down to ``lr * lr_floor`` over
    # ``decay_s`` seconds of UNet training (step time, summed over resumes, counted from this
    # run's warm-up; 0: constant). Seconds, not steps: a CPU session is bounded by its clock.
    decay_s: float = 0.0
    lr_floor: float = 0.05
    ema_decay: float = 0.999
    min_snr_gamma: float = 5.0
    # extra loss weight on latent cells inside the scene's object boxes (every object, whatever
    # the caption or the dropped boxes say): a cell's weight is 1 + obj_weight * its box cover,
    # each sample's loss normalised by its mean weight. Objects cover a small part of a scene, so
    # at 0 the background's many easy cells take much of the gradient; shape lives in the boxes.
    obj_weight: float = 0.0
    # which samples get the object weights: "all", or "given": only those whose boxes the model
    # is given (grounded steps, boxes not dropped). Weighted text-only samples drew stray
    # objects (exactly one 0.67 -> 0.45 at obj_weight 2, sessions 19-20): where the model is not
    # told where objects go, down-weighting the background makes a stray object cheap.
    obj_where: str = "all"
    p_drop_text: float = 0.1
    p_drop_boxes: float = 0.1
    p_plain: float = 0.3  # steps trained without the GLIGEN fuser (plain text-to-image)
    max_objs: int = 8  # boxes per sample in training; inference pads to any number
    checkpoint_s: float = 300.0
    log_every: int = 20
    eval_every: int = 500
    eval_samples: int = 24  # judged samples per UNet eval; also VAE check scenes
    # wall-clock caps (0: none). A capped stage ends early and its learning-rate schedule follows
    # whichever of steps or time runs out first; ``time_limit_s`` ends the UNet stage (counted
    # from the start of ``train``) so a leased GPU run always exports before its lease ends.
    vae_time_s: float = 0.0
    decoder_time_s: float = 0.0
    time_limit_s: float = 0.0
    # training seconds of the UNet stage in all (its own step time, summed over resumes; evals
    # and checkpoints not counted): a run stops here, so runs compared by CPU time stop alike
    wall_limit_s: float = 0.0
    render_workers: int = 1  # processes rendering the image bank
    loader_workers: int = 0  # processes building UNet batches (captions, tokens, boxes)
    amp: bool = True  # bfloat16 autocast for the UNet on CUDA (ignored on the CPU)
    # GLIGEN's gates (tanh(alpha) on the fuser's two residual branches) start at 0 to protect a
    # pretrained UNet; trained from scratch here, they stayed within 0.09 of 0 after 4,000 steps
    # and the model ignored its boxes (0 of 11 objects in their boxes). Start them open.
    gate_init: float = 1.0

    def __post_init__(self) -> None:
        if self.obj_where not in ("all", "given"):
            raise ValueError(f"obj_where: {self.obj_where!r} is not one of 'all', 'given'")


# Settings about the machine, not the model: a run adopted from elsewhere does not inherit them.
HOST_SETTINGS = frozenset({"render_workers", "loader_workers", "amp"})

# What the shipped model was trained with on a GPU (see scripts/train_on_gpu.sh): larger
# batches, more VAE steps, a bigger latent cache; the rendering of scenes spread over processes.
PRESETS: dict[str, TrainConfig] = {
    "cpu": TrainConfig(),
    "gpu": TrainConfig(
        vae_steps=6000,
        vae_batch=64,
        decoder_steps=1500,
        decoder_batch=32,
        n_latents=20_000,
        # the model is small, so a step is bound by kernel launches and host work, not by
        # arithmetic: 128 took about 140 ms per step on an H200 with batches built in-process
        batch=512,
        lr=1e-3,
        eval_every=500,
        checkpoint_s=60.0,
        render_workers=12,
        loader_workers=8,
    ),
}


def _save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 images [..., H, W, 3] -> float [..., 3, H, W] in [-1, 1], as the VAE takes them."""
    return torch.from_numpy(np.ascontiguousarray(images)).movedim(-1, -3).float() / 127.5 - 1.0


def encode_latents(vae, images: np.ndarray) -> torch.Tensor:
    """uint8 images [B, H, W, 3] -> the latents the UNet stage trains on (posterior means,
    scaled) [B, C, h, w], on the VAE's device."""
    x = _to_input(images).to(vae.device)  # [B, 3, H, W]
    return vae.encode(x).latent_dist.mode() * vae.config.scaling_factor


def _image_tensor(scene: Scene, size: int) -> torch.Tensor:
    return _to_input(render_scene(scene, size).image)  # [3, H, W] in [-1, 1]


def _render_one(args: tuple[int, int]) -> np.ndarray:
    index, size = args
    return render_scene(training_scene(index), size).image


def image_bank(out: Path, n: int, size: int, workers: int = 1) -> np.ndarray:
    """Training scenes ``0..n-1`` rendered once, uint8 [n, size, size, 3], saved for a resume.

    Every stage draws from this bank (VAE crops, decoder images, the latent cache), so rendering
    never holds up a GPU step; ``workers`` processes share the rendering.
    """
    path = out / f"bank-{n}-{size}.npy"
    if path.exists():
        return np.load(path)
    import multiprocessing as mp
    from contextlib import nullcontext

    jobs = [(i, size) for i in range(n)]
    bank = np.zeros((n, size, size, 3), np.uint8)
    pool = mp.get_context("fork").Pool(workers) if workers > 1 else nullcontext()
    with _progress() as bar, pool:
        task = bar.add_task("render", total=n, info="")
        rendered = (
            pool.imap(_render_one, jobs, chunksize=64) if workers > 1 else map(_render_one, jobs)
        )
        for i, img in enumerate(rendered):
            bank[i] = img
            if i % 256 == 0:
                bar.update(task, completed=i)
        bar.update(task, completed=n)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, bank)
    os.replace(tmp, path)
    return bank


def _bank_batch(
    bank: np.ndarray, rng: np.random.Generator, batch: int, crop: int | None = None
) -> torch.Tensor:
    """Random bank images, randomly cropped and flipped: [B, 3, crop, crop] in [-1, 1]."""
    idx = rng.integers(0, len(bank), batch)
    size = bank.shape[1]
    crop = crop or size
    out = np.empty((batch, crop, crop, 3), np.uint8)
    for j, i in enumerate(idx):
        y0, x0 = (int(v) for v in rng.integers(0, size - crop + 1, 2))
        img = bank[i, y0 : y0 + crop, x0 : x0 + crop]
        out[j] = img[:, ::-1] if rng.random() < 0.5 else img
    return _to_input(out)


def _frac(step: int, steps: int, started: float, cap_s: float) -> float:
    """How far a stage is: steps done or time used, whichever is further (time only if capped)."""
    done = step / max(steps, 1)
    if cap_s > 0:
        done = max(done, (time.monotonic() - started) / cap_s)
    return done


def _hardware(device: str) -> str:
    import platform

    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA), {os.cpu_count()} CPUs"
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}; "
        "shared with other jobs, so wall time is an upper bound"
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        console=console,
    )


def _log(out: Path, name: str, row: dict) -> None:
    with open(out / name, "a") as f:
        f.write(json.dumps(row) + "\n")


def _plot(out: Path, stage: str, keys: tuple[str, ...]) -> None:
    """Loss curves of one stage from log.jsonl to ``loss_<stage>.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = out / "log.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    rows = [r for r in rows if r.get("stage") == stage]
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for k in keys:
        ax.plot([r["step"] for r in rows], [r[k] for r in rows], label=k)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.legend()
    ax.set_title(f"world model: {stage}")
    fig.tight_layout()
    fig.savefig(out / f"loss_{stage}.png", dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Stage 1: the VAE


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two [-1, 1] image batches."""
    mse = ((a - b) / 2).pow(2).mean().item()
    return 10 * math.log10(1 / max(mse, 1e-12))


def vae_check(vae, n: int = 32, size: int = 128) -> dict:
    """Reconstruction PSNR and detector agreement on validation scenes (never trained on)."""
    from scenecraft.shapesworld.detect import detect
    from scenecraft.shapesworld.scene import sample_scene, split_seed

    scenes = [sample_scene(split_seed("val", i)) for i in range(n)]
    x = torch.stack([_image_tensor(s, size) for s in scenes])
    device = next(vae.parameters()).device
    with torch.no_grad():
        rec = vae.decode(vae.encode(x.to(device)).latent_dist.mode()).sample.clamp(-1, 1).cpu()
    agree = 0
    for orig, r in zip(x, rec, strict=True):
        to_u8 = lambda t: ((t.permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()  # noqa: E731
        want = sorted(d.label for d in detect(to_u8(orig)))
        got = sorted(d.label for d in detect(to_u8(r)))
        agree += want == got
    return {"psnr": psnr(x, rec), "detector_agreement": agree / n}


Bank = Callable[[], np.ndarray]  # renders (or loads) the image bank on first call


def train_vae(out: Path, cfg: WorldModelConfig, tc: TrainConfig, device: str, bank: Bank) -> None:
    if (out / "vae" / "config.json").exists():
        return
    images = bank()  # before any CUDA work: its rendering processes fork from a CUDA-free parent
    torch.manual_seed(tc.seed)
    vae = build_vae(cfg).to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=tc.vae_lr, weight_decay=0.0)
    step, wall = 0, 0.0
    state_path = out / "vae_state.pt"
    if state_path.exists():
        st = torch.load(state_path, map_location=device, weights_only=False)
        vae.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, wall = st["step"], st["wall"]
        console.print(f"resumed VAE at step {step}")
    rng = np.random.default_rng([tc.seed, step])
    last_ckpt = started = time.monotonic()

    def save() -> None:
        state = {"model": vae.state_dict(), "opt": opt.state_dict(), "step": step, "wall": wall}
        _save_atomic(state, state_path)
        _plot(out, "vae", ("mse", "l1"))

    with _progress() as bar:
        task = bar.add_task("VAE", total=tc.vae_steps, completed=step, info="")
        while (frac := _frac(step, tc.vae_steps, started, tc.vae_time_s)) < 1:
            t0 = time.monotonic()
            x = _bank_batch(images, rng, tc.vae_batch, tc.vae_crop).to(device)  # [B, 3, crop, crop]
            post = vae.encode(x).latent_dist
            rec = vae.decode(post.sample()).sample
            mse = F.mse_loss(rec, x)
            l1 = F.l1_loss(rec, x)
            kl = post.kl().mean() / post.mean[0].numel()  # per latent element
            loss = mse + l1 + tc.vae_kl * kl
            warm = min(1.0, (step + 1) / 100)
            for g in opt.param_groups:
                g["lr"] = tc.vae_lr * warm * 0.5 * (1 + math.cos(math.pi * frac))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
            opt.step()
            step += 1
            wall += time.monotonic() - t0
            if step % tc.log_every == 0:
                _log(
                    out,
                    "log.jsonl",
                    {
                        "stage": "vae",
                        "step": step,
                        "mse": mse.item(),
                        "l1": l1.item(),
                        "kl": kl.item(),
                        "wall": wall,
                    },
                )
            bar.update(task, completed=step, info=f"mse {mse.item():.4f} kl {kl.item():.2f}")
            if time.monotonic() - last_ckpt > tc.checkpoint_s:
                save()
                last_ckpt = time.monotonic()
    save()
    vae.eval()
    check = vae_check(vae, tc.eval_samples, cfg.image_size)
    # scale latents to unit variance for the diffusion model, as SD's 0.18215 does
    with torch.no_grad():
        x = _to_input(images[:128]).to(device)
        std = vae.encode(x).latent_dist.mode().std().item()
    vae.register_to_config(scaling_factor=1.0 / std)
    vae.save_pretrained(out / "vae")
    row = {"stage": "vae_done", "step": step, "wall": wall, "latent_std": std, **check}
    _log(out, "evals.jsonl", row)
    console.print(f"VAE done: {row}")


def _edges(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., 1:, :] - x[..., :-1, :], x[..., :, 1:] - x[..., :, :-1]


def finetune_decoder(
    out: Path, cfg: WorldModelConfig, tc: TrainConfig, device: str, bank: Bank
) -> None:
    """Train only the VAE decoder on full images, with an edge term for crisp outlines.

    The encoder is frozen, so cached latents and everything trained on them stay valid.
    """
    from diffusers import AutoencoderKL

    state_path = out / "decoder_state.pt"
    st = torch.load(state_path, weights_only=False) if state_path.exists() else None
    step, wall = (st["step"], st["wall"]) if st else (0, 0.0)
    if step >= tc.decoder_steps or (st and st.get("done")):
        return
    images = bank()
    vae = AutoencoderKL.from_pretrained(out / "vae").to(device)
    trainable = [*vae.decoder.parameters(), *vae.post_quant_conv.parameters()]
    opt = torch.optim.AdamW(trainable, lr=tc.decoder_lr, weight_decay=0.0)
    if st:
        vae.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
    vae.requires_grad_(False)
    for p in trainable:
        p.requires_grad_(True)
    rng = np.random.default_rng([tc.seed, 7, step])
    last_ckpt = started = time.monotonic()

    def save(done: bool = False) -> None:
        _save_atomic(
            {
                "model": vae.state_dict(),
                "opt": opt.state_dict(),
                "step": step,
                "wall": wall,
                "done": done,
            },
            state_path,
        )

    with _progress() as bar:
        task = bar.add_task("VAE decoder", total=tc.decoder_steps, completed=step, info="")
        while _frac(step, tc.decoder_steps, started, tc.decoder_time_s) < 1:
            t0 = time.monotonic()
            x = _bank_batch(images, rng, tc.decoder_batch).to(device)  # [B, 3, H, W]
            with torch.no_grad():
                z = vae.encode(x).latent_dist.sample()
            rec = vae.decode(z).sample
            edge = sum(F.l1_loss(a, b) for a, b in zip(_edges(rec), _edges(x), strict=True))
            mse = F.mse_loss(rec, x)
            loss = mse + F.l1_loss(rec, x) + edge
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            opt.step()
            step += 1
            wall += time.monotonic() - t0
            if step % tc.log_every == 0:
                row = {
                    "stage": "decoder",
                    "step": step,
                    "mse": mse.item(),
                    "edge": edge.item(),
                    "wall": wall,
                }
                _log(out, "log.jsonl", row)
            bar.update(task, completed=step, info=f"mse {mse.item():.4f}")
            if time.monotonic() - last_ckpt > tc.checkpoint_s:
                save()
                _plot(out, "decoder", ("mse", "edge"))
                last_ckpt = time.monotonic()
    save(done=True)
    _plot(out, "decoder", ("mse", "edge"))
    vae.eval()
    vae.save_pretrained(out / "vae")
    row = {
        "stage": "decoder_done",
        "step": step,
        "wall": wall,
        **vae_check(vae, tc.eval_samples, cfg.image_size),
    }
    _log(out, "evals.jsonl", row)
    console.print(f"decoder done: {row}")


# ---------------------------------------------------------------------------------------------
# Stage 2: latent cache


def cache_latents(
    out: Path, cfg: WorldModelConfig, tc: TrainConfig, device: str, bank: Bank
) -> None:
    """Encode training scenes once (posterior means, scaled), in resumable chunks.

    A later run with a larger ``n_latents`` extends the cache instead of starting over.
    """
    from diffusers import AutoencoderKL

    path = out / "latents.pt"
    st = torch.load(path, weights_only=False) if path.exists() else {"latents": [], "scenes": []}
    if isinstance(st["latents"], torch.Tensor):
        st["latents"] = [st["latents"]]
    done = len(st["scenes"])
    if done >= tc.n_latents:
        return
    images = bank()
    vae = AutoencoderKL.from_pretrained(out / "vae").to(device).eval()
    chunk = 256
    last_ckpt = time.monotonic()
    with _progress() as bar, torch.no_grad():
        task = bar.add_task("latents", total=tc.n_latents, completed=done, info="")
        while done < tc.n_latents:
            idx = range(done, min(done + chunk, tc.n_latents))
            scenes = [training_scene(i) for i in idx]
            z = encode_latents(vae, images[idx.start : idx.stop])  # [B, C, h, w]
            st["latents"].append(z.half().cpu())
            st["scenes"].extend(s.to_dict() for s in scenes)
            done += len(scenes)
            bar.update(task, completed=done)
            if time.monotonic() - last_ckpt > tc.checkpoint_s or done >= tc.n_latents:
                st["latents"] = [torch.cat(st["latents"])]
                _save_atomic(st, path)
                last_ckpt = time.monotonic()


# ---------------------------------------------------------------------------------------------
# Stage 3: UNet + text encoder


def _tokenize(tokenizer, texts: list[str]) -> torch.Tensor:
    """Token ids [N, T], padded to the tokenizer's length."""
    return tokenizer(
        texts,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids


def make_batch(scenes: list[Scene], tokenizer, tc: TrainConfig, step: int) -> dict:
    """The UNet stage's batch for ``step``: a function of (seed, step) alone, so it is the same
    after a resume and whichever loader process builds it.

    Returns latent indices ``idx`` [B], caption token ids ``ids`` [B, T] (dropped captions are
    empty), and for grounded steps the GLIGEN inputs: ``boxes`` [B, M, 4] (x0, y0, x1, y1),
    ``masks`` [B, M], the distinct phrases' token ids ``phrase_ids`` [U, T] and, per box,
    its batch row, slot and phrase (``box_b``, ``box_k``, ``box_phrase``).
    """
    rng = np.random.default_rng([tc.seed, 11, step])
    idx = rng.integers(0, len(scenes), tc.batch)
    caps = [make_caption(scenes[i], rng) for i in idx]
    grounded = bool(rng.random() >= tc.p_plain)
    texts = [
        c.text if (grounded or c.complete) and rng.random() >= tc.p_drop_text else "" for c in caps
    ]
    batch: dict = {"idx": torch.from_numpy(idx), "ids": _tokenize(tokenizer, texts)}
    batch["grounded"] = grounded
    if tc.obj_weight > 0:  # every object's box, for the loss weights (draws nothing from rng)
        objs = np.zeros((tc.batch, tc.max_objs, 4), np.float32)
        present = np.zeros((tc.batch, tc.max_objs), np.float32)
        for b, c in enumerate(caps):
            for k, box in enumerate(c.boxes[: tc.max_objs]):
                objs[b, k], present[b, k] = box, 1
        if tc.obj_where == "given" and not grounded:
            present[:] = 0
        batch["obj_boxes"], batch["obj_masks"] = torch.from_numpy(objs), torch.from_numpy(present)
    if not grounded:
        return batch
    boxes = np.zeros((tc.batch, tc.max_objs, 4), np.float32)
    masks = np.zeros((tc.batch, tc.max_objs), np.float32)
    placed: list[tuple[int, int, str]] = []
    for b, c in enumerate(caps):
        if rng.random() < tc.p_drop_boxes:
            if tc.obj_weight > 0 and tc.obj_where == "given":
                batch["obj_masks"][b] = 0
            continue
        for k, (phrase, box) in enumerate(zip(c.phrases[: tc.max_objs], c.boxes, strict=False)):
            boxes[b, k], masks[b, k] = box, 1
            placed.append((b, k, phrase))
    uniq = sorted({p for _, _, p in placed})
    row = {p: i for i, p in enumerate(uniq)}
    batch |= {
        "boxes": torch.from_numpy(boxes),
        "masks": torch.from_numpy(masks),
        "phrase_ids": _tokenize(tokenizer, uniq) if uniq else None,
        "box_b": torch.tensor([b for b, _, _ in placed], dtype=torch.long),
        "box_k": torch.tensor([k for _, k, _ in placed], dtype=torch.long),
        "box_phrase": torch.tensor([row[p] for _, _, p in placed], dtype=torch.long),
    }
    return batch


class _Batches(torch.utils.data.IterableDataset):
    """Steps ``start, start + 1, ...`` of ``make_batch``; with several loader workers, worker
    ``w`` builds steps ``start + w + k * workers`` and the loader hands them out in step order."""

    def __init__(self, scenes: list[Scene], tokenizer, tc: TrainConfig, start: int):
        self.scenes, self.tokenizer, self.tc, self.start = scenes, tokenizer, tc, start

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        step = self.start + worker
        while True:
            yield make_batch(self.scenes, self.tokenizer, self.tc, step)
            step += workers


def _min_snr_weight(scheduler, t: torch.Tensor, gamma: float) -> torch.Tensor:
    """Min-SNR-gamma loss weights for v-prediction: min(snr, gamma) / (snr + 1)."""
    ac = scheduler.alphas_cumprod.to(t.device)[t]
    snr = ac / (1 - ac).clamp(min=1e-8)
    return snr.clamp(max=gamma) / (snr + 1)


class _EMA:
    def __init__(self, params: list[torch.Tensor]):
        self.shadow = [p.detach().clone() for p in params]

    @torch.no_grad()
    def update(self, params: list[torch.Tensor], decay: float) -> None:
        torch._foreach_lerp_(self.shadow, [p.detach() for p in params], 1 - decay)

    @torch.no_grad()
    def copy_to(self, params: list[torch.Tensor]) -> None:
        for s, p in zip(self.shadow, params, strict=True):
            p.copy_(s)


def single_object_accuracy(pipe, n: int, seed: int = 0, steps: int = 20) -> dict:
    """Fraction of "a red star" samples the judge reads as exactly that one object; for a UNet
    that can ground, also the share of objects drawn in their boxes on ``n // 2`` layouts."""
    from scenecraft.eval.world_model import grounded
    from scenecraft.models import diffusion as D
    from scenecraft.shapesworld.detect import detect
    from scenecraft.shapesworld.grammar import COLORS, SHAPES

    model = D.DiffusionModel("training", pipe.device, torch.float32, pipe)
    colors = list(COLORS)
    prompts = [
        (SHAPES[i % len(SHAPES)], colors[(i // len(SHAPES) + i) % len(colors)]) for i in range(n)
    ]
    gen = torch.Generator("cpu").manual_seed(seed)
    images = D.sample(
        model, [f"a {c} {s}" for s, c in prompts], steps=steps, guidance=3.0, generator=gen
    ).images
    right = shape_ok = color_ok = one = 0
    for (s, c), img in zip(prompts, images, strict=True):
        labels = [d.label for d in detect(img)]
        one += len(labels) == 1
        right += labels == [f"{c} {s}"]
        shape_ok += any(lab.endswith(" " + s) for lab in labels)
        color_ok += any(lab.startswith(c + " ") for lab in labels)
    acc = {
        "single_ok": right / n,
        "shape": shape_ok / n,
        "color": color_ok / n,
        "exactly_one": one / n,
    }
    if model.can_ground and n >= 2:
        report, _ = grounded(model, n // 2, steps, 3.0, seed=seed, quiet=True)
        acc["grounded"] = report["object_recall_iou50"]
    return acc


@torch.no_grad()
def _open_gates(unet, value: float) -> None:
    """Set every GLIGEN gate parameter (``alpha_attn``, ``alpha_dense``) to ``value``."""
    from diffusers.models.attention import GatedSelfAttentionDense

    for m in unet.modules():
        if isinstance(m, GatedSelfAttentionDense):
            m.alpha_attn.fill_(value)
            m.alpha_dense.fill_(value)


@dataclass
class UnetStage:
    """What the UNet stage trains, freshly built: models, their parameters, optimiser, EMA."""

    tokenizer: Any
    text_encoder: Any
    unet: Any
    scheduler: Any
    params: list[torch.nn.Parameter]
    opt: torch.optim.Optimizer
    ema: _EMA


def fresh_unet_stage(cfg: WorldModelConfig, tc: TrainConfig, device: str) -> UnetStage:
    """The UNet stage's start from ``tc.seed`` (``bench/`` times steps from the same start):
    text encoder and UNet with their GLIGEN gates opened to ``tc.gate_init``, AdamW over both,
    an EMA of both. Resumed and adopted runs then load their own weights over these."""
    torch.manual_seed(tc.seed)
    tokenizer = build_tokenizer(cfg.max_tokens)
    text_encoder = build_text_encoder(cfg, tokenizer).to(device)
    unet = build_unet(cfg).to(device)
    _open_gates(unet, tc.gate_init)
    params = [*unet.parameters(), *text_encoder.parameters()]
    opt = torch.optim.AdamW(params, lr=tc.lr, weight_decay=0.01)
    return UnetStage(tokenizer, text_encoder, unet, build_scheduler(), params, opt, _EMA(params))


def object_weighted_mse(
    pred: torch.Tensor,
    target: torch.Tensor,
    boxes: tuple[torch.Tensor, torch.Tensor] | None,
    obj_weight: float,
) -> torch.Tensor:
    """Per-sample MSE [B] of ``pred`` against ``target`` [B, C, h, w]; with ``boxes`` (object
    boxes [B, M, 4] in [0, 1] and their masks [B, M]) a cell weighs ``1 + obj_weight * cover``,
    normalised by the sample's mean weight (so a uniform error costs the same either way)."""
    err = (pred - target).pow(2)
    if boxes is None or obj_weight <= 0:
        return err.mean(dim=(1, 2, 3))
    weight = 1 + obj_weight * box_cover(*boxes, *err.shape[-2:])  # [B, 1, h, w]
    return (err * weight).mean(dim=(1, 2, 3)) / weight.mean(dim=(1, 2, 3))


def unet_loss(
    unet,
    text_encoder,
    scheduler,
    batch: dict,
    z0: torch.Tensor,
    cfg: WorldModelConfig,
    tc: TrainConfig,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The UNet stage's loss on one batch: (the min-SNR weighted mean, the per-sample MSE [B]).

    ``batch`` comes from ``make_batch`` and ``z0`` [B, C, h, w] are its clean latents, on the
    models' device. Captions (and, on grounded steps, GLIGEN box phrases) go through the text
    encoder; noise and timesteps are drawn from torch's global generator; the loss is
    v-prediction MSE (object cells weighted by ``tc.obj_weight``) with min-SNR weights.
    """
    device = z0.device
    use_amp = tc.amp and device.type == "cuda"
    with torch.autocast("cuda", torch.bfloat16, enabled=use_amp):  # a no-op on the CPU
        ctx = text_encoder(batch["ids"].to(device)).last_hidden_state  # [B, T, D]
        kwargs = None
        b, _, h, w = z0.shape
        layout = z0.new_zeros(b, cfg.text_hidden + 1, h, w) if cfg.layout_map else None
        if batch["grounded"]:
            emb = torch.zeros(b, tc.max_objs, cfg.text_hidden, device=device)
            if batch["phrase_ids"] is not None:
                pooled = text_encoder(batch["phrase_ids"].to(device)).pooler_output
                where = (batch["box_b"].to(device), batch["box_k"].to(device))
                rows = pooled[batch["box_phrase"].to(device)]  # [P, D]
                emb = emb.index_put(where, rows.to(emb.dtype))
            boxes, masks = batch["boxes"].to(device), batch["masks"].to(device)
            kwargs = {"gligen": {"boxes": boxes, "positive_embeddings": emb, "masks": masks}}
            if layout is not None:
                layout = paint_layout(boxes, emb, masks, h, w)
        noise = torch.randn_like(z0)
        n_t = scheduler.config.num_train_timesteps
        t = torch.randint(0, n_t, (b,), device=device)
        zt = scheduler.add_noise(z0, noise, t)
        target = scheduler.get_velocity(z0, noise, t)
        x = zt if layout is None else torch.cat([zt, layout.to(zt.dtype)], dim=1)
        pred = unet(x, t, ctx, cross_attention_kwargs=kwargs).sample
    boxes = batch.get("obj_boxes")
    if boxes is not None:
        boxes = (boxes.to(device), batch["obj_masks"].to(device))
    per = object_weighted_mse(pred.float(), target, boxes, tc.obj_weight)  # [B]
    return (per * _min_snr_weight(scheduler, t, tc.min_snr_gamma)).mean(), per


def unet_step(
    unet,
    text_encoder,
    scheduler,
    opt: torch.optim.Optimizer,
    ema: _EMA,
    batch: dict,
    z0: torch.Tensor,
    cfg: WorldModelConfig,
    tc: TrainConfig,
    lr: float,
    ema_decay: float,
) -> torch.Tensor:
    """One optimiser step of the UNet stage, as ``train_unet`` takes it (``bench/`` times it too):
    ``unet_loss``, then backward, gradients clipped to norm 1, AdamW at ``lr`` over ``opt``'s
    parameters and the EMA update. Returns the loss.
    """
    params = [p for g in opt.param_groups for p in g["params"]]  # UNet + text encoder: EMA order
    loss, _ = unet_loss(unet, text_encoder, scheduler, batch, z0, cfg, tc)
    for g in opt.param_groups:
        g["lr"] = lr
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    ema.update(params, ema_decay)
    return loss.detach()


def unet_lr(tc: TrainConfig, steps: int, seconds: float) -> float:
    """The UNet's learning rate ``steps`` steps and ``seconds`` training seconds into a run.

    Linear warm-up over ``tc.warmup`` steps, then constant, or with ``tc.decay_s`` a cosine
    from ``tc.lr`` to ``tc.lr * tc.lr_floor`` over that many seconds, held at the floor after.
    """
    warm = min(1.0, (steps + 1) / tc.warmup)
    if tc.decay_s <= 0:
        return tc.lr * warm
    frac = min(1.0, max(0.0, seconds) / tc.decay_s)
    cos = 0.5 * (1.0 + math.cos(math.pi * frac))
    return tc.lr * warm * (tc.lr_floor + (1.0 - tc.lr_floor) * cos)


def train_unet(
    out: Path,
    cfg: WorldModelConfig,
    tc: TrainConfig,
    device: str,
    on_eval: Callable[[dict], None] | None = None,
    deadline: float | None = None,
) -> None:
    """Train to ``tc.unet_steps`` or until ``deadline`` (``time.monotonic()``), then checkpoint."""
    from diffusers import AutoencoderKL

    fresh = fresh_unet_stage(cfg, tc, device)
    tokenizer, text_encoder, unet, scheduler = (
        fresh.tokenizer,
        fresh.text_encoder,
        fresh.unet,
        fresh.scheduler,
    )
    params, opt, ema = fresh.params, fresh.opt, fresh.ema
    vae = AutoencoderKL.from_pretrained(out / "vae").to(device).eval()
    data = torch.load(out / "latents.pt", weights_only=False)
    latents = torch.cat(data["latents"])  # [N, 4, h, w] float16
    scenes = [Scene.from_dict(d) for d in data["scenes"]]
    step, wall, warm_from, warm_wall = 0, 0.0, 0, 0.0
    state_path = out / "unet_state.pt"
    if state_path.exists():
        st = torch.load(state_path, map_location=device, weights_only=False)
        unet.load_state_dict(st["unet"])
        text_encoder.load_state_dict(st["text_encoder"])
        opt.load_state_dict(st["opt"])
        ema.shadow = [t.to(device) for t in st["ema"]]
        step, wall, warm_from = st["step"], st["wall"], st.get("warm_from", 0)
        warm_wall = st.get("warm_wall", wall)
        torch.manual_seed(tc.seed + step)  # noise and timesteps: a fresh stream after a resume
        console.print(f"resumed UNet at step {step} ({wall / 3600:.2f} h)")
    elif (out / PRIOR).exists():  # an adopted run: its exported (EMA) weights, a fresh optimiser
        from transformers import CLIPTextModel

        prior = json.loads((out / PRIOR).read_text())
        model = Path(prior.get("model") or Path(prior["source"]) / "model")
        prior_unet = type(unet).from_pretrained(model / "unet").state_dict()
        # a layout map asked of a model trained without one: new input channels start at zero
        unet.load_state_dict(expand_conv_in(prior_unet, unet.config.in_channels))
        text_encoder.load_state_dict(
            CLIPTextModel.from_pretrained(model / "text_encoder").state_dict()
        )
        ema = _EMA(params)
        step, wall = prior["steps"], prior["wall"]
        warm_from, warm_wall = step, wall
        torch.manual_seed(tc.seed + step)
        console.print(f"adopted UNet at step {step} from {model}")

    def checkpoint() -> None:
        _save_atomic(
            {
                "unet": unet.state_dict(),
                "text_encoder": text_encoder.state_dict(),
                "opt": opt.state_dict(),
                "ema": ema.shadow,
                "step": step,
                "wall": wall,
                "warm_from": warm_from,
                "warm_wall": warm_wall,
                "model_config": cfg.to_json(),
            },
            state_path,
        )
        _plot(out, "unet", ("loss",))

    def evaluate() -> dict:
        live = [p.detach().clone() for p in params]
        ema.copy_to(params)
        unet.eval()
        text_encoder.eval()
        pipe = assemble_pipeline(vae, text_encoder, tokenizer, unet, scheduler)
        with torch.no_grad():
            acc = single_object_accuracy(pipe, tc.eval_samples)
        with torch.no_grad():
            for p, v in zip(params, live, strict=True):
                p.copy_(v)
        unet.train()
        text_encoder.train()
        return acc

    last_ckpt = time.monotonic()
    running = None
    loader = torch.utils.data.DataLoader(
        _Batches(scenes, tokenizer, tc, step),
        batch_size=None,
        num_workers=tc.loader_workers,
        prefetch_factor=4 if tc.loader_workers else None,
    )
    batches = iter(loader)
    with _progress() as bar:
        task = bar.add_task("UNet", total=tc.unet_steps, completed=step, info="")
        while (
            step < tc.unet_steps
            and (deadline is None or time.monotonic() < deadline)
            and (tc.wall_limit_s <= 0 or wall < tc.wall_limit_s)
        ):
            t0 = time.monotonic()
            batch = next(batches)
            z0 = latents[batch["idx"]].float().to(device)  # [B, C, h, w]
            lr = unet_lr(tc, step - warm_from, wall - warm_wall)
            decay = min(tc.ema_decay, (1 + step) / (10 + step))
            loss = unet_step(unet, text_encoder, scheduler, opt, ema, batch, z0, cfg, tc, lr, decay)
            step += 1
            wall += time.monotonic() - t0
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            if step % tc.log_every == 0:
                _log(
                    out,
                    "log.jsonl",
                    {"stage": "unet", "step": step, "loss": running, "lr": lr, "wall": wall},
                )
            bar.update(task, completed=step, info=f"loss {running:.4f}")
            if step % tc.eval_every == 0:
                acc = {"stage": "unet", "step": step, "wall": wall, **evaluate()}
                _log(out, "evals.jsonl", acc)
                console.print(f"eval {acc}")
                if on_eval is not None:
                    on_eval(acc)
            if time.monotonic() - last_ckpt > tc.checkpoint_s or step == tc.unet_steps:
                checkpoint()
                last_ckpt = time.monotonic()
    checkpoint()


PRIOR = "prior.json"
SHIP_RECORD = "training.json"  # a shipped model's training record and history
VAE_SOURCE = "vae_source.json"


def _require(folder: Path, names: tuple[str, ...]) -> None:
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}")


def adopt_vae(source: Path, out: Path) -> None:
    """Start a run from a finished VAE (a diffusers AutoencoderKL folder with the
    ``provenance.json`` that ``scenecraft/assets/shapes-sd-vae`` carries): both VAE stages are
    skipped and the model card credits the VAE's own training."""
    import shutil

    if (out / "vae" / "config.json").exists():
        return
    _require(source, ("config.json", "diffusion_pytorch_model.safetensors", "provenance.json"))
    prov = json.loads((source / "provenance.json").read_text())
    shutil.copytree(source, out / "vae", ignore=shutil.ignore_patterns("*.json", "*.md"))
    shutil.copy(source / "config.json", out / "vae" / "config.json")
    for row in prov["evals"]:
        _log(out, "evals.jsonl", row)
    decoder = [r for r in prov["evals"] if r["stage"] == "decoder_done"]
    if decoder:  # its decoder was fine-tuned already: that stage is done too
        done = {"step": decoder[-1]["step"], "wall": decoder[-1]["wall"], "done": True}
        _save_atomic(done, out / "decoder_state.pt")
    (out / VAE_SOURCE).write_text(json.dumps({"source": str(source), **prov}, indent=1))


def _shipped(source: Path) -> bool:
    """A shipped model folder (``scenecraft/assets/shapes-sd``), not a run folder."""
    return (source / "model_index.json").exists()


def adopt(source: Path, out: Path) -> None:
    """Continue in ``out`` a model trained elsewhere whose optimiser state did not travel.

    ``source`` is either a shipped model (a diffusers folder with ``training.json``, as
    ``ship`` writes it: how each session continues the model the repository carries) or a run
    folder from elsewhere (a leased GPU returns only ``model/`` (EMA weights), ``config.json``,
    ``evals.jsonl`` and ``log.jsonl``). Its VAE is taken as it is (the VAE stages are done),
    and the UNet stage starts from its weights with a fresh optimiser and a new warm-up; the
    model card lists both parts.
    """
    import shutil

    out.mkdir(parents=True, exist_ok=True)
    if (out / "unet_state.pt").exists() or (out / PRIOR).exists():
        return
    if _shipped(source):
        _require(source, ("vae", "unet", "text_encoder", SHIP_RECORD))
        rec = json.loads((source / SHIP_RECORD).read_text())
        shutil.copytree(source / "vae", out / "vae", dirs_exist_ok=True)
        prior = {
            "source": str(source.resolve()),
            "model": str(source.resolve()),
            **{k: rec[k] for k in ("command", "hardware", "batch", "steps", "wall")},
            "samples": rec["samples"],
            "model_config": rec["model"],
            "overrides": rec.get("overrides", []),
            "commands": rec.get("commands", []),
            "history": rec.get("history", []),
        }
        _log(out, "evals.jsonl", {"stage": "vae_done", **rec.get("vae_check", {})})
    else:
        _require(
            source, ("model/vae", "model/unet", "model/text_encoder", "config.json", "log.jsonl")
        )
        shutil.copytree(source / "model" / "vae", out / "vae", dirs_exist_ok=True)
        for name in ("evals.jsonl", "log.jsonl"):
            shutil.copy(source / name, out / name)
        src = json.loads((source / "config.json").read_text())
        steps, wall = run_progress(source)
        prior = {
            "source": str(source.resolve()),
            "model": str((source / "model").resolve()),
            "command": src.get("command", ""),
            "hardware": src.get("hardware", "unknown"),
            "batch": src["train"]["batch"],
            "steps": steps,
            "wall": wall,
            "samples": steps * src["train"]["batch"],
            "model_config": src["model"],
            "overrides": src.get("overrides", []),
            "history": [],
        }
    # its VAE is final: a decoder fine-tuning now would move the latent space under its UNet
    _save_atomic({"step": 0, "wall": 0.0, "done": True}, out / "decoder_state.pt")
    (out / PRIOR).write_text(json.dumps(prior, indent=1))


def run_progress(run: Path) -> tuple[int, float]:
    """UNet steps and training seconds of a run: from its checkpoint, or from its log where the
    checkpoint stayed behind (a leased GPU returns only the exported model and the records)."""
    if (run / "unet_state.pt").exists():
        state = torch.load(run / "unet_state.pt", map_location="cpu", weights_only=False)
        return state["step"], state["wall"]
    rows = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    last = [r for r in rows if r.get("stage") == "unet"][-1]
    return last["step"], last["wall"]


def model_config_from(d: dict) -> WorldModelConfig:
    """A ``WorldModelConfig`` from its JSON form (lists back to tuples)."""
    return WorldModelConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def with_overrides(
    cfg: WorldModelConfig, tc: TrainConfig, items: list[str] | tuple[str, ...]
) -> tuple[WorldModelConfig, TrainConfig]:
    """``KEY=VALUE`` settings over the fields of the model (``WorldModelConfig``) and of its
    training (``TrainConfig``); VALUE is JSON (``unet_channels=[32,64,64]``, ``p_plain=0.1``).
    Raises ``ValueError`` naming the setting that is wrong."""
    from dataclasses import asdict, fields, replace

    model_f = {f.name for f in fields(WorldModelConfig)}
    for item in items:
        key, value = parse_setting(item, asdict(cfg) | asdict(tc))
        if key in model_f:
            cfg = replace(cfg, **{key: value})
        else:
            tc = replace(tc, **{key: value})
    return cfg, tc


# ---------------------------------------------------------------------------------------------
# Export


def export(out: Path, dest: Path, device: str = "cpu") -> Path:
    """Write the EMA weights of the latest checkpoint as a diffusers pipeline folder."""
    from diffusers import AutoencoderKL

    st = torch.load(out / "unet_state.pt", map_location=device, weights_only=False)
    cfg_dict = json.loads(st["model_config"])
    cfg = WorldModelConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in cfg_dict.items()}
    )
    tokenizer = build_tokenizer(cfg.max_tokens)
    text_encoder = build_text_encoder(cfg, tokenizer)
    unet = build_unet(cfg)
    params = [*unet.parameters(), *text_encoder.parameters()]
    with torch.no_grad():
        for p, s in zip(params, st["ema"], strict=True):
            p.copy_(s)
    vae = AutoencoderKL.from_pretrained(out / "vae")
    pipe = assemble_pipeline(vae, text_encoder, tokenizer, unet, build_scheduler())
    pipe.save_pretrained(dest)
    (dest / "README.md").write_text(model_card(out, st))
    return dest


def _json_or_none(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def model_card(out: Path, state: dict) -> str:
    """Provenance of an exported model: command, seed, steps, wall time, hardware, checks."""
    cfg = json.loads((out / "config.json").read_text())
    evals = [json.loads(x) for x in (out / "evals.jsonl").read_text().splitlines()]
    vae = next((e for e in reversed(evals) if e["stage"] == "vae_done"), {})
    check = next((e for e in reversed(evals) if e["stage"] in ("vae_done", "decoder_done")), {})
    decoder = next((e for e in reversed(evals) if e["stage"] == "decoder_done"), None)
    unet = [e for e in evals if e["stage"] == "unet"]
    vae_wall = vae.get("wall", 0.0)
    lines = [
        "# shapes-sd: a tiny Stable-Diffusion-architecture model of ShapesWorld",
        "",
        "AutoencoderKL (factor 8) + CLIP text encoder + UNet2DConditionModel with GLIGEN gated",
        "attention, trained from scratch on ShapesWorld 128x128 scenes (train-split seeds only).",
        "Load it like Stable Diffusion: `StableDiffusionPipeline.from_pretrained(path)` or",
        "`StableDiffusionGLIGENPipeline.from_pretrained(path)`.",
        "",
        f"- command: `{cfg.get('command', f'scenecraft train world-model --out {out}')}`",
        f"- seed: {cfg['train']['seed']}",
        f"- VAE steps: {vae.get('step')} ({vae_wall / 3600:.2f} h)",
        f"- UNet + text encoder steps: {state['step']} ({state['wall'] / 3600:.2f} h), "
        f"batch {cfg['train']['batch']}; EMA weights",
        f"- hardware: {cfg.get('hardware', 'unknown')}",
        *(
            [
                f"- the VAE and the first {prior['steps']} UNet steps (batch {prior['batch']}, "
                f"{prior['wall'] / 3600:.2f} h) ran on {prior['hardware']}: `{prior['command']}`; "
                "the run then continued here from those (EMA) weights with a fresh optimiser"
            ]
            if (prior := _json_or_none(out / PRIOR))
            else []
        ),
        *(
            [
                f"- the VAE came finished from `{vae_src['source']}`: trained on "
                f"{vae_src['hardware']} by `{vae_src['command']}` (seed {vae_src['seed']})"
            ]
            if (vae_src := _json_or_none(out / VAE_SOURCE))
            else []
        ),
        *(
            [
                f"- decoder-only fine-tuning: {decoder['step']} steps "
                f"({decoder['wall'] / 3600:.2f} h)"
            ]
            if decoder
            else []
        ),
        f"- VAE check on validation scenes: PSNR {check.get('psnr', float('nan')):.2f} dB, "
        f"detector reads the same objects in {check.get('detector_agreement', float('nan')):.0%} "
        "of scenes",
        "",
        "Judge accuracy of single-object samples during training (EMA, 20 DDIM steps, guidance 3):",
        "",
        "| step | right colour+shape, one object | shape | colour |",
        "|---|---|---|---|",
        *[
            f"| {e['step']} | {e['single_ok']:.2f} | {e['shape']:.2f} | {e['color']:.2f} |"
            for e in unet[-10:]
        ],
        "",
        "Full measurements: `scenecraft eval world-model --model <this folder>` and",
        "`python bench/diffusion.py --model <this folder>`.",
        "",
        "Configuration:",
        "",
        "```json",
        json.dumps(cfg, indent=1),
        "```",
        "",
    ]
    return "\n".join(lines)


def train(
    out: Path,
    steps: int | None = None,
    resume: bool = False,
    device: str = "cpu",
    latents: int | None = None,
    decoder_steps: int | None = None,
    config: WorldModelConfig | None = None,
    train_config: TrainConfig | None = None,
    command: str | None = None,
    init_from: Path | None = None,
    vae_from: Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> Path:
    """Run every stage not yet done, then export ``<out>/model``.

    ``command`` (the command line that started this call) goes into the model card;
    ``init_from`` adopts a model trained elsewhere, e.g. the shipped one (see ``adopt``);
    ``vae_from`` starts from a finished VAE (see ``adopt_vae``). ``overrides`` are ``KEY=VALUE``
    settings (see ``with_overrides``); a resumed or adopted run keeps the settings it had and
    the model it was built as, so only new settings need saying again.
    """
    out.mkdir(parents=True, exist_ok=True)
    started = any((out / n).exists() for n in ("vae_state.pt", "vae", "unet_state.pt"))
    if started and not resume:
        raise FileExistsError(f"{out} holds a run already; pass --resume to continue it")
    if init_from is not None:
        adopt(init_from, out)
    if vae_from is not None:
        adopt_vae(vae_from, out)
    saved = _json_or_none(out / "config.json") if resume else None
    prior = _json_or_none(out / PRIOR)
    inherited = (saved or {}).get("overrides") or [
        o
        for o in (prior or {}).get("overrides") or []
        if o.partition("=")[0].strip() not in HOST_SETTINGS  # the other machine's, not ours
    ]
    # one setting a field, the last said winning
    settings = list({o.partition("=")[0].strip(): o for o in [*inherited, *overrides]}.values())
    if config is None and (saved or prior):
        config = model_config_from(saved["model"] if saved else prior["model_config"])
    cfg, tc = with_overrides(config or WorldModelConfig(), train_config or TrainConfig(), settings)
    if steps is not None:
        tc = TrainConfig(**{**tc.__dict__, "unet_steps": steps})
    if latents is not None:
        tc = TrainConfig(**{**tc.__dict__, "n_latents": latents})
    if decoder_steps is not None:
        tc = TrainConfig(**{**tc.__dict__, "decoder_steps": decoder_steps})
    t_start = time.monotonic()
    command = command or f"scenecraft train world-model --out {out}"
    (out / "config.json").write_text(
        json.dumps(
            {
                "model": json.loads(cfg.to_json()),
                "train": tc.__dict__,
                "overrides": settings,
                "device": device,
                "hardware": _hardware(device),
                "command": command,
                "commands": [*(saved or {}).get("commands", []), command],
            },
            indent=1,
        )
    )
    if device == "cpu":
        torch.set_num_threads(min(2, os.cpu_count() or 1))
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    # rendered (or loaded) only if a stage still needs it; a resumed UNet stage does not
    bank = functools.cache(lambda: image_bank(out, tc.n_latents, cfg.image_size, tc.render_workers))
    train_vae(out, cfg, tc, device, bank)
    cache_latents(out, cfg, tc, device, bank)
    finetune_decoder(out, cfg, tc, device, bank)
    bank.cache_clear()
    deadline = t_start + tc.time_limit_s if tc.time_limit_s > 0 else None
    train_unet(out, cfg, tc, device, deadline=deadline)
    return export(out, out / "model")
