"""Request and response bodies of the REST API (separate from the Redis records they show).

Job requests are a union discriminated by ``pipeline``, built from the registry when the app is
made, so the OpenAPI schema lists every pipeline's params without per-pipeline code here.
"""

from __future__ import annotations

import operator
from datetime import UTC, datetime
from functools import reduce
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from scenecraft.pipelines.base import Pipeline
from scenecraft.service.store import STATES, JobRecord

StateName = Literal["queued", "running", "succeeded", "failed", "canceled"]
assert set(StateName.__args__) == set(STATES)  # type: ignore[attr-defined]

PRIORITY = Field(5, ge=0, le=9, description="0..9; higher runs first among this key's jobs")


def job_create_type(pipes: dict[str, Pipeline]) -> Any:
    """``{pipeline, params, priority}``: one variant per registered pipeline."""
    variants = [
        create_model(
            "Job_" + "".join(c if c.isalnum() else "_" for c in name),
            # strict, as params are: "9" or true is not a priority
            __config__=ConfigDict(extra="forbid", strict=True, title=f"{name} job"),
            pipeline=(Literal[name], Field(description=p.description or name)),
            params=(p.params, ...),
            priority=(int, PRIORITY),
        )
        for name, p in pipes.items()
    ]
    if len(variants) == 1:
        return variants[0]
    return Annotated[reduce(operator.or_, variants), Field(discriminator="pipeline")]


class Progress(BaseModel):
    stage: str = ""
    step: int = 0
    total: int = 0


class Artifact(BaseModel):
    name: str
    media_type: str
    size: int
    digest: str = Field(description="sha256 of the bytes")
    url: str


class Job(BaseModel):
    id: str
    pipeline: str
    params: dict[str, Any]
    priority: int
    state: StateName
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = Field(description="times a worker started this job (a lost worker retries)")
    progress: Progress | None = None
    cancel_requested: bool = False
    artifacts: list[Artifact] = []
    metrics: dict[str, Any] = {}
    record: dict[str, Any] = Field({}, description="everything needed to reproduce the result")
    error: str | None = None
    batch: str | None = None
    links: dict[str, str]

    @classmethod
    def of(cls, rec: JobRecord) -> Job:
        """The job as the API shows it. A record that cannot be shown (one stored before the
        limits on request JSON, nested too deep to serialize) is the job without its contents
        and an error saying so: one bad record must not fail every listing of its key."""
        try:
            job = cls._of(rec)
            job.model_dump_json()  # what the response will do; where it would fail, fail here
            return job
        except (ValueError, TypeError, RecursionError) as e:  # pydantic's errors are ValueErrors
            base = f"/v1/jobs/{rec.id}"
            return cls(
                id=rec.id,
                pipeline=rec.pipeline,
                params={},
                priority=rec.priority,
                state=rec.state if rec.state in STATES else "failed",
                created_at=_ts(rec.created_at),
                attempts=rec.attempts,
                error=f"the stored record of this job cannot be shown ({e}); "
                "its params and results are left out",
                batch=rec.batch,
                links={"self": base, "events": f"{base}/events", "cancel": f"{base}/cancel"},
            )

    @classmethod
    def _of(cls, rec: JobRecord) -> Job:
        base = f"/v1/jobs/{rec.id}"
        return cls(
            id=rec.id,
            pipeline=rec.pipeline,
            params=rec.params,
            priority=rec.priority,
            state=rec.state,
            created_at=_ts(rec.created_at),
            started_at=_ts(rec.started_at),
            finished_at=_ts(rec.finished_at),
            attempts=rec.attempts,
            progress=Progress(**rec.progress) if rec.progress else None,
            cancel_requested=rec.cancel_requested,
            artifacts=[
                Artifact(
                    name=name,
                    media_type=a["media_type"],
                    size=a["size"],
                    digest=a["digest"],
                    url=f"{base}/artifacts/{name}",
                )
                for name, a in rec.artifacts.items()
            ],
            metrics=rec.metrics,
            record=rec.record,
            error=rec.error,
            batch=rec.batch,
            links={"self": base, "events": f"{base}/events", "cancel": f"{base}/cancel"},
        )


class JobPage(BaseModel):
    jobs: list[Job]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page")


class JobSummary(BaseModel):
    id: str
    pipeline: str
    state: StateName
    error: str | None = None
    links: dict[str, str]

    @classmethod
    def of(cls, rec: JobRecord) -> JobSummary:
        base = f"/v1/jobs/{rec.id}"
        return cls(
            id=rec.id,
            pipeline=rec.pipeline,
            state=rec.state,
            error=rec.error,
            links={"self": base, "events": f"{base}/events"},
        )


class Batch(BaseModel):
    id: str
    created_at: datetime
    state: Literal["active", "done"] = Field(description="done when every job has finished")
    counts: dict[StateName, int]
    jobs: list[JobSummary]
    links: dict[str, str]


class PipelineInfo(BaseModel):
    name: str
    queue: Literal["gpu", "cpu"]
    description: str
    params_schema: dict[str, Any] = Field(description="JSON schema of the pipeline's params")


class FieldError(BaseModel):
    field: str = Field(description="where the problem is, e.g. 'params.size' or 'jobs[3].params'")
    message: str


class ErrorBody(BaseModel):
    detail: str
    errors: list[FieldError] = []


class Readiness(BaseModel):
    ready: bool
    redis: str
    workers: dict[str, int] = Field(description="live workers per queue")
    lapsed: dict[str, int] = Field(
        {},
        description="running jobs per queue whose worker's lease lapsed: the reaper of any live "
        "worker puts them back in their queue within a heartbeat",
    )
    problems: list[str] = []


def _ts(v: float | None) -> datetime | None:
    return None if v is None else datetime.fromtimestamp(v, UTC)
