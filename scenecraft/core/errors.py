"""The few exception types users of scenecraft see. Each message says what to do."""

from __future__ import annotations


class ScenecraftError(Exception):
    """Base class of every error scenecraft raises on purpose."""


class InvalidParams(ScenecraftError, ValueError):
    """Parameters were rejected before any heavy work started.

    ``errors`` is a list of ``{"field": "params.width", "message": "..."}`` so callers (CLI, REST)
    can name the offending field.
    """

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        super().__init__(f"invalid parameters: {lines}")

    @classmethod
    def single(cls, field: str, message: str) -> InvalidParams:
        return cls([{"field": field, "message": message}])


class UnknownPipeline(ScenecraftError, KeyError):
    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(f"unknown pipeline {name!r}; known pipelines: {', '.join(known)}")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return self.args[0]


class Cancelled(ScenecraftError):
    """Raised inside a pipeline when its job was cancelled; the job ends ``canceled``."""


class ModelNotFound(ScenecraftError, FileNotFoundError):
    """A checkpoint path or id could not be resolved locally, or lacks a component."""


class SVGError(ScenecraftError, ValueError):
    """An SVG could not be parsed, or was refused by the sanitiser's limits."""


class PlannerError(ScenecraftError):
    """The planner (offline or LLM) could not produce a valid plan."""
