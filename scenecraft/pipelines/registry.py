"""The registry of pipelines, and ``run_pipeline``: the one way any pipeline is run."""

from __future__ import annotations

import contextlib
import functools
import importlib
import platform
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from scenecraft.core.errors import InvalidParams, UnknownPipeline
from scenecraft.core.progress import ProgressFn
from scenecraft.core.settings import Settings
from scenecraft.pipelines.artifacts import ArtifactStore
from scenecraft.pipelines.base import Params, Pipeline, Result, make_context

# Modules that define built-in pipelines (each exposes ``PIPELINES: list[Pipeline]``). They keep
# heavy imports (torch models, diffusers) inside their run functions, so listing them is cheap.
BUILTIN_MODULES: list[str] = [
    "scenecraft.pipelines.world_render",
    "scenecraft.pipelines.slate",
    "scenecraft.pipelines.vectorize",
    "scenecraft.pipelines.sld",
    "scenecraft.pipelines.svgcraft",
]

_REGISTRY: dict[str, Pipeline] = {}
_loaded = False


def register(pipeline: Pipeline) -> Pipeline:
    if pipeline.name in _REGISTRY and _REGISTRY[pipeline.name] is not pipeline:
        raise ValueError(f"pipeline {pipeline.name!r} is already registered")
    _REGISTRY[pipeline.name] = pipeline
    return pipeline


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    for mod in BUILTIN_MODULES:
        for p in importlib.import_module(mod).PIPELINES:
            register(p)
    _loaded = True


def pipelines() -> dict[str, Pipeline]:
    _load_builtins()
    return dict(sorted(_REGISTRY.items()))


def get_pipeline(name: str) -> Pipeline:
    _load_builtins()
    if name not in _REGISTRY:
        raise UnknownPipeline(name, sorted(_REGISTRY))
    return _REGISTRY[name]


def validation_errors(err: ValidationError, prefix: str = "params") -> list[dict[str, str]]:
    """pydantic errors as ``[{field: 'params.width', message: ...}]``."""
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        out.append({"field": f"{prefix}.{loc}" if loc else prefix, "message": msg})
    return out


def validate(name: str, params: dict[str, Any] | Params) -> tuple[Pipeline, Params]:
    """Look up a pipeline and validate its params; raises UnknownPipeline / InvalidParams."""
    pipe = get_pipeline(name)
    return pipe, _validated(pipe, params)


def _validated(pipe: Pipeline, params: dict[str, Any] | Params) -> Params:
    if isinstance(params, pipe.params):
        return params
    if not isinstance(params, dict):
        raise InvalidParams.single("params", "must be a JSON object")
    try:
        return pipe.params.model_validate(params)
    except ValidationError as e:
        raise InvalidParams(validation_errors(e)) from None


@functools.cache
def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("scenecraft", "torch", "diffusers", "transformers", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


def run_pipeline(
    pipeline: str | Pipeline,
    params: dict[str, Any] | Params,
    *,
    store: ArtifactStore,
    device: str = "auto",
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    models: dict | None = None,
    seed: int | None = None,
    preview_interval_s: float = 1.0,
    settings: Settings | None = None,
) -> Result:
    """Run one job: validate ``params`` (unless already a validated ``Params``), build the
    context, run the pipeline, and fill the result's reproducibility record.

    ``store`` keeps the artifacts; ``progress`` gets every ``Progress`` (previews at most once
    per ``preview_interval_s``); ``cancelled()`` is polled at every step and stops the run with
    ``Cancelled``; ``models`` is the warm model cache (default: the process's); ``seed`` replaces
    the params' seed (default: theirs, or a fresh one when they have none); ``settings`` say
    which models and backends the job uses (default: the process's, read once, now).
    """
    pipe = get_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
    valid = _validated(pipe, params)
    ctx = make_context(
        store,
        valid.seed if seed is None else seed,
        device,
        models=models,
        on_progress=progress,
        is_cancelled=cancelled,
        settings=settings,
    )
    ctx.preview_interval_s = preview_interval_s
    valid = valid.model_copy(update={"seed": ctx.seed})
    started = time.time()
    t0 = time.perf_counter()
    result = pipe.run(valid, ctx)
    result.store = store
    result.record = {
        "pipeline": pipe.name,
        "params": valid.model_dump(mode="json"),
        "seed": ctx.seed,
        "device": ctx.device,
        "versions": dict(versions()),
        "started_at": started,
        "seconds": round(time.perf_counter() - t0, 4),
        **result.record,
    }
    return result
