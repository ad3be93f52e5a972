"""Model backends behind small protocols: diffusion, detection, segmentation, the world model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def load_backend(
    kind: str,
    backend: str,
    makers: dict[str, Callable[[], Any]],
    model_id: str,
    device: str,
    cache: dict | None,
) -> Any:
    """Build ``backend`` of ``kind`` once per (backend, model, device), kept warm in ``cache``."""
    if backend not in makers:
        raise ValueError(f"unknown {kind} backend {backend!r}; known: {', '.join(makers)}")
    key = (kind, backend, model_id, device)
    if cache is None:
        return makers[backend]()
    if key not in cache:
        cache[key] = makers[backend]()
    return cache[key]
