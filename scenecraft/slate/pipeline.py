"""SLATE as one object: ``SLATEPipeline(model, library)``.

``__call__`` is the model's method: image -> dVAE tokens -> slots -> the image redrawn from the
slots. ``compose`` decodes slots picked from the concept library for named concepts; ``swap``
exchanges slots between two images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from scenecraft.slate.compose import Composed, compose, swap_slots
from scenecraft.slate.concepts import ConceptLibrary
from scenecraft.slate.data import to_tensor, to_uint8
from scenecraft.slate.model import Slate


@dataclass
class Reconstruction:
    recon: np.ndarray  # [H, W, 3] uint8: the image redrawn from the slots
    dvae: np.ndarray  # [H, W, 3] uint8: the image through the dVAE's tokens alone
    masks: np.ndarray  # [K, H, W]: each slot's attention


@dataclass
class SLATEPipeline:
    """A trained SLATE checkpoint and its concept library (None when it has none)."""

    model: Slate
    library: ConceptLibrary | None = None

    @property
    def size(self) -> int:
        """The side of the square images the model reads and draws."""
        return self.model.cfg.image_size

    def __call__(self, image: np.ndarray, generator: torch.Generator) -> Reconstruction:
        """An [H, W, 3] uint8 image of the model's size through its slots."""
        device = next(self.model.parameters()).device
        out = self.model.reconstruct(to_tensor(image[None], device), generator)
        return Reconstruction(
            recon=to_uint8(out["recon"])[0],
            dvae=to_uint8(out["dvae"])[0],
            masks=out["masks"][0].cpu().numpy(),
        )

    def compose(
        self,
        concepts: list[str],
        rng: np.random.Generator,
        candidates: int,
        generator: torch.Generator,
    ) -> Composed:
        """A new scene of library ``concepts`` (``compose.resolve_concepts``); of ``candidates``
        slot sets drawn, the one the model reads back best."""
        if self.library is None:
            raise ValueError("this checkpoint has no concept library")
        return compose(self.model, self.library, concepts, rng, candidates, generator)

    def swap(
        self,
        image_a: np.ndarray,
        image_b: np.ndarray,
        pairs: list[tuple[int, int]],
        generator: torch.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Image A with its slot i replaced by image B's slot j for each (i, j), and both images'
        slot masks [2, K, H, W]."""
        return swap_slots(self.model, image_a, image_b, pairs, generator)
