"""Attention fusion: object words' cross-attention, recorded per box and pulled toward in the scene.

While one object is generated alone in its box, the cross-attention its words (attributes and
noun) get is recorded, averaged over heads, layers of one resolution, words and the first steps.
While the whole scene is denoised, the attention each object's words get is blended toward that
map (kept only inside the object's mask, summed over instances of the same phrase) for the same
first steps: ``p <- (1 - strength) * p + strength * target``. The rest of the tokens are left
alone, so the scene pass still reads its whole prompt; ``strength=0`` turns fusion off.

The backend's capture processor hands these stores the attention probabilities before it applies
them to the values, so editing them in place is what steers the denoising.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from einops import rearrange
from torch import Tensor
from torch.nn import functional as F

from scenecraft.models.diffusion import AttentionStore

Maps = dict[int, Tensor]  # query count N (one per UNet resolution) -> [N] attention map


@dataclass
class ObjectAttention(AttentionStore):
    """Records and/or steers the cross-attention of groups of tokens (one group per object).

    ``groups[k]`` are token positions in the prompt; ``targets[k]`` (optional) the maps those
    tokens are pulled toward with ``strength``. ``recorded[k]`` gets the mean map of the group's
    tokens per resolution (after any pull), averaged over the recorded steps.
    """

    groups: list[list[int]] = field(default_factory=list)
    targets: list[Maps] | None = None
    strength: float = 0.0
    recorded: list[Maps] = field(default_factory=list)
    calls: dict[int, int] = field(default_factory=dict)  # N -> layer calls recorded

    def add(self, probs: Tensor, heads: int) -> None:
        if self.steps is not None and self.step not in self.steps:
            return
        cond = probs[self.cond_offset * heads :]  # [B*heads, N, T], a view: edits reach probs
        n = cond.shape[1]
        if self.targets is not None and self.strength > 0:
            for tokens, target in zip(self.groups, self.targets, strict=True):
                if tokens and n in target:
                    pull = target[n].to(cond)[None, :, None]  # [1, N, 1]
                    cond[:, :, tokens] = (1 - self.strength) * cond[:, :, tokens] + (
                        self.strength * pull
                    )
        if not self.recorded:
            self.recorded = [{} for _ in self.groups]
        mean = cond.float().mean(0)  # [N, T], over batch and heads
        for tokens, maps in zip(self.groups, self.recorded, strict=True):
            if tokens:
                maps[n] = maps.get(n, 0) + mean[:, tokens].mean(1).detach().cpu()
        self.calls[n] = self.calls.get(n, 0) + 1

    def mean_maps(self) -> list[Maps]:
        """Per group: N -> [N] map averaged over the recorded steps and layers."""
        return [{n: m / self.calls[n] for n, m in maps.items()} for maps in self.recorded]


def masked_target(maps: Maps, mask: Tensor) -> Maps:
    """Keep a recorded map only inside ``mask`` [h, w] (latent resolution, in [0, 1]).

    Each map's resolution is found from N: the UNet halves both sides per level, so
    ``N = (h / d) * (w / d)`` for a downscale d.
    """
    h, w = mask.shape
    out = {}
    for n, m in maps.items():
        d = round((h * w / n) ** 0.5)
        small = F.interpolate(mask[None, None].float(), size=(h // d, w // d), mode="area")
        out[n] = m * rearrange(small, "1 1 y x -> (y x)")
    return out


def sum_maps(maps: list[Maps]) -> Maps:
    """Several instances' targets as one (they sit in different boxes), capped at 1."""
    out: Maps = {}
    for m in maps:
        for n, v in m.items():
            out[n] = out.get(n, 0) + v
    return {n: v.clamp(max=1.0) for n, v in out.items()}


def inside_share(maps: Maps, mask: Tensor) -> float:
    """Share of a map's mass inside ``mask`` [h, w], averaged over resolutions (fusion's aim)."""
    shares = []
    for n, m in maps.items():
        region = masked_target({n: torch.ones(n)}, mask)[n]
        shares.append(float((m * region).sum() / m.sum().clamp(min=1e-12)))
    return sum(shares) / len(shares) if shares else 0.0
