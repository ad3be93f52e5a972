"""Pipelines behind one contract: a registry of ``run(params, ctx) -> Result`` functions."""

from scenecraft.pipelines.base import Context, Params, Pipeline, PromptParams, Result
from scenecraft.pipelines.registry import execute, get_pipeline, pipelines, register, validate

__all__ = [
    "Context",
    "Params",
    "Pipeline",
    "PromptParams",
    "Result",
    "execute",
    "get_pipeline",
    "pipelines",
    "register",
    "validate",
]
