"""The autoregressive transformer decoder: predicts dVAE tokens from slots, with a KV cache.

The reference decoder recomputed the whole prefix for every generated token (quadratic work per
image). Here each block keeps its self-attention keys/values in a preallocated cache, and the
slots' cross-attention keys/values are computed once, so a token costs one position's work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from scenecraft.slate.config import SlateConfig


@dataclass
class KVCache:
    """Per-block self-attention keys/values [B, H, T_max, Dh] filled up to ``length``."""

    k: list[torch.Tensor]
    v: list[torch.Tensor]
    length: int = 0
    # per-block cross-attention keys/values of the slots, [B, H, K, Dh] each, set on first use
    memory: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)


class SelfAttention(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d, bias=False)

    def forward(self, x: torch.Tensor, cache: KVCache | None, layer: int) -> torch.Tensor:
        # x [B, T, d]: the whole sequence (training) or the newest positions (cached generation)
        q, k, v = rearrange(self.qkv(x), "b t (three h e) -> three b h t e", three=3, h=self.heads)
        if cache is None:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            t0, t1 = cache.length, cache.length + x.shape[1]
            cache.k[layer][:, :, t0:t1] = k
            cache.v[layer][:, :, t0:t1] = v
            k, v = cache.k[layer][:, :, :t1], cache.v[layer][:, :, :t1]  # [B, H, t1, Dh]
            # new positions see every cached one and each other causally
            mask = torch.ones(t1 - t0, t1, dtype=torch.bool, device=x.device).tril(t0)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(rearrange(out, "b h t e -> b t (h e)"))


class CrossAttention(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(d, d, bias=False)
        self.kv = nn.Linear(d, 2 * d, bias=False)
        self.proj = nn.Linear(d, d, bias=False)

    def memory_kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # memory [B, K, d] -> keys, values [B, H, K, Dh]
        kv = rearrange(self.kv(memory), "b k (two h e) -> two b h k e", two=2, h=self.heads)
        return kv[0], kv[1]

    def forward(self, x: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        q = rearrange(self.q(x), "b t (h e) -> b h t e", h=self.heads)
        out = F.scaled_dot_product_attention(q, *kv)  # [B, H, T, Dh]
        return self.proj(rearrange(out, "b h t e -> b t (h e)"))


class Block(nn.Module):
    """Pre-LN: causal self-attention, cross-attention to the slots, MLP."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = SelfAttention(d, heads)
        self.cross_attn = CrossAttention(d, heads)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(
        self,
        x: torch.Tensor,
        memory_kv: tuple[torch.Tensor, torch.Tensor],
        cache: KVCache | None,
        layer: int,
    ) -> torch.Tensor:
        x = x + self.self_attn(self.ln1(x), cache, layer)
        x = x + self.cross_attn(self.ln2(x), memory_kv)
        return x + self.mlp(self.ln3(x))


class TransformerDecoder(nn.Module):
    def __init__(self, cfg: SlateConfig):
        super().__init__()
        d = cfg.d_model
        self.heads = cfg.n_heads
        self.blocks = nn.ModuleList(Block(d, cfg.n_heads) for _ in range(cfg.n_blocks))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.vocab_size, bias=False)

    def new_cache(self, batch: int, max_len: int, like: torch.Tensor) -> KVCache:
        d = self.head.in_features
        shape = (batch, self.heads, max_len, d // self.heads)
        n = len(self.blocks)
        return KVCache(
            k=[like.new_zeros(shape) for _ in range(n)],
            v=[like.new_zeros(shape) for _ in range(n)],
        )

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor, cache: KVCache | None = None
    ) -> torch.Tensor:
        """x [B, T, d] embedded tokens, memory [B, K, d] projected slots -> logits [B, T, V].

        With a cache, x holds only the positions after ``cache.length``; the cache advances.
        """
        if cache is not None and not cache.memory:
            cache.memory = [b.cross_attn.memory_kv(memory) for b in self.blocks]
        for i, block in enumerate(self.blocks):
            kv = cache.memory[i] if cache is not None else block.cross_attn.memory_kv(memory)
            x = block(x, kv, cache, i)
        if cache is not None:
            cache.length += x.shape[1]
        return self.head(self.ln_f(x))
