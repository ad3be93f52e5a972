"""scenecraft: images and SVG of multi-object scenes from text, behind one job queue."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def run(pipeline: str, *, device: str | None = None, **params: Any):
    """Run a pipeline in-process: ``scenecraft.run("world.render", prompt="a red star")``.

    Returns a ``Result`` whose artifacts live in the store named by ``SCENECRAFT_ARTIFACTS``.
    """
    from scenecraft.pipelines.artifacts import open_store
    from scenecraft.pipelines.base import make_context
    from scenecraft.pipelines.registry import execute, validate
    from scenecraft.settings import get_settings

    settings = get_settings()
    pipe, p = validate(pipeline, params)
    ctx = make_context(open_store(settings.artifacts), p.seed, device or settings.device)
    return execute(pipe, p, ctx)
