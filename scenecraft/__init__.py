"""scenecraft: images and SVG of multi-object scenes from text, behind one job queue."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scenecraft.pipelines.base import Result

__version__ = "0.1.0"


def run(
    pipeline: str, *, store: str | Path | None = None, device: str | None = None, **params: Any
) -> Result:
    """Run a pipeline in-process and return its ``Result``.

    ``scenecraft.run("world.render", prompt="a red star").save("out/star")`` writes the job's
    artifacts and ``record.json`` into a folder; ``result.read("final.svg")`` gives one artifact's
    bytes; ``result.metrics`` and ``result.record`` are plain dicts.

    Args:
        pipeline: a registered pipeline name (``scenecraft pipelines`` lists them).
        store: where the artifacts are stored, content-addressed (``sha256/ab/abcd...``): a
            folder or ``s3://bucket/prefix``. Default: the ``SCENECRAFT_ARTIFACTS`` setting,
            ``runs/artifacts`` under the current folder unless set.
        device: a torch device (``cpu``, ``cuda``, ``auto``); default: ``SCENECRAFT_DEVICE``.
        **params: the pipeline's params (``seed`` among them), validated before anything runs.
    """
    from scenecraft.core.settings import get_settings
    from scenecraft.pipelines.artifacts import open_store
    from scenecraft.pipelines.registry import run_pipeline

    settings = get_settings()
    location = settings.artifacts if store is None else str(store)
    return run_pipeline(
        pipeline,
        params,
        store=open_store(location),
        device=device or settings.device,
        settings=settings,
    )
