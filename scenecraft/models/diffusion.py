"""One backend for any diffusers text-to-image checkpoint (SD 1.x/2.x layout, GLIGEN or not).

These are the primitives SLD and SVGCraft are built from: a cached load, sampling with
progress/cancel/preview callbacks, DDIM inversion, box-grounded generation (GLIGEN), latent
freezing, and cross-attention capture. Nothing here assumes a resolution: any size the VAE factor
divides works, from the 128^2 ShapesWorld model to SD 1.5 at 512^2.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from einops import rearrange

from scenecraft.core.errors import ModelNotFound
from scenecraft.core.progress import Progress, ProgressFn
from scenecraft.models.layout_map import layout_channels, paint_layout
from scenecraft.shapesworld.render import to_png

# Folders a local diffusers text-to-image checkpoint needs, and a file that proves each is there.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "unet": ("config.json",),
    "vae": ("config.json",),
    "text_encoder": ("config.json",),
    "tokenizer": ("tokenizer.json", "vocab.json", "tokenizer_config.json"),
    "scheduler": ("scheduler_config.json",),
}
WEIGHT_SUFFIXES = (".safetensors", ".bin")
MAX_GLIGEN_OBJECTS = 30  # what GLIGEN was trained with; the diffusers pipeline pads to it too
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

_CACHE: dict[tuple[str, str, str], DiffusionModel] = {}


@dataclass
class DiffusionModel:
    """A loaded checkpoint: its components plus what the primitives need to know about it."""

    id: str
    device: torch.device
    dtype: torch.dtype
    pipe: Any  # diffusers StableDiffusionPipeline holding vae, text_encoder, tokenizer, unet

    @property
    def vae_factor(self) -> int:
        return 2 ** (len(self.pipe.vae.config.block_out_channels) - 1)

    @property
    def default_size(self) -> int:
        return self.pipe.unet.config.sample_size * self.vae_factor

    @property
    def has_gligen(self) -> bool:
        return hasattr(self.pipe.unet, "position_net")

    @property
    def latent_channels(self) -> int:
        return self.pipe.vae.config.latent_channels

    @property
    def layout_channels(self) -> int:
        """Channels of the layout map the UNet takes beside the latents (0: none)."""
        return layout_channels(self.pipe.unet.config, self.latent_channels)

    @property
    def can_ground(self) -> bool:
        """Box-grounded generation: GLIGEN layers, a layout map, or both."""
        return self.has_gligen or self.layout_channels > 0

    def gligen_pipeline(self):
        """The same components as a ``StableDiffusionGLIGENPipeline`` (no weights copied)."""
        from diffusers import StableDiffusionGLIGENPipeline

        if not self.has_gligen:
            raise ValueError(f"{self.id} has no GLIGEN layers (its UNet lacks position_net)")
        p = self.pipe
        return StableDiffusionGLIGENPipeline(
            vae=p.vae,
            text_encoder=p.text_encoder,
            tokenizer=p.tokenizer,
            unet=p.unet,
            scheduler=p.scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )


def _check_local(path: Path) -> None:
    """Raise ModelNotFound naming every component a local checkpoint folder lacks."""
    if not path.is_dir():
        raise ModelNotFound(
            f"diffusion checkpoint {str(path)!r} does not exist; train the embedded one with "
            "`scenecraft train world-model` or point SCENECRAFT_WORLD_MODEL at a diffusers folder"
        )
    missing = [] if (path / "model_index.json").is_file() else ["model_index.json"]
    for name, markers in COMPONENTS.items():
        sub = path / name
        if not any((sub / m).is_file() for m in markers):
            missing.append(f"{name}/ ({' or '.join(markers)})")
        elif name in ("unet", "vae", "text_encoder") and not any(
            f.name.endswith(WEIGHT_SUFFIXES) for f in sub.iterdir()
        ):
            missing.append(f"{name}/ weights (*.safetensors or *.bin)")
    if missing:
        raise ModelNotFound(f"diffusion checkpoint {str(path)!r} is missing: {', '.join(missing)}")


def _is_local(model_id: str) -> bool:
    p = Path(model_id).expanduser()
    return (
        p.exists() or p.is_absolute() or model_id.startswith((".", "~")) or model_id.count("/") != 1
    )


def load(
    model_id: str | Path,
    device: str | torch.device = "cpu",
    dtype: str = "float32",
    cache: dict | None = None,
) -> DiffusionModel:
    """Load a diffusers text-to-image checkpoint once per process, keyed by (id, device, dtype).

    ``model_id`` is a local folder or a hub id; hub ids are read from the local cache only
    (``local_files_only``), so nothing is downloaded at run time.
    """
    from diffusers import StableDiffusionPipeline

    model_id = str(model_id)
    torch_dtype = DTYPES[dtype]
    key = (
        str(Path(model_id).expanduser().resolve()) if _is_local(model_id) else model_id,
        str(torch.device(device)),
        dtype,
    )
    store = _CACHE if cache is None else cache
    if key in store:
        return store[key]
    if _is_local(model_id):
        _check_local(Path(model_id).expanduser())
    try:
        pipe = StableDiffusionPipeline.from_pretrained(
            key[0],
            dtype=torch_dtype,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
            local_files_only=True,
        )
    except (OSError, ValueError) as e:
        raise ModelNotFound(
            f"could not load diffusion checkpoint {model_id!r} from local files ({e}); "
            "download it into the Hugging Face cache on a machine with network access first"
        ) from e
    pipe.set_progress_bar_config(disable=True)
    pipe.to(device)
    model = DiffusionModel(id=model_id, device=torch.device(device), dtype=torch_dtype, pipe=pipe)
    store[key] = model
    return model


# ---------------------------------------------------------------------------------------------
# Cross-attention capture


@dataclass
class AttentionStore:
    """Cross-attention probabilities per token, summed over steps and layers per resolution.

    Only the conditional half of a classifier-free-guidance batch is kept.
    """

    steps: set[int] | None = None  # sampling steps to record (None: all)
    sums: dict[int, torch.Tensor] = field(default_factory=dict)  # side -> [B, T, side, side]
    counts: dict[int, int] = field(default_factory=dict)
    step: int = 0
    cond_offset: int = 0  # rows of the batch before the conditional half

    def add(self, probs: torch.Tensor, heads: int) -> None:
        if self.steps is not None and self.step not in self.steps:
            return
        maps = rearrange(probs, "(b h) n t -> b h n t", h=heads).mean(1)[self.cond_offset :]
        side = int(round(maps.shape[1] ** 0.5))
        maps = rearrange(maps.float(), "b (y x) t -> b t y x", y=side)  # assumes square latents
        self.sums[side] = self.sums.get(side, 0) + maps.detach().cpu()
        self.counts[side] = self.counts.get(side, 0) + 1

    def maps(self, size: int | None = None) -> torch.Tensor:
        """Mean attention map per token, [B, T, size, size] (default: the largest resolution)."""
        if not self.sums:
            raise RuntimeError("no cross-attention was recorded")
        size = size or max(self.sums)
        out = [
            torch.nn.functional.interpolate(s / self.counts[k], size=(size, size), mode="bilinear")
            for k, s in self.sums.items()
        ]
        return torch.stack(out).mean(0)


class _CaptureProcessor:
    """Plain attention that also hands its probabilities to an AttentionStore."""

    def __init__(self, store: AttentionStore):
        self.store = store

    def __call__(
        self,
        attn,
        hidden_states,
        encoder_hidden_states=None,
        attention_mask=None,
        temb=None,
        **kwargs,
    ):
        # cross-attention in transformer blocks always gets [B, N, C] tokens
        residual = hidden_states
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        if encoder_hidden_states is not None and attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        b = context.shape[0]
        attention_mask = attn.prepare_attention_mask(attention_mask, context.shape[1], b)
        q = attn.head_to_batch_dim(attn.to_q(hidden_states))
        k = attn.head_to_batch_dim(attn.to_k(context))
        v = attn.head_to_batch_dim(attn.to_v(context))
        probs = attn.get_attention_scores(q, k, attention_mask)  # [B*heads, N, T]
        self.store.add(probs, attn.heads)
        out = attn.batch_to_head_dim(torch.bmm(probs, v))
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


@contextmanager
def capture_cross_attention(unet, store: AttentionStore) -> Iterator[AttentionStore]:
    """Route every cross-attention layer (``attn2``) through a capturing processor."""
    original = unet.attn_processors
    procs = {
        name: _CaptureProcessor(store) if name.endswith("attn2.processor") else proc
        for name, proc in original.items()
    }
    unet.set_attn_processor(procs)
    try:
        yield store
    finally:
        unet.set_attn_processor(original)


# ---------------------------------------------------------------------------------------------
# Sampling


@dataclass
class FrozenLatents:
    """Hold latents under ``mask`` at given values for the first ``steps`` sampling steps, and
    under ``hold`` (if given) for every later step.

    ``values`` is one [B, C, h, w] tensor, or one per sampling step (e.g. an inversion
    trajectory from ``invert(...).for_sampling()``) so frozen regions follow the noise level;
    with ``hold``, one more entry after the last step's is what the held regions end as.
    ``mask`` and ``hold`` are [B or 1, 1, h, w] in [0, 1] at latent resolution.
    """

    mask: torch.Tensor
    values: torch.Tensor | Sequence[torch.Tensor]
    steps: int
    hold: torch.Tensor | None = None

    def apply(self, latents: torch.Tensor, step: int) -> torch.Tensor:
        if step >= self.steps and self.hold is None:
            return latents
        v = self.values if isinstance(self.values, torch.Tensor) else self.values[step]
        m = (self.mask if step < self.steps else self.hold).to(latents)
        return m * v.to(latents) + (1 - m) * latents


@dataclass
class Grounding:
    """Box grounding (GLIGEN and/or a layout map): one phrase per box, boxes ``[x, y, w, h]``
    in [0, 1]."""

    phrases: list[str]
    boxes: list[list[float]]
    fraction: float = 0.3  # share of the steps run with the GLIGEN layers on (GLIGEN's beta)
    # share of the steps given the layout map (UNets that take one): chosen by `scenecraft eval
    # layout-fraction` on tuning layouts (2026-12-05: 0.3 drew 0.36 of scene objects right in
    # their box, every step 0.07: the map then overrides what the text says the object is)
    layout_fraction: float = 0.3

    def __post_init__(self) -> None:
        if len(self.phrases) != len(self.boxes):
            raise ValueError(f"{len(self.phrases)} phrases for {len(self.boxes)} boxes")
        if len(self.boxes) > MAX_GLIGEN_OBJECTS:
            raise ValueError(f"at most {MAX_GLIGEN_OBJECTS} boxes, got {len(self.boxes)}")


@dataclass
class SampleOut:
    images: np.ndarray  # [B, H, W, 3] uint8
    latents: torch.Tensor  # [B, C, h, w] final (unscaled by the VAE factor) latents
    # with ``keep_trajectory``: entry i is the latent before sampling step i, the order of
    # ``Inversion.for_sampling``, so a generated object needs no inversion to be transplanted
    trajectory: list[torch.Tensor] | None = None


def _held_steps(freeze: FrozenLatents | None, latents: torch.Tensor) -> int:
    """Leading steps that need no UNet pass: while a per-step trajectory holds every latent, a
    step's output is overwritten by the next step's held value, so sampling can start at the last
    held step (SLD's final denoise after ops that only transplant objects: half its steps)."""
    if freeze is None or isinstance(freeze.values, torch.Tensor) or freeze.steps < 2:
        return 0
    if freeze.mask.shape[0] not in (1, latents.shape[0]) or not bool((freeze.mask >= 1).all()):
        return 0
    return min(freeze.steps, len(freeze.values)) - 1


def noised(
    model: DiffusionModel, latents: torch.Tensor, steps: int, generator: torch.Generator
) -> list[torch.Tensor]:
    """Clean latents noised to the level before every step of a ``steps``-step ``sample`` (one
    noise draw for all levels): a trajectory for ``FrozenLatents`` that starts a region from a
    given picture part way through the denoise (SDEdit's start) instead of from pure noise."""
    from diffusers import DDIMScheduler

    scheduler = DDIMScheduler.from_config(model.pipe.scheduler.config)
    scheduler.set_timesteps(steps, device=model.device)
    eps = torch.randn(latents.shape, generator=generator, dtype=torch.float32).to(latents)
    return [scheduler.add_noise(latents, eps, t.reshape(1)) for t in scheduler.timesteps]


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    """[B, 3, H, W] in [-1, 1] -> [B, H, W, 3] uint8."""
    x = ((x.float().clamp(-1, 1) + 1) * 127.5).round().byte()
    return rearrange(x, "b c h w -> b h w c").cpu().numpy()


def decode(model: DiffusionModel, latents: torch.Tensor) -> np.ndarray:
    """Latents (as sampled) -> [B, H, W, 3] uint8 images."""
    vae = model.pipe.vae
    with torch.no_grad():
        return _to_uint8(vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor).sample)


def encode(model: DiffusionModel, images: np.ndarray) -> torch.Tensor:
    """[B, H, W, 3] uint8 images -> latents (posterior means, scaled like sampled latents)."""
    vae = model.pipe.vae
    x = torch.from_numpy(np.array(images, copy=True)).to(model.device)  # inputs may be read-only
    x = rearrange(x, "b h w c -> b c h w").to(vae.dtype) / 127.5 - 1
    with torch.no_grad():
        return vae.encode(x).latent_dist.mode() * vae.config.scaling_factor


def _text(model: DiffusionModel, prompts: list[str], negative: list[str], cfg: bool):
    """Conditional (and unconditional) text embeddings, [B, T, D] each (uncond None if no CFG)."""
    cond, uncond = model.pipe.encode_prompt(
        prompts, model.device, 1, cfg, negative_prompt=negative if cfg else None
    )
    return cond, uncond


@torch.no_grad()
def _box_inputs(model: DiffusionModel, g: Grounding) -> tuple[torch.Tensor, ...]:
    """Boxes [N, 4] (x0, y0, x1, y1), phrase embeddings [N, D] and masks [N], padded to
    ``MAX_GLIGEN_OBJECTS`` as diffusers' GLIGEN pipeline pads them."""
    pipe = model.pipe
    n = len(g.boxes)
    boxes = torch.zeros(MAX_GLIGEN_OBJECTS, 4, device=model.device, dtype=model.dtype)
    emb = torch.zeros(
        MAX_GLIGEN_OBJECTS,
        pipe.unet.config.cross_attention_dim,
        device=model.device,
        dtype=model.dtype,
    )
    masks = torch.zeros(MAX_GLIGEN_OBJECTS, device=model.device, dtype=model.dtype)
    if n:
        boxes[:n] = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in g.boxes])
        tok = pipe.tokenizer(g.phrases, padding=True, return_tensors="pt").to(model.device)
        emb[:n] = pipe.text_encoder(**tok).pooler_output
        masks[:n] = 1
    return boxes, emb, masks


def _layout(model: DiffusionModel, g: Grounding | None, rows: int, h: int, w: int, cfg: bool):
    """The layout map for a batch of ``rows`` (uncond rows first under ``cfg``: all zero), or
    None where the UNet takes none."""
    c = model.layout_channels
    if not c:
        return None
    out = torch.zeros(rows, c, h, w, device=model.device, dtype=model.dtype)
    if g is not None and g.boxes:
        boxes, emb, masks = _box_inputs(model, g)
        out[rows // 2 if cfg else 0 :] = paint_layout(boxes[None], emb[None], masks[None], h, w)
    return out


@torch.no_grad()
def _gligen_kwargs(model: DiffusionModel, g: Grounding, batch: int, cfg: bool) -> dict:
    """GLIGEN's inputs exactly as diffusers' GLIGEN pipeline builds them (uncond: no boxes)."""
    boxes, emb, masks = _box_inputs(model, g)
    rows = batch * (2 if cfg else 1)
    kw = {
        "boxes": boxes.expand(rows, -1, -1).clone(),
        "positive_embeddings": emb.expand(rows, -1, -1).clone(),
        "masks": masks.expand(rows, -1).clone(),
    }
    if cfg:
        kw["masks"][:batch] = 0
    return kw


def _set_fuser(unet, enabled: bool) -> None:
    from diffusers.models.attention import GatedSelfAttentionDense

    for m in unet.modules():
        if isinstance(m, GatedSelfAttentionDense):
            m.enabled = enabled


@torch.no_grad()
def sample(
    model: DiffusionModel,
    prompt: str | list[str],
    *,
    negative_prompt: str | list[str] = "",
    height: int | None = None,
    width: int | None = None,
    steps: int = 25,
    guidance: float = 3.0,
    generator: torch.Generator | None = None,
    latents: torch.Tensor | None = None,
    grounding: Grounding | None = None,
    freeze: FrozenLatents | None = None,
    attention: AttentionStore | None = None,
    progress: ProgressFn | None = None,
    preview_every: int = 5,
    preview_min_s: float = 1.0,
    keep_trajectory: bool = False,
    peek: Callable[[int, torch.Tensor], None] | None = None,
) -> SampleOut:
    """Text-to-image with DDIM; every primitive SLD and SVGCraft need is a keyword.

    Args:
        prompt: one prompt or a batch of prompts.
        height, width: pixels; multiples of the VAE factor (default: the model's native size).
        steps: DDIM steps.
        guidance: classifier-free guidance scale (<= 1 disables the unconditional pass).
        generator: seeds the initial noise (CPU generator: same noise on every device).
        latents: start from these [B, C, h, w] latents instead of noise (e.g. inverted ones).
        grounding: GLIGEN phrases + boxes (the UNet must have GLIGEN layers).
        freeze: latents held under a mask for the first steps (SLD / SVGCraft latent ops).
        attention: collects cross-attention maps per token.
        progress: called after every step (stage ``denoise``, a PNG preview now and then);
            raising from it (``Cancelled``) stops at once.
        preview_every, preview_min_s: decode a preview every N steps, at most once per interval.
        keep_trajectory: also return the latent before every step (``SampleOut.trajectory``).
        peek: called after every step with (steps done, the scheduler's prediction of the clean
            latents); raising from it abandons the sample (SLD can drop an added object that is
            not forming before paying for its remaining steps).
    """
    from diffusers import DDIMScheduler

    pipe = model.pipe
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    batch = len(prompts)
    negatives = [negative_prompt] * batch if isinstance(negative_prompt, str) else negative_prompt
    f = model.vae_factor
    height, width = height or model.default_size, width or model.default_size
    if height % f or width % f:
        raise ValueError(f"height and width must be multiples of {f}, got {width}x{height}")
    if grounding is not None and not model.can_ground:
        raise ValueError(
            f"{model.id} has no GLIGEN layers and no layout map; box-grounded generation "
            "needs a UNet with either"
        )
    cfg = guidance > 1.0
    cond, uncond = _text(model, prompts, negatives, cfg)
    context = torch.cat([uncond, cond]) if cfg else cond  # [B or 2B, T, D]
    # DDIM from the checkpoint's noise schedule, per call (thread-safe, and what inversion mirrors)
    scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    scheduler.set_timesteps(steps, device=model.device)
    shape = (batch, model.latent_channels, height // f, width // f)
    if latents is None:
        latents = torch.randn(shape, generator=generator, dtype=torch.float32)
        latents = latents.to(model.device) * scheduler.init_noise_sigma
    latents = latents.to(model.device, model.dtype)
    kwargs: dict[str, Any] = {}
    if grounding is not None and model.has_gligen:
        kwargs["gligen"] = _gligen_kwargs(model, grounding, batch, cfg)
    grounded_steps = int(grounding.fraction * steps) if grounding is not None else 0
    rows = batch * (2 if cfg else 1)
    layout = _layout(model, grounding, rows, height // f, width // f, cfg)
    no_layout = _layout(model, None, rows, height // f, width // f, cfg)
    layout_steps = int(grounding.layout_fraction * steps) if grounding is not None else 0
    if attention is not None:
        attention.cond_offset = batch if cfg else 0
    last_preview = -float("inf")
    trajectory: list[torch.Tensor] | None = [] if keep_trajectory else None
    with ExitStack() as stack:
        if attention is not None:
            stack.enter_context(capture_cross_attention(pipe.unet, attention))
        stack.callback(_set_fuser, pipe.unet, True)  # leave the UNet as we found it
        _set_fuser(pipe.unet, True)
        skip = _held_steps(freeze, latents)
        for i, t in enumerate(scheduler.timesteps):
            if i < skip:  # held everywhere: this step's UNet output would be overwritten
                if trajectory is not None:
                    trajectory.append(freeze.apply(latents, i).clone())
                continue
            if freeze is not None:
                latents = freeze.apply(latents, i)
            if trajectory is not None:
                trajectory.append(latents.clone())
            if attention is not None:
                attention.step = i
            if grounding is not None and i == max(grounded_steps, skip):
                _set_fuser(pipe.unet, False)  # GLIGEN's scheduled sampling
            x = torch.cat([latents] * 2) if cfg else latents
            x = scheduler.scale_model_input(x, t)
            if layout is not None:
                x = torch.cat([x, layout if i < layout_steps else no_layout], dim=1)
            # the UNet pops "gligen" from its kwargs, so pass a fresh dict each step
            out = pipe.unet(x, t, context, cross_attention_kwargs=dict(kwargs) or None).sample
            if cfg:
                out_u, out_c = out.chunk(2)
                out = out_u + guidance * (out_c - out_u)
            stepped = scheduler.step(out, t, latents)
            latents = stepped.prev_sample
            if peek is not None:
                x0 = getattr(stepped, "pred_original_sample", None)
                peek(i + 1, latents if x0 is None else x0)
            if progress is not None:
                png = None
                now = time.monotonic()
                if (i + 1) % preview_every == 0 and now - last_preview >= preview_min_s:
                    last_preview = now
                    x0 = getattr(stepped, "pred_original_sample", None)
                    png = to_png(decode(model, (latents if x0 is None else x0)[:1])[0])
                progress(Progress("denoise", i + 1, steps, png))
    if freeze is not None and freeze.hold is not None and len(freeze.values) > steps:
        latents = freeze.apply(latents, steps)  # the held regions' own final latents
    return SampleOut(images=decode(model, latents), latents=latents, trajectory=trajectory)


# ---------------------------------------------------------------------------------------------
# DDIM inversion


@dataclass
class Inversion:
    latents: torch.Tensor  # [B, C, h, w] at the last (noisiest) timestep: start sampling here
    trajectory: list[torch.Tensor]  # [z_0, z_1, ..., z_T]: after 0, 1, ..., steps inverse steps

    def for_sampling(self) -> list[torch.Tensor]:
        """The trajectory in sampling order: entry i is the latent before sampling step i."""
        return self.trajectory[:0:-1]


@torch.no_grad()
def invert(
    model: DiffusionModel,
    images: np.ndarray,
    prompt: str | list[str] = "",
    *,
    steps: int = 25,
    guidance: float = 1.0,
    progress: ProgressFn | None = None,
) -> Inversion:
    """DDIM inversion (diffusers' DDIMInverseScheduler) of [B, H, W, 3] uint8 images.

    Sampling from ``latents`` with the same prompt, step count and ``guidance`` regenerates the
    images up to the inversion error.
    """
    from diffusers import DDIMInverseScheduler

    pipe = model.pipe
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    prompts = [prompt] * len(images) if isinstance(prompt, str) else list(prompt)
    cfg = guidance > 1.0
    cond, uncond = _text(model, prompts, [""] * len(prompts), cfg)
    context = torch.cat([uncond, cond]) if cfg else cond
    inverse = DDIMInverseScheduler.from_config(pipe.scheduler.config)
    inverse.set_timesteps(steps, device=model.device)
    latents = encode(model, images)
    trajectory = [latents]
    for i, t in enumerate(inverse.timesteps):
        x = inverse.scale_model_input(torch.cat([latents] * 2) if cfg else latents, t)
        if model.layout_channels:  # no layout: the map is zero
            x = torch.cat([x, x.new_zeros(x.shape[0], model.layout_channels, *x.shape[2:])], 1)
        out = pipe.unet(x, t, context).sample
        if cfg:
            out_u, out_c = out.chunk(2)
            out = out_u + guidance * (out_c - out_u)
        latents = inverse.step(out, t, latents).prev_sample
        trajectory.append(latents)
        if progress is not None:
            progress(Progress("invert", i + 1, steps))
    return Inversion(latents=latents, trajectory=trajectory)
