"""Components of the world model, built from configs: tokenizer, text encoder, VAE, UNet, scheduler.

Every part is a stock diffusers / transformers class, so the trained folder loads with
``StableDiffusionPipeline.from_pretrained`` exactly like Stable Diffusion 1.x with GLIGEN.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import asdict, dataclass

from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

from scenecraft.shapesworld.grammar import (
    BACKGROUNDS,
    COLORS,
    NUMBER_WORDS,
    RELATIONS,
    SHAPES,
    SIZES,
    plural,
)

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
# Words the prompt grammar and the benchmark use besides shapes, colours and sizes.
GLUE_WORDS = (
    "a an and the of to on in with without any no not none single couple pair empty scene "
    "background gradient next between beside objects object"
)


@dataclass(frozen=True)
class WorldModelConfig:
    """Sizes of every component; the defaults are the shipped model."""

    image_size: int = 128
    # 8, not SD's 4: at 128 px a small shape covers 2x2 latents, and 4 channels there could not
    # keep a star apart from a hexagon (session 1: the detector read back 66% of scenes)
    latent_channels: int = 8
    vae_channels: tuple[int, ...] = (32, 64, 64, 64)  # factor 2**(len-1) = 8 -> 16x16 latents
    text_hidden: int = 128
    text_layers: int = 3
    text_heads: int = 4
    max_tokens: int = 32  # longest 5-object caption is about 22 tokens
    unet_channels: tuple[int, ...] = (64, 128, 128)
    # cross-attention (and GLIGEN gated self-attention) only where latents are small
    unet_down: tuple[str, ...] = ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D")
    unet_up: tuple[str, ...] = ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D")
    unet_head_dim: int = 32
    unet_layers: int = 1
    # the layout as extra input channels (scenecraft/models/layout_map.py) beside GLIGEN
    layout_map: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def vocabulary_words() -> list[str]:
    """Every word the ShapesWorld grammar writes, so each becomes exactly one token."""
    words = set(GLUE_WORDS.split())
    words |= set(SHAPES) | {plural(s) for s in SHAPES} | set(COLORS) | set(SIZES)
    words |= {w for name in BACKGROUNDS for w in name.split()}
    words |= {w for r in RELATIONS for w in r.split()} | {"left", "right"}
    words |= set(NUMBER_WORDS.values())
    return sorted(words)


SUFFIX = "</w>"  # CLIP's end-of-word mark on a word's last symbol


def _merge(symbols: list[str], pair: tuple[str, str]) -> list[str]:
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def bpe_merges(words: list[str]) -> list[tuple[str, str]]:
    """Classic BPE (Sennrich et al. 2016) over ``words`` (byte-level symbols), each counted once:
    merge the most frequent adjacent pair, ties broken by the pair itself, until every word is
    one symbol. Applying the merges in this order, as CLIPTokenizer does, turns each word back
    into one token.

    Written out because the ``tokenizers`` trainer breaks ties through hash maps seeded anew in
    every call: two builds gave "a", "in" and "no" different ids, so a run that rebuilt its
    tokenizer (resume, export) fed its text encoder the wrong ids for them.
    """
    seqs = [[*w[:-1], w[-1] + SUFFIX] for w in words]
    merges: list[tuple[str, str]] = []
    while True:
        counts = Counter(pair for s in seqs for pair in itertools.pairwise(s))
        if not counts:
            return merges
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        merges.append(best)
        seqs = [_merge(s, best) if len(s) > 1 else s for s in seqs]


def build_tokenizer(max_tokens: int) -> CLIPTokenizer:
    """A CLIP BPE tokenizer whose merges make every ShapesWorld word one token; the same
    vocabulary and merges in every build.

    Its alphabet is CLIP's: every byte as a symbol, alone and with the end-of-word mark, so
    any text tokenises (unknown words fall back to pieces)."""
    unicode_of = bytes_to_unicode()
    byte_chars = list(unicode_of.values())  # byte order
    words = ["".join(unicode_of[b] for b in w.encode()) for w in vocabulary_words()]
    merges = bpe_merges(words)
    tokens = [BOS, EOS, *byte_chars, *(c + SUFFIX for c in byte_chars)]
    tokens += list(dict.fromkeys(a + b for a, b in merges))
    return CLIPTokenizer(
        vocab={t: i for i, t in enumerate(tokens)}, merges=merges, model_max_length=max_tokens
    )


def build_text_encoder(cfg: WorldModelConfig, tokenizer: CLIPTokenizer) -> CLIPTextModel:
    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.text_hidden,
        intermediate_size=cfg.text_hidden * 4,
        num_hidden_layers=cfg.text_layers,
        num_attention_heads=cfg.text_heads,
        max_position_embeddings=cfg.max_tokens,
        projection_dim=cfg.text_hidden,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return CLIPTextModel(config)


def build_vae(cfg: WorldModelConfig) -> AutoencoderKL:
    n = len(cfg.vae_channels)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=cfg.vae_channels,
        layers_per_block=1,
        latent_channels=cfg.latent_channels,
        norm_num_groups=16,
        sample_size=cfg.image_size,
        # no attention: the VAE is fully convolutional, so it trains on crops and runs at any size
        mid_block_add_attention=False,
    )


def build_unet(cfg: WorldModelConfig) -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=cfg.image_size // 2 ** (len(cfg.vae_channels) - 1),
        in_channels=cfg.latent_channels + (cfg.text_hidden + 1 if cfg.layout_map else 0),
        out_channels=cfg.latent_channels,
        down_block_types=cfg.unet_down,
        up_block_types=cfg.unet_up,
        block_out_channels=cfg.unet_channels,
        layers_per_block=cfg.unet_layers,
        cross_attention_dim=cfg.text_hidden,
        attention_head_dim=cfg.unet_head_dim,
        norm_num_groups=32,
        attention_type="gated",  # GLIGEN: gated self-attention over visual + box tokens
    )


def build_scheduler() -> DDIMScheduler:
    """SD's noise schedule, rescaled to zero terminal SNR, with v-prediction.

    Zero terminal SNR lets the model make the light backgrounds ShapesWorld is full of (SD's
    schedule leaks the mean of the image at t = T and samples come out mid-grey).
    """
    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        timestep_spacing="trailing",
    )


def assemble_pipeline(vae, text_encoder, tokenizer, unet, scheduler):
    """The components as a ``StableDiffusionPipeline`` (no safety checker), progress bar off."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe
