"""Checkpoints: ``model.safetensors`` + ``config.json`` in a folder, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from scenecraft.core.errors import ModelNotFound
from scenecraft.slate.config import SlateConfig
from scenecraft.slate.model import Slate

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_model(model: Slate, folder: Path) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (WEIGHTS + ".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, folder / WEIGHTS)
    _atomic_write_bytes(folder / CONFIG, model.cfg.to_json().encode())


def load_model(folder: Path, device: str | torch.device = "cpu") -> Slate:
    """Load a checkpoint folder; a missing folder or file is a ``ModelNotFound`` naming it."""
    folder = Path(folder)
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise ModelNotFound(
                f"{folder / name} not found: train one with `scenecraft train slate --out DIR` "
                "and point SCENECRAFT_SLATE_MODEL at DIR"
            )
    model = Slate(SlateConfig.load(folder / CONFIG))
    model.load_state_dict(load_file(folder / WEIGHTS))
    return model.to(device).eval()
