"""Pipelines behind one contract: a registry of ``run(params, ctx) -> Result`` functions."""

from scenecraft.pipelines.base import Context, Params, Pipeline, Progress, PromptParams, Result
from scenecraft.pipelines.registry import (
    get_pipeline,
    pipelines,
    register,
    run_pipeline,
    validate,
)

__all__ = [
    "Context",
    "Params",
    "Pipeline",
    "Progress",
    "PromptParams",
    "Result",
    "get_pipeline",
    "pipelines",
    "register",
    "run_pipeline",
    "validate",
]
