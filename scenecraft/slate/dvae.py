"""The discrete VAE: a 4x4 patch encoder to a vocabulary of tokens, and a decoder back to pixels."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from scenecraft.slate.config import SlateConfig


def gumbel_softmax(logits: torch.Tensor, tau: float, hard: bool, dim: int = 1) -> torch.Tensor:
    """Relaxed one-hot samples; ``hard`` gives exact one-hots with the relaxed gradient."""
    gumbels = -torch.empty_like(logits).exponential_().log()
    y = F.softmax((logits + gumbels) / tau, dim=dim)
    if not hard:
        return y
    index = y.argmax(dim, keepdim=True)
    y_hard = torch.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y.detach() + y


def cosine_tau(step: int, cfg: SlateConfig) -> float:
    """Gumbel temperature, cosine-annealed from ``tau_start`` to ``tau_end`` over ``tau_steps``."""
    t = min(step / max(cfg.tau_steps, 1), 1.0)
    return cfg.tau_end + 0.5 * (cfg.tau_start - cfg.tau_end) * (1 + math.cos(math.pi * t))


class DVAE(nn.Module):
    def __init__(self, cfg: SlateConfig):
        super().__init__()
        h, v, p = cfg.dvae_hidden, cfg.vocab_size, cfg.patch
        self.encoder = nn.Sequential(
            nn.Conv2d(3, h, p, stride=p),  # one token per patch
            nn.ReLU(),
            nn.Conv2d(h, h, 1),
            nn.ReLU(),
            nn.Conv2d(h, h, 1),
            nn.ReLU(),
            nn.Conv2d(h, v, 1),
        )
        # channels halve at each 2x upsampling: full width where there are few positions, and
        # a cheap head at full resolution, where the reference spent most of its step
        ups, c = [], h
        for _ in range(int(math.log2(p))):
            ups += [nn.Conv2d(c, (c // 2) * 4, 3, padding=1), nn.PixelShuffle(2), nn.ReLU()]
            c //= 2
        self.decoder = nn.Sequential(
            nn.Conv2d(v, h, 1),
            nn.ReLU(),
            nn.Conv2d(h, h, 3, padding=1),
            nn.ReLU(),
            *ups,
            nn.Conv2d(c, 3, 1),
        )

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        # image [B, 3, H, W] in 0..1 -> log-probabilities [B, V, H/p, W/p]
        return F.log_softmax(self.encoder(image), dim=1)

    def tokens(self, image: torch.Tensor) -> torch.Tensor:
        # [B, 3, H, W] -> [B, H/p, W/p] token ids (the mode of the posterior)
        return self.logits(image).argmax(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        # z [B, V, h, w] (one-hot or relaxed) -> image [B, 3, H, W]
        return self.decoder(z)

    def decode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        # tokens [B, h, w] -> image [B, 3, H, W]
        z = F.one_hot(tokens, self.decoder[0].in_channels)  # [B, h, w, V]
        return self.decode(rearrange(z, "b h w v -> b v h w").float())

    def loss(self, image: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction MSE summed over pixels and averaged over the batch (as the reference)."""
        z = gumbel_softmax(self.logits(image), tau, hard=False)
        recon = self.decode(z)  # [B, 3, H, W]
        mse = ((image - recon) ** 2).sum() / image.shape[0]
        return mse, recon
