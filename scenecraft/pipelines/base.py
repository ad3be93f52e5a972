"""The pipeline contract: Params (validated, with hard limits), Context, Result, Pipeline.

A pipeline is ``run(params, ctx) -> Result``. The same function runs in-process (CLI, Python) and
in a Celery worker; only the Context differs (where progress goes, how cancel is signalled).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
)

from scenecraft.core.errors import Cancelled
from scenecraft.core.progress import Progress, ProgressFn
from scenecraft.core.settings import Settings, get_settings
from scenecraft.pipelines.artifacts import ArtifactRef, ArtifactStore, JobArtifacts

Queue = Literal["gpu", "cpu"]
MAX_SEED = 2**32 - 1


def _limits():
    return get_settings().limits


class JSONModel(BaseModel):
    """A request body part whose fields take JSON's types as its schema gives them.

    pydantic's lax mode reads "64", " 32 " and "6_4" as 64, true as 1, and 1 or "yes" as true,
    and lets NaN and Infinity through; strict mode takes none of them. A tuple field (a JSON array
    of fixed length) needs ``Strict(False)`` on the tuple: strict mode takes only Python tuples,
    while a parsed JSON body holds lists (its items stay strict).
    """

    model_config = ConfigDict(strict=True, allow_inf_nan=False)


class Params(JSONModel):
    """Base of every pipeline's params: unknown fields are errors; ``seed`` is always there."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    seed: int | None = Field(
        None, ge=0, le=MAX_SEED, description="random seed; chosen and recorded when omitted"
    )


def _limit_check(attr: str, unit: str = ""):
    """A validator enforcing ``settings.limits.<attr>`` and a schema hook that publishes it."""

    def check(v, info: ValidationInfo):
        if v is None:
            return v
        limit = getattr(_limits(), attr)
        size = len(v) if isinstance(v, str) else v
        if isinstance(v, str) and not v.strip():
            raise ValueError(f"{info.field_name} is empty")
        if size > limit:
            raise ValueError(
                f"{info.field_name} {size}{unit} is larger than the limit {limit}{unit}"
            )
        return v

    def schema(s: dict) -> None:
        s["maxLength" if attr == "max_prompt_chars" else "maximum"] = getattr(_limits(), attr)

    return AfterValidator(check), Field(json_schema_extra=schema)


# Limited types: the limit comes from settings at validation time and appears in the JSON schema.
Side = Annotated[int, Field(ge=8), *_limit_check("max_side", " px")]
Steps = Annotated[int, Field(ge=1), *_limit_check("max_steps")]
Iters = Annotated[int, Field(ge=1), *_limit_check("max_iters")]
PathCount = Annotated[int, Field(ge=1), *_limit_check("max_paths")]
BatchSize = Annotated[int, Field(ge=1), *_limit_check("max_batch")]
Prompt = Annotated[str, *_limit_check("max_prompt_chars", " characters")]


class PromptParams(Params):
    """Common fields of text-to-image pipelines; limits come from settings."""

    prompt: Prompt = Field(description="what to draw")
    width: Side = Field(128, description="pixels")
    height: Side = Field(128, description="pixels")


@dataclass
class Context:
    """What a running pipeline may use. Built by the runner (CLI, worker, Python API)."""

    seed: int
    artifacts: JobArtifacts
    device: str = "cpu"
    # which models, backends and folders this job uses: fixed when the context is made, so a job
    # does not depend on what the process's environment says by the time a stage reads it
    settings: Settings = field(default_factory=get_settings)
    models: dict[Any, Any] = field(default_factory=dict)  # process-wide warm model cache
    on_progress: ProgressFn | None = None
    is_cancelled: Callable[[], bool] = lambda: False
    preview_interval_s: float = 1.0
    stage: str = ""
    _last_preview: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        import torch

        self.generator = torch.Generator("cpu").manual_seed(self.seed)
        self.rng = np.random.default_rng(self.seed)

    def set_stage(self, stage: str) -> None:
        self.stage = stage
        self.progress(0, 0)

    def progress(self, step: int, total: int, preview: bytes | None = None) -> None:
        """Report a step of the current stage; see ``report``."""
        self.report(Progress(self.stage, step, total, preview))

    def report(self, progress: Progress) -> None:
        """Pass progress on, its stage becoming the current one; a PNG preview is passed on at
        most once per preview interval.

        Also the cooperative cancel point: raises ``Cancelled`` when the job was cancelled.
        """
        self.stage = progress.stage
        if self.is_cancelled():
            raise Cancelled(
                f"cancelled at {self.stage or 'run'} step {progress.step}/{progress.total}"
            )
        if self.on_progress is None:
            return
        if progress.preview is not None:
            now = time.monotonic()
            if now - self._last_preview >= self.preview_interval_s:
                self._last_preview = now
            else:
                progress = replace(progress, preview=None)
        self.on_progress(progress)

    def cancelled(self) -> bool:
        return self.is_cancelled()

    def check_cancelled(self) -> None:
        if self.is_cancelled():
            raise Cancelled(f"cancelled during {self.stage or 'run'}")

    def torch_device(self):
        import torch

        return torch.device(self.device)


@dataclass
class Result:
    """What a run returns: artifact refs, numbers worth reporting, and a reproducible record.

    ``artifacts`` maps names to refs (digests in the store); ``read(name)`` gives the bytes and
    ``save(folder)`` writes them all out.
    """

    artifacts: dict[str, ArtifactRef]
    metrics: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    # set by run_pipeline
    store: ArtifactStore | None = field(default=None, repr=False, compare=False)

    def read(self, name: str) -> bytes:
        """The bytes of one artifact: ``result.read("final.svg")``."""
        if name not in self.artifacts:
            raise KeyError(f"no artifact {name!r}; this result has {', '.join(self.artifacts)}")
        if self.store is None:
            raise RuntimeError(
                "this result has no store to read from (it was not run by run_pipeline)"
            )
        return self.store.get_blob(self.artifacts[name].digest)

    def save(self, folder: str | Path) -> list[Path]:
        """Write every artifact under its own name, and ``record.json`` (``to_dict()``: params,
        seed, versions, metrics, digests), into ``folder``, made if missing; returns the paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name in self.artifacts:
            path = folder / name
            path.write_bytes(self.read(name))
            written.append(path)
        record = folder / "record.json"
        record.write_text(json.dumps(self.to_dict(), indent=1, default=str))
        return [*written, record]

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifacts": {k: v.to_dict() for k, v in self.artifacts.items()},
            "metrics": self.metrics,
            "record": self.record,
        }


@dataclass(frozen=True)
class Pipeline:
    name: str
    params: type[Params]
    run: Callable[[Any, Context], Result]
    queue: Queue = "cpu"
    description: str = ""
    final: str = "final.png"  # name of the artifact a contact sheet shows


def new_seed() -> int:
    return random.SystemRandom().randint(0, MAX_SEED)


def make_context(
    store: ArtifactStore,
    seed: int | None,
    device: str = "auto",
    models: dict | None = None,
    on_progress: ProgressFn | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    settings: Settings | None = None,
) -> Context:
    """A job's context; ``settings`` default: the process's (``get_settings()``), read now."""
    return Context(
        seed=new_seed() if seed is None else seed,
        artifacts=JobArtifacts(store),
        device=resolve_device(device),
        settings=get_settings() if settings is None else settings,
        models=MODEL_CACHE if models is None else models,
        on_progress=on_progress,
        is_cancelled=is_cancelled or (lambda: False),
    )


MODEL_CACHE: dict[Any, Any] = {}


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
