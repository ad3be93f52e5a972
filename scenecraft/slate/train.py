"""Training SLATE: the dVAE first, then Slot Attention + decoders on the frozen dVAE's tokens.

The dVAE's encoder starts from k-means clusters of image patches (``DVAE.init_codebook``).

The reference trains everything jointly, but its decoder already learns from *detached* tokens;
freezing a trained dVAE and caching every image's tokens gives the same objective with no image
convolutions in the main loop, which is what makes CPU training feasible. Every step seeds its own
RNG from (seed, step), so a resumed run takes exactly the steps an uninterrupted one would.
Checkpoints (``model.safetensors``, ``config.json``, ``train_state.pt``) are written atomically
every ``checkpoint_every_s`` seconds, at the end of each stage, and when the run is interrupted or
cancelled; each one evaluates on a fixed validation sample and appends to ``log.jsonl``. A finished
run writes its concept library (``concepts.json`` + ``concepts.safetensors``) beside the weights;
running again with ``steps`` at or below the checkpoint's step only rebuilds the library.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenecraft.core.progress import Progress, ProgressFn
from scenecraft.slate.checkpoint import save_model
from scenecraft.slate.concepts import build_library
from scenecraft.slate.config import SHIP, SlateConfig
from scenecraft.slate.data import ImageSet, cached_shapes_world, image_folder, to_tensor
from scenecraft.slate.dvae import cosine_tau, perplexity
from scenecraft.slate.metrics import fg_ari
from scenecraft.slate.model import Slate

STATE = "train_state.pt"
BEST_DVAE = "dvae-best.safetensors"
LOG = "log.jsonl"
EVAL_SEED = 1234  # slot initialisation of every validation pass, so numbers are comparable


@dataclass
class TrainSpec:
    out: Path
    config: SlateConfig = SHIP
    steps: int = 20000  # slot-attention + decoder steps, after the dVAE
    dvae_steps: int | None = None  # default: the temperature schedule's length
    train_images: int = 10000
    val_images: int = 64
    images: Path | None = None  # a folder of the user's images instead of ShapesWorld
    seed: int = 0
    device: str = "cpu"
    checkpoint_every_s: float = 300.0
    library_images: int = 2000  # training images whose slots make up the concept library
    library_clusters: int = 256  # fine clusters stay pure: slots also encode position
    time_limit_s: float = 0.0  # stop training after this many seconds of this call (0: none)
    # a finished checkpoint folder (weights + config + log.jsonl) to continue from in a new run:
    # its dVAE is kept, the slot model goes on with a fresh optimiser (e.g. one whose optimiser
    # state stayed on a leased GPU); used only when ``out`` holds no run yet
    init_from: Path | None = None
    # a finished checkpoint whose slot model (Slot Attention, positions, decoders) starts this
    # run's, but not its dVAE or anything indexed by token (token embedding, output heads): a
    # new dVAE's tokens mean other things, the grouping machinery carries over
    warm_start: Path | None = None

    @property
    def n_dvae_steps(self) -> int:
        return self.config.tau_steps if self.dvae_steps is None else self.dvae_steps


@dataclass
class TrainState:
    codebook_initialised: bool = False
    dvae_step: int = 0
    step: int = 0
    seconds: float = 0.0  # training wall time summed over every session
    # the dVAE checkpoint with the lowest validation MSE of its hard tokens; the slot stage starts
    # from it (a Gumbel dVAE can collapse late in its tau schedule, see ``_select_dvae``)
    best_dvae_step: int = -1
    best_dvae_mse: float = math.inf
    dvae_selected: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


def _seed_step(seed: int, stage: int, step: int) -> torch.Generator:
    s = (seed * 1_000_003 + stage * 100_000_007 + step) % 2**63
    torch.manual_seed(s)  # gumbel noise and slot initialisation use the global RNG
    return torch.Generator().manual_seed(s)


def load_data(spec: TrainSpec) -> tuple[ImageSet, ImageSet]:
    """(train, validation) images; validation has instance masks for FG-ARI when rendered."""
    size = spec.config.image_size
    if spec.images is not None:
        data = image_folder(spec.images, size)
        n_val = min(spec.val_images, max(len(data) // 10, 1))
        return ImageSet(data.images[n_val:]), ImageSet(data.images[:n_val])
    cache = Path(spec.out) / "data"
    train = cached_shapes_world(cache, "train", spec.train_images, size)
    # validation matches the benchmark: 2-5 objects per scene
    val = cached_shapes_world(cache, "val", spec.val_images, size, min_objects=2)
    return train, val


@torch.no_grad()
def evaluate(model: Slate, val: ImageSet, device: str | torch.device = "cpu") -> dict[str, float]:
    """Validation losses and (when masks are known) FG-ARI of the slot-attention masks."""
    model.eval()
    image = to_tensor(val.images, device)
    g = torch.Generator().manual_seed(EVAL_SEED)
    mse, _ = model.dvae.loss(image, model.cfg.tau_end)
    tokens = model.dvae.tokens(image)
    hard = model.dvae.decode_tokens(tokens)  # what the slot stage's tokens draw: no Gumbel noise
    out = model.token_loss(tokens, g)
    result = {
        "val_mse": mse.item() / image[0].numel(),
        "val_mse_tokens": ((hard - image) ** 2).mean().item(),
        "val_perplexity": perplexity(tokens, model.cfg.vocab_size),
        "val_ce": out["ce"].item(),
    }
    if "mixture_ce" in out:
        result["val_mixture_ce"] = out["mixture_ce"].item()
    if val.masks is not None:
        masks = model.masks(out["attn"]).cpu().numpy()  # [B, K, H, W]
        result["fg_ari"] = float(
            np.mean([fg_ari(t, m) for t, m in zip(val.masks, masks, strict=True)])
        )
    model.train()
    return result


@torch.no_grad()
def encode_tokens(model: Slate, images: np.ndarray, device, batch: int = 256) -> torch.Tensor:
    """Token grids [N, h, w] of uint8 images [N, H, W, 3], from the (frozen) dVAE."""
    chunks = [
        model.dvae.tokens(to_tensor(images[i : i + batch], device)).cpu()
        for i in range(0, len(images), batch)
    ]
    return torch.cat(chunks).to(torch.int16)  # vocabularies here are < 32k


class Trainer:
    """One training run in ``spec.out``: resumes from whatever checkpoint is there."""

    def __init__(self, spec: TrainSpec, progress: ProgressFn | None = None):
        self.spec = spec
        self.out = Path(spec.out)
        self.progress = progress or (lambda p: None)
        self.device = torch.device(spec.device)
        self.out.mkdir(parents=True, exist_ok=True)
        cfg = spec.config
        if (self.out / "config.json").exists():
            saved = SlateConfig.load(self.out / "config.json")
            if saved != cfg:
                raise ValueError(
                    f"{self.out} holds a run with a different config; resume with the same "
                    "preset or choose a new --out"
                )
        torch.manual_seed(spec.seed)
        self.model = Slate(cfg).to(self.device)
        self.opt_dvae = torch.optim.Adam(self.model.dvae.parameters(), lr=cfg.lr_dvae)
        rest = [p for n, p in self.model.named_parameters() if not n.startswith("dvae.")]
        self.opt = torch.optim.Adam(rest, lr=cfg.lr)
        self.state = TrainState()
        if (self.out / STATE).exists():
            self._load()
        elif spec.init_from is not None or spec.warm_start is not None:
            if spec.init_from is not None:
                self._adopt(Path(spec.init_from))
            if spec.warm_start is not None:
                self._warm_start(Path(spec.warm_start))
            self.checkpoint(None)  # the run folder holds a complete checkpoint from the start
        self._last_save = time.monotonic()

    def _adopt(self, source: Path) -> None:
        """Start from a finished checkpoint: its weights, counters and history; dVAE done."""
        from safetensors.torch import load_file

        lacking = [
            n for n in ("config.json", "model.safetensors", LOG) if not (source / n).is_file()
        ]
        if lacking:
            raise ValueError(f"--init-from {source}: no {', '.join(lacking)} there")
        theirs = SlateConfig.load(source / "config.json").model_fields()
        ours = self.spec.config.model_fields()
        # a token context the source lacks may be added: it starts as the identity
        adds_context = theirs["slot_encoder_convs"] == 0 < ours["slot_encoder_convs"]
        if adds_context:
            theirs["slot_encoder_convs"] = ours["slot_encoder_convs"]
        adds_code = ours["slot_mask_code"] and not theirs["slot_mask_code"]  # starts as no code
        if adds_code:
            theirs["slot_mask_code"] = True
        if theirs["mixture_weight"] > 0 and ours["mixture_weight"] > 0:
            theirs["mixture_weight"] = ours["mixture_weight"]  # a loss weight: same weights
        if theirs != ours:
            diff = ", ".join(f"{k} {theirs[k]} vs {ours[k]}" for k in ours if theirs[k] != ours[k])
            raise ValueError(f"{source} was trained with another model config ({diff})")
        missing, _ = self.model.load_state_dict(
            load_file(source / "model.safetensors"), strict=not (adds_context or adds_code)
        )
        if any(not k.startswith(("context.", "mask_code.")) for k in missing):
            raise ValueError(f"{source} lacks {', '.join(missing[:5])}")
        history = [json.loads(x) for x in (source / LOG).read_text().splitlines() if x.strip()]
        last = history[-1]
        self.state = TrainState(
            codebook_initialised=True,
            dvae_step=max(last["dvae_step"], self.spec.n_dvae_steps),
            step=last["step"],
            seconds=last["seconds"],
            history=history,
        )
        with open(self.out / LOG, "w") as f:
            f.writelines(json.dumps(h) + "\n" for h in history)

    def _warm_start(self, source: Path) -> None:
        """Load ``source``'s weights outside the dVAE and the token-indexed layers (and outside
        a token context it was trained without)."""
        from safetensors.torch import load_file

        if not (source / "model.safetensors").is_file():
            raise ValueError(f"--warm-start {source}: no model.safetensors there")
        theirs = load_file(source / "model.safetensors")
        ours = self.model.state_dict()
        skipped = ("dvae.", "tok_emb.", "decoder.head.", "mixture.readout.")
        take = {k: v for k, v in theirs.items() if not k.startswith(skipped)}
        wrong = sorted(k for k, v in take.items() if k not in ours or ours[k].shape != v.shape)
        if wrong:
            raise ValueError(
                f"{source} does not fit this config's slot model: {', '.join(wrong[:5])}"
            )
        # a token context or mask code the source lacks starts as the identity (zero-initialised)
        fresh = (*skipped, "context.", "mask_code.")
        missing = sorted(k for k in ours if not k.startswith(fresh) and k not in take)
        if missing:
            raise ValueError(f"{source} lacks {', '.join(missing[:5])}")
        self.model.load_state_dict(take, strict=False)

    def _load(self) -> None:
        from safetensors.torch import load_file

        ckpt = torch.load(self.out / STATE, map_location=self.device, weights_only=False)
        self.model.load_state_dict(load_file(self.out / "model.safetensors"))
        self.model.to(self.device)
        self.opt_dvae.load_state_dict(ckpt["opt_dvae"])
        self.opt.load_state_dict(ckpt["opt"])
        self.state = TrainState(**ckpt["state"])

    def checkpoint(self, val: ImageSet | None) -> dict[str, float]:
        """Save weights, optimiser and counters; evaluate on ``val`` and log the numbers."""
        numbers = evaluate(self.model, val, self.device) if val is not None else {}
        entry = {
            "dvae_step": self.state.dvae_step,
            "step": self.state.step,
            "seconds": round(self.state.seconds, 1),
            **{k: round(v, 5) for k, v in numbers.items()},
        }
        self.state.history.append(entry)
        save_model(self.model, self.out)
        in_dvae_stage = self.state.step == 0 and not self.state.dvae_selected
        if in_dvae_stage and numbers.get("val_mse_tokens", math.inf) < self.state.best_dvae_mse:
            from safetensors.torch import save_file

            self.state.best_dvae_step = self.state.dvae_step
            self.state.best_dvae_mse = numbers["val_mse_tokens"]
            weights = {k: v.contiguous() for k, v in self.model.dvae.state_dict().items()}
            save_file(weights, self.out / (BEST_DVAE + ".tmp"))
            os.replace(self.out / (BEST_DVAE + ".tmp"), self.out / BEST_DVAE)
        tmp = self.out / (STATE + ".tmp")
        torch.save(
            {
                "opt_dvae": self.opt_dvae.state_dict(),
                "opt": self.opt.state_dict(),
                "state": asdict(self.state),
                "spec": {k: str(v) for k, v in asdict(self.spec).items() if k != "config"},
            },
            tmp,
        )
        os.replace(tmp, self.out / STATE)
        with open(self.out / LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")
        self._last_save = time.monotonic()
        return numbers

    def _due(self) -> bool:
        return time.monotonic() - self._last_save >= self.spec.checkpoint_every_s

    def run(self) -> dict[str, Any]:
        """Train to ``spec.steps``; returns the last checkpoint's numbers and counters."""
        spec, cfg, model = self.spec, self.spec.config, self.model
        train, val = load_data(spec)
        model.train()
        t_start, s_start = time.monotonic(), self.state.seconds

        def out_of_time() -> bool:
            return spec.time_limit_s > 0 and time.monotonic() - t_start >= spec.time_limit_s

        try:
            if cfg.dvae_init_steps > 0 and not self.state.codebook_initialised:
                self.progress(Progress("codebook", 0, 1))
                _seed_step(spec.seed, 2, 0)
                first = to_tensor(train.images[:2000], self.device)
                ce = model.dvae.init_codebook(first, cfg.dvae_init_steps, seed=spec.seed)
                self.state.codebook_initialised = True
                self.progress(Progress("codebook", 1, 1, numbers={"ce": ce}))
            while self.state.dvae_step < spec.n_dvae_steps and not out_of_time():
                step = self.state.dvae_step
                g = _seed_step(spec.seed, 0, step)
                idx = torch.randint(len(train), (cfg.batch_size,), generator=g).numpy()
                batch = to_tensor(train.images[idx], self.device)  # [B, 3, H, W]
                loss, _ = model.dvae.loss(batch, cosine_tau(step, cfg), cfg.dvae_usage_weight)
                self.opt_dvae.zero_grad(set_to_none=True)
                loss.backward()
                self.opt_dvae.step()
                self.state.dvae_step += 1
                self.state.seconds = s_start + time.monotonic() - t_start
                if self._due() or self.state.dvae_step == spec.n_dvae_steps:
                    self.checkpoint(val)
                self.progress(
                    Progress("dvae", step + 1, spec.n_dvae_steps, numbers={"loss": loss.item()})
                )
            if self.state.dvae_step >= spec.n_dvae_steps:
                self._select_dvae(val)
            tokens = self._tokens(train)
            for p in model.dvae.parameters():
                p.requires_grad_(False)
            while self.state.step < spec.steps and not out_of_time():
                step = self.state.step
                g = _seed_step(spec.seed, 1, step)
                idx = torch.randint(len(tokens), (cfg.batch_size,), generator=g)
                out = model.token_loss(tokens[idx].long().to(self.device), g)
                self._set_lr(step)
                self.opt.zero_grad(set_to_none=True)
                out["loss"].backward()
                if cfg.grad_clip > 0:
                    params = [p for group in self.opt.param_groups for p in group["params"]]
                    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                self.opt.step()
                self.state.step += 1
                self.state.seconds = s_start + time.monotonic() - t_start
                numbers = {k: v.item() for k, v in out.items() if k != "attn"}
                if self._due() or self.state.step == spec.steps:
                    numbers |= self.checkpoint(val)
                self.progress(Progress("slate", step + 1, spec.steps, numbers=numbers))
            if self.state.step < spec.steps:  # stopped by the time limit: checkpoint, evaluated
                self.checkpoint(val)
        except BaseException:
            # cancelled, interrupted or failed: keep what was learned so a rerun resumes here
            self.state.seconds = s_start + time.monotonic() - t_start
            self.checkpoint(None)
            raise
        if spec.steps > 0:  # a dVAE-only run (steps 0) has no slots worth clustering
            self.progress(Progress("concepts", 0, 1))
            images = ImageSet(train.images[: spec.library_images])
            build_library(model, images, spec.library_clusters, spec.seed).save(self.out)
            self.progress(Progress("concepts", 1, 1))
        last = next((h for h in reversed(self.state.history) if "val_ce" in h), {})
        return {"out": str(self.out), **last}

    def _select_dvae(self, val: ImageSet) -> None:
        """Once, at the end of the dVAE stage: go back to the dVAE checkpoint whose hard tokens
        reconstructed the validation scenes best, if that is not the last one.

        Without it a late collapse (validation MSE 0.0010 -> 0.0072 within 400 steps at tau about
        0.35 in one CPU run, the codebook down to perplexity 2.2) would go on into the slot stage.
        """
        if self.state.dvae_selected or self.state.step > 0:
            return
        last = self.state.history[-1] if self.state.history else {}
        best = self.out / BEST_DVAE
        if (
            best.exists()
            and last.get("dvae_step") == self.state.dvae_step
            and last.get("val_mse_tokens", math.inf) > self.state.best_dvae_mse
        ):
            from safetensors.torch import load_file

            self.model.dvae.load_state_dict(load_file(best, device=str(self.device)))
            self.state.dvae_selected = True
            self.checkpoint(val)  # the log's last dVAE entry is the one the slot stage starts from
            restored = {"restored_step": self.state.best_dvae_step}
            self.progress(
                Progress("dvae", self.state.dvae_step, self.spec.n_dvae_steps, numbers=restored)
            )
        self.state.dvae_selected = True

    def _set_lr(self, step: int) -> None:
        cfg = self.spec.config
        warm, start, end = cfg.warmup_steps, cfg.lr_decay_from, self.spec.steps
        scale = min(1.0, (step + 1) / warm) if warm > 0 else 1.0
        if 0 < start <= step and end > start:  # cosine from lr at ``start`` to 0 at ``end``
            scale *= 0.5 * (1 + math.cos(math.pi * min(1.0, (step - start) / (end - start))))
        for group in self.opt.param_groups:
            group["lr"] = self.spec.config.lr * scale

    def _tokens(self, train: ImageSet) -> torch.Tensor:
        """Every training image's tokens under the final dVAE, cached beside the checkpoint."""
        path = self.out / f"tokens-{self.state.dvae_step}.pt"
        if path.exists():
            return torch.load(path)
        self.progress(Progress("tokens", 0, 1))
        tokens = encode_tokens(self.model, train.images, self.device)
        torch.save(tokens, path.with_suffix(".tmp"))
        os.replace(path.with_suffix(".tmp"), path)
        self.progress(Progress("tokens", 1, 1))
        return tokens


def train(spec: TrainSpec, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Train (or resume) a SLATE run in ``spec.out``; see ``Trainer``. ``progress`` gets every
    step with its losses; raising from it (``Cancelled``) stops after a checkpoint."""
    return Trainer(spec, progress).run()
