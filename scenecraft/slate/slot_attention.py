"""Slot Attention (Locatello et al. 2020) with the implicit-gradient option (Chang et al. 2022)."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from scenecraft.slate.config import SlateConfig


class SlotAttention(nn.Module):
    def __init__(self, cfg: SlateConfig, input_size: int):
        super().__init__()
        d = cfg.slot_size
        self.iters = cfg.slot_iters
        self.iters_eval = cfg.slot_iters_eval or cfg.slot_iters  # in eval mode
        self.implicit_grad = cfg.implicit_grad
        self.scale = d**-0.5
        self.mu = nn.Parameter(torch.randn(1, 1, d) * d**-0.5)
        self.log_sigma = nn.Parameter(torch.full((1, 1, d), -1.0))
        self.norm_inputs = nn.LayerNorm(input_size)
        self.norm_slots = nn.LayerNorm(d)
        self.norm_mlp = nn.LayerNorm(d)
        self.to_q = nn.Linear(d, d, bias=False)
        self.to_k = nn.Linear(input_size, d, bias=False)
        self.to_v = nn.Linear(input_size, d, bias=False)
        self.gru = nn.GRUCell(d, d)
        self.mlp = nn.Sequential(
            nn.Linear(d, cfg.slot_mlp_hidden), nn.ReLU(), nn.Linear(cfg.slot_mlp_hidden, d)
        )

    def init_slots(
        self, batch: int, num_slots: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        # [B, K, D]: samples around a learned mean, so slots are exchangeable. Drawn on the CPU so
        # a seeded CPU generator gives the same slots on any device.
        noise = torch.randn(batch, num_slots, self.mu.shape[-1], generator=generator)
        noise = noise.to(self.mu.device)
        return self.mu + self.log_sigma.exp() * noise

    def step(
        self, slots: torch.Tensor, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b = slots.shape[0]
        q = self.to_q(self.norm_slots(slots))  # [B, K, D]
        logits = torch.einsum("bkd,bnd->bkn", q, k) * self.scale  # [B, K, N]
        attn = logits.softmax(dim=1)  # slots compete for each input: softmax over K
        weights = attn + 1e-8
        weights = weights / weights.sum(dim=-1, keepdim=True)  # weighted mean over inputs
        updates = torch.einsum("bkn,bnd->bkd", weights, v)  # [B, K, D]
        flat = self.gru(
            rearrange(updates, "b k d -> (b k) d"), rearrange(slots, "b k d -> (b k) d")
        )
        slots = rearrange(flat, "(b k) d -> b k d", b=b)
        slots = slots + self.mlp(self.norm_mlp(slots))
        return slots, attn

    def forward(
        self, inputs: torch.Tensor, num_slots: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """inputs [B, N, C] -> slots [B, K, D] and attention [B, K, N] (sums to one over K)."""
        inputs = self.norm_inputs(inputs)
        k, v = self.to_k(inputs), self.to_v(inputs)  # [B, N, D]
        slots = self.init_slots(inputs.shape[0], num_slots, generator)
        iters = self.iters if self.training else self.iters_eval
        if self.implicit_grad:
            # iterate to (near) the fixed point without a graph, then differentiate one step
            # from there: a first-order implicit gradient, cheaper and stable without clipping
            with torch.no_grad():
                for _ in range(iters - 1):
                    slots, _ = self.step(slots, k, v)
            return self.step(slots.detach(), k, v)
        for _ in range(iters):
            slots, attn = self.step(slots, k, v)
        return slots, attn
