"""The discrete VAE: a 4x4 patch encoder to a vocabulary of tokens, and a decoder back to pixels."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from scenecraft.slate.config import SlateConfig


def gumbel_noise(like: torch.Tensor) -> torch.Tensor:
    """Standard Gumbel noise shaped like ``like``: -log(-log U) with U uniform.

    On the CPU this is about three times faster than ``-exponential_().log()``, which took a
    sixth of a reference-config training step.
    """
    u = torch.rand_like(like).clamp_(min=torch.finfo(like.dtype).tiny)
    return u.log_().neg_().log_().neg_()


def gumbel_softmax(
    logits: torch.Tensor, tau: float, dim: int = 1, noise: torch.Tensor | None = None
) -> torch.Tensor:
    """A relaxed one-hot sample, softmax((logits + g) / tau); pass ``noise`` to reuse a draw."""
    g = gumbel_noise(logits) if noise is None else noise
    return F.softmax((logits + g) / tau, dim=dim)


def cosine_tau(step: int, cfg: SlateConfig) -> float:
    """Gumbel temperature, cosine-annealed from ``tau_start`` to ``tau_end`` over ``tau_steps``."""
    t = min(step / max(cfg.tau_steps, 1), 1.0)
    return cfg.tau_end + 0.5 * (cfg.tau_start - cfg.tau_end) * (1 + math.cos(math.pi * t))


def _context(h: int, n: int) -> list[nn.Module]:
    """``n`` 3x3 convolutions with ReLUs at token resolution: each token sees its neighbours."""
    return [m for _ in range(n) for m in (nn.Conv2d(h, h, 3, padding=1), nn.ReLU())]


class DVAE(nn.Module):
    def __init__(self, cfg: SlateConfig):
        super().__init__()
        h, v, p = cfg.dvae_hidden, cfg.vocab_size, cfg.patch
        self.encoder = nn.Sequential(
            nn.Conv2d(3, h, p, stride=p),  # one token per patch
            nn.ReLU(),
            *_context(h, cfg.dvae_encoder_blocks),
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
            *_context(h, cfg.dvae_decoder_blocks),
            *ups,
            nn.Conv2d(c, 3, 1),
        )
        # The reference's initialisation: Kaiming for convolutions followed by a ReLU, Xavier for
        # the rest. PyTorch's default shrinks the signal at each layer, so the encoder's logits
        # barely depend on the image, the Gumbel noise drowns them, and the codebook collapses
        # to one or two tokens.
        for seq in (self.encoder, self.decoder):
            layers = list(seq)
            for i, layer in enumerate(layers):
                if isinstance(layer, nn.Conv2d):
                    relu_next = any(isinstance(n, nn.ReLU) for n in layers[i + 1 : i + 3])
                    if relu_next:
                        nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
                    else:
                        nn.init.xavier_uniform_(layer.weight)
                    nn.init.zeros_(layer.bias)

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        # image [B, 3, H, W] in 0..1 -> unnormalised logits [B, V, H/p, W/p]. The reference's
        # log_softmax here cancels in everything that reads them (softmax, argmax, cross-entropy),
        # and its backward pass was a tenth of a reference-config step.
        # centred input: light backgrounds would otherwise swamp the first layer with a constant
        return self.encoder(image * 2 - 1)

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

    def init_codebook(
        self, images: torch.Tensor, steps: int = 200, batch: int = 16, seed: int = 0
    ) -> float:
        """Warm-start the encoder: k-means of the images' patches, then cross-entropy to those
        clusters, so every patch starts with a confident token and the tokens are diverse.

        Without it a freshly initialised dVAE spends thousands of steps with the Gumbel noise
        drowning its logits, and on mostly-background images it collapses to a few tokens.
        Returns the final cross-entropy. ``images`` [N, 3, H, W] in 0..1.
        """
        from scenecraft.slate.concepts import kmeans

        p, v = self.encoder[0].kernel_size[0], self.encoder[-1].out_channels
        patches = rearrange(images, "n c (h p) (w q) -> n h w (c p q)", p=p, q=p)  # [N, h, w, F]
        g = torch.Generator().manual_seed(seed)
        flat = rearrange(patches, "n h w f -> (n h w) f")
        sample = flat[torch.randperm(len(flat), generator=g)[: 200 * v]]
        centres = kmeans(sample, v, iters=20, seed=seed, return_centres=True)  # [V, F]
        opt = torch.optim.Adam(self.encoder.parameters(), lr=1e-3)
        for _ in range(steps):
            idx = torch.randint(len(images), (batch,), generator=g)
            target = torch.cdist(patches[idx].flatten(1, 2), centres[None]).argmin(-1)  # [B, h*w]
            logits = rearrange(self.logits(images[idx]), "b v h w -> b v (h w)")
            ce = F.cross_entropy(logits, target)
            opt.zero_grad(set_to_none=True)
            ce.backward()
            opt.step()
        return ce.item()

    def loss(
        self, image: torch.Tensor, tau: float, usage_weight: float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction MSE summed over pixels and averaged over the batch (as the reference),
        plus ``usage_weight`` times ``codebook_kl`` of the logits when it is positive."""
        logits = self.logits(image)
        recon = self.decode(gumbel_softmax(logits, tau))  # [B, 3, H, W]
        mse = ((image - recon) ** 2).sum() / image.shape[0]
        if usage_weight > 0:
            mse = mse + usage_weight * codebook_kl(logits)
        return mse, recon


def codebook_kl(logits: torch.Tensor) -> torch.Tensor:
    """KL(mean token distribution || uniform) of logits [B, V, h, w]: 0 when every token is used
    equally often over the batch, log V when one token is used everywhere. Each position may
    still be confident; only the codebook as a whole is pushed to spread out."""
    mean = logits.softmax(dim=1).mean(dim=(0, 2, 3))  # [V]
    return (mean * (mean.clamp_min(1e-12).log() + math.log(len(mean)))).sum()


def perplexity(tokens: torch.Tensor, vocab: int) -> float:
    """exp(entropy) of the token histogram: how many tokens are in use, effectively."""
    p = torch.bincount(tokens.flatten(), minlength=vocab).float()
    p = p[p > 0] / p.sum()
    return float((-(p * p.log()).sum()).exp())
