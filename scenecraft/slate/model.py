"""SLATE: dVAE tokens -> Slot Attention -> slots -> transformer decoder that re-predicts the tokens.

image [B, 3, 64, 64] --dVAE--> tokens [B, 16, 16] --embed + positions--> [B, 256, d]
  --Slot Attention--> slots [B, K, D], attention masks [B, K, 256]
  --transformer decoder (cross-attends to slots)--> token logits [B, 256, V] --dVAE--> image
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from scenecraft.slate.config import SlateConfig
from scenecraft.slate.decoder import TransformerDecoder
from scenecraft.slate.dvae import DVAE, gumbel_noise, gumbel_softmax
from scenecraft.slate.slot_attention import SlotAttention


def coord_grid(g: int) -> torch.Tensor:
    """[g*g, 4]: (x, 1 - x, y, 1 - y) at each cell centre, row-major like the token sequence."""
    c = (torch.arange(g) + 0.5) / g
    y, x = torch.meshgrid(c, c, indexing="ij")
    grid = torch.stack([x, 1 - x, y, 1 - y], dim=-1)  # [g, g, 4]
    return rearrange(grid, "h w c -> (h w) c")


class MixtureDecoder(nn.Module):
    """Spatial-broadcast mixture decoder: every slot predicts a feature and an alpha logit at each
    token position; alphas compete over slots and the mixed feature is read out as token logits."""

    def __init__(self, cfg: SlateConfig):
        super().__init__()
        h = cfg.mixture_hidden
        self.slot_in = nn.Linear(cfg.slot_size, h)
        # positions from coordinates (Slot Attention's soft position embedding): smooth in space,
        # so a slot's alpha mask is spatially coherent from the first steps
        self.register_buffer("coords", coord_grid(cfg.grid), persistent=False)
        self.pos = nn.Linear(4, h)
        self.mlp = nn.Sequential(nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, h + 1))
        self.readout = nn.Linear(h, cfg.vocab_size)

    def forward(self, slots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """slots [B, K, D] -> token logits [B, N, V], alpha masks [B, K, N] (sum to one over K)."""
        x = self.slot_in(slots)[:, :, None, :] + self.pos(self.coords)  # [B, K, N, h]
        out = self.mlp(x)  # [B, K, N, h + 1]
        feats, alpha = out[..., :-1], out[..., -1].softmax(dim=1)
        mixed = torch.einsum("bkn,bknh->bnh", alpha, feats)  # [B, N, h]
        return self.readout(mixed), alpha


class TokenContext(nn.Module):
    """Residual 3x3 convolutions over the token grid: each token's feature sees its neighbours,
    so the weighted mean Slot Attention takes over an object keeps the object's outline."""

    def __init__(self, d: int, n: int, grid: int):
        super().__init__()
        self.grid = grid
        self.convs = nn.ModuleList(nn.Conv2d(d, d, 3, padding=1) for _ in range(n))
        for conv in self.convs:  # a new context starts as the identity (safe to warm-start)
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x [B, N, d] -> [B, N, d]
        h = rearrange(x, "b (y x) d -> b d y x", y=self.grid)
        for conv in self.convs:
            h = h + conv(F.gelu(h))
        return rearrange(h, "b d y x -> b (y x) d")


class MaskCode(nn.Module):
    """A slot's attention mask on the token grid -> a vector added to the slot: the shape of the
    region it explains, which a weighted mean of token features loses for small objects."""

    def __init__(self, grid: int, slot_size: int, hidden: int = 32):
        super().__init__()
        self.grid = grid
        self.conv = nn.Sequential(
            nn.Conv2d(1, hidden, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(hidden, hidden, 3, padding=1, stride=2),
            nn.GELU(),
            nn.Conv2d(hidden, hidden, 3, padding=1, stride=2),
            nn.GELU(),
        )
        cells = hidden * math.ceil(grid / 4) ** 2
        self.out = nn.Linear(cells, slot_size)
        nn.init.zeros_(self.out.weight)  # starts as "no code": a warm start is unchanged
        nn.init.zeros_(self.out.bias)

    def forward(self, attn: torch.Tensor) -> torch.Tensor:
        # attn [B, K, N] (sums to one over K) -> codes [B, K, D]
        b = attn.shape[0]
        grid = rearrange(attn, "b k (h w) -> (b k) 1 h w", h=self.grid)
        return rearrange(self.out(self.conv(grid).flatten(1)), "(b k) d -> b k d", b=b)


class Slate(nn.Module):
    def __init__(self, cfg: SlateConfig):
        super().__init__()
        self.cfg = cfg
        d, n = cfg.d_model, cfg.num_tokens
        self.dvae = DVAE(cfg)
        self.bos = cfg.vocab_size  # an extra embedding row starts every sequence
        self.tok_emb = nn.Embedding(cfg.vocab_size + 1, d)
        self.pos_emb = nn.Parameter(torch.randn(1, n + 1, d) * 0.02)
        self.slot_input = nn.Sequential(
            nn.LayerNorm(d), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d)
        )
        # Slot Attention sees coordinates too, so slots can tell two same-coloured objects apart
        # before the learned positions carry any meaning
        self.register_buffer("coords", coord_grid(cfg.grid), persistent=False)
        self.slot_pos = nn.Linear(4, d) if cfg.slot_coords else None
        self.context = (
            TokenContext(d, cfg.slot_encoder_convs, cfg.grid) if cfg.slot_encoder_convs else None
        )
        self.slot_attn = SlotAttention(cfg, d)
        self.mask_code = MaskCode(cfg.grid, cfg.slot_size) if cfg.slot_mask_code else None
        self.slot_proj = nn.Linear(cfg.slot_size, d)
        self.decoder = TransformerDecoder(cfg)
        self.mixture = MixtureDecoder(cfg) if cfg.mixture_weight > 0 else None

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        # tokens [B, N] -> [B, N + 1, d]: BOS then the tokens, each plus its position
        bos = torch.full_like(tokens[:, :1], self.bos)
        return self.tok_emb(torch.cat([bos, tokens], dim=1)) + self.pos_emb

    def encode(
        self, tokens: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens [B, h, w] -> slots [B, K, D], attention masks [B, K, h*w] (sum to one over K)."""
        emb = self.embed(rearrange(tokens, "b h w -> b (h w)"))  # [B, N + 1, d]
        return self.slots(emb, generator)

    def slots(
        self, emb: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # emb [B, N + 1, d] (BOS first) -> slots [B, K, D], attention [B, K, N]
        x = emb[:, 1:] if self.slot_pos is None else emb[:, 1:] + self.slot_pos(self.coords)
        if self.context is not None:
            x = self.context(x)  # [B, N, d], each token with its 3x3 (or wider) neighbourhood
        x = self.slot_input(x)
        slots, attn = self.slot_attn(x, self.cfg.num_slots, generator)
        if self.mask_code is not None:
            slots = slots + self.mask_code(attn)
        return slots, attn

    def token_loss(
        self, tokens: torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Cross-entropy of the decoder (and the mixture decoder) on tokens [B, h, w]."""
        target = rearrange(tokens, "b h w -> b (h w)")  # [B, N]
        emb = self.embed(target)  # [B, N + 1, d]
        slots, attn = self.slots(emb, generator)
        logits = self.decoder(emb[:, :-1], self.slot_proj(slots))  # [B, N, V]
        ce = F.cross_entropy(rearrange(logits, "b n v -> (b n) v"), target.flatten())
        out = {"ce": ce, "loss": ce, "attn": attn}
        if self.mixture is not None:
            mix_logits, _ = self.mixture(slots)
            mix_ce = F.cross_entropy(rearrange(mix_logits, "b n v -> (b n) v"), target.flatten())
            out["mixture_ce"] = mix_ce
            out["loss"] = ce + self.cfg.mixture_weight * mix_ce
        return out

    def loss(self, image: torch.Tensor, tau: float) -> dict[str, torch.Tensor]:
        """The reference's joint step: dVAE MSE plus token cross-entropy on detached hard tokens.

        One Gumbel draw serves both: the relaxed sample for the dVAE and, as its argmax, the hard
        tokens (the reference drew a second sample for those).
        """
        logits = self.dvae.logits(image)  # [B, V, h, w]
        noise = gumbel_noise(logits)
        recon = self.dvae.decode(gumbel_softmax(logits, tau, noise=noise))
        mse = ((image - recon) ** 2).sum() / image.shape[0]
        tokens = (logits.detach() + noise).argmax(1)  # [B, h, w]
        out = self.token_loss(tokens)
        out["mse"] = mse
        out["loss"] = out["loss"] + mse
        return out

    @torch.no_grad()
    def generate(self, slots: torch.Tensor, use_cache: bool = True) -> torch.Tensor:
        """Greedy decoding of all tokens from slots [B, K, D] -> tokens [B, h, w].

        ``use_cache=False`` recomputes the whole prefix per token, as the reference did; it
        exists to measure the cache against and gives the same tokens.
        """
        b, n, g = slots.shape[0], self.cfg.num_tokens, self.cfg.grid
        memory = self.slot_proj(slots)  # [B, K, d]
        tokens = slots.new_zeros(b, n, dtype=torch.long)
        x = self.tok_emb.weight[self.bos] + self.pos_emb[:, :1]  # [1, 1, d]
        x = repeat(x, "1 t d -> b t d", b=b)
        cache = self.decoder.new_cache(b, n, memory) if use_cache else None
        seq = x
        for i in range(n):
            if cache is not None:
                logits = self.decoder(x, memory, cache)[:, -1]  # [B, V]
            else:
                logits = self.decoder(seq, memory)[:, -1]
            tokens[:, i] = logits.argmax(-1)
            x = self.tok_emb(tokens[:, i : i + 1]) + self.pos_emb[:, i + 1 : i + 2]  # [B, 1, d]
            if cache is None:
                seq = torch.cat([seq, x], dim=1)
        return rearrange(tokens, "b (h w) -> b h w", h=g, w=g)

    @torch.no_grad()
    def mixture_tokens(self, slots: torch.Tensor) -> torch.Tensor:
        """All tokens at once from the auxiliary mixture decoder: slots [B, K, D] -> [B, h, w].

        Each slot draws only where its alpha wins, so a token cannot borrow an object's outline
        from the tokens drawn before it as the transformer decoder's can.
        """
        if self.mixture is None:
            raise ValueError("this checkpoint has no mixture decoder (mixture_weight 0)")
        logits, _ = self.mixture(slots)  # [B, N, V]
        g = self.cfg.grid
        return rearrange(logits.argmax(-1), "b (h w) -> b h w", h=g, w=g)

    def masks(self, attn: torch.Tensor) -> torch.Tensor:
        """Attention [B, K, N] -> per-slot masks at image resolution [B, K, H, W], sum to one."""
        g, s = self.cfg.grid, self.cfg.image_size
        grid = rearrange(attn, "b k (h w) -> b k h w", h=g, w=g)
        return F.interpolate(grid, size=(s, s), mode="bilinear", align_corners=False)

    @torch.no_grad()
    def reconstruct(
        self, image: torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """image [B, 3, H, W] in 0..1 -> slots, masks [B, K, H, W], dVAE and SLATE images."""
        tokens = self.dvae.tokens(image)  # [B, h, w]
        slots, attn = self.encode(tokens, generator)
        return {
            "tokens": tokens,
            "slots": slots,
            "attn": attn,
            "masks": self.masks(attn),
            "dvae": self.dvae.decode_tokens(tokens).clamp(0, 1),
            "recon": self.dvae.decode_tokens(self.generate(slots)).clamp(0, 1),
        }
