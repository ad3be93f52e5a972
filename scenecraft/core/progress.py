"""Progress of a running job: one type from the innermost loop (a denoising step, a fit step, a
training step) up to whoever runs the job (a progress bar, the job's event stream in Redis)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Progress:
    """``step`` of ``total`` done in ``stage``; ``total`` 0 when a stage has just begun."""

    stage: str
    step: int
    total: int
    preview: bytes | None = None  # a PNG of the work so far, where this step drew one
    numbers: Mapping[str, float] = field(default_factory=dict)  # e.g. a training step's losses


# Called with every step; raising from it (``Cancelled``) stops the work at once.
ProgressFn = Callable[[Progress], None]
