"""``/v1/batches``: many jobs in one request (a JSON body or a JSONL upload), accepted all or none.

Each job of a batch is an ordinary job (readable, cancellable and streamed on its own); the batch
adds a status over all of them and a cancel for all of them.
"""

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from scenecraft.core.errors import InvalidParams
from scenecraft.pipelines.registry import get_pipeline
from scenecraft.service.api.body import checked_json
from scenecraft.service.api.deps import Owner, ServiceDep
from scenecraft.service.api.routers.common import errors, field_errors
from scenecraft.service.api.routers.jobs import IdempotencyKey
from scenecraft.service.api.schemas import Batch, JobSummary
from scenecraft.service.api.service import Service, fingerprint
from scenecraft.service.store import STATES, TERMINAL

BatchId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="a batch id")]
JSONL = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")


def build(job_create: Any, max_jobs: int) -> APIRouter:
    """The batches router for the request type built from the registry."""
    router = APIRouter(prefix="/v1/batches", tags=["batches"])
    one_job = TypeAdapter(job_create)

    class BatchCreate(BaseModel):
        model_config = ConfigDict(extra="forbid")
        jobs: list[job_create] = Field(min_length=1, max_length=max_jobs)  # type: ignore[valid-type]

    body_schema = TypeAdapter(BatchCreate).json_schema(ref_template="#/components/schemas/{model}")
    defs = body_schema.pop("$defs", {})
    jsonl_doc = (
        "one job a line, as in POST /v1/jobs: "
        '{"pipeline": "world.render", "params": {...}, "priority": 5}'
    )
    openapi_extra = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": body_schema},
                **{t: {"schema": {"type": "string", "description": jsonl_doc}} for t in JSONL},
            },
        },
        "x-components": defs,  # moved into components.schemas by app.openapi
    }

    @router.post(
        "",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=Batch,
        responses=errors(401, 409, 413, 415, 422, 429, 503),
        openapi_extra=openapi_extra,
        summary="Queue a batch of jobs",
    )
    async def create_batch(
        request: Request, svc: ServiceDep, who: Owner, idempotency_key: IdempotencyKey = None
    ) -> Batch:
        """A JSON body ``{"jobs": [...]}`` or a JSONL upload (one job a line). Every job is
        validated before any is queued; errors name the job (``jobs[3].params.size`` or
        ``line 4.params.size``)."""
        raw = await request.body()  # the app's max_body_size answers 413 past its limit
        ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if ctype in JSONL:
            items = _parse_jsonl(raw, one_job, max_jobs)
        elif ctype == "application/json":
            items = _parse_json(raw, BatchCreate)
        else:
            raise HTTPException(
                status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                f"send application/json or one of {', '.join(JSONL)}",
            )
        jobs = [(get_pipeline(j.pipeline), j.params, j.priority) for j in items]
        fp = fingerprint([j.model_dump(mode="json") for j in items])
        created = svc.submit(
            who, jobs, idempotency_key=idempotency_key or "", fingerprint=fp,
            batch_id=uuid.uuid4().hex,
        )  # fmt: skip
        if created.replayed and (created.kind != "batch" or not created.fingerprint_matches):
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                "this Idempotency-Key was already used for a different request",
            )
        return _batch(svc, who, created.id)

    @router.get("/{batch_id}", response_model=Batch, responses=errors(401, 404, 422, 429, 503))
    def get_batch(svc: ServiceDep, who: Owner, batch_id: BatchId) -> Batch:
        return _batch(svc, who, batch_id)

    @router.post(
        "/{batch_id}/cancel", response_model=Batch, responses=errors(401, 404, 422, 429, 503)
    )
    def cancel_batch(svc: ServiceDep, who: Owner, batch_id: BatchId) -> Batch:
        """Cancel every job of the batch that has not finished."""
        for rec in _records(svc, who, batch_id)[1]:
            if rec.state not in TERMINAL and svc.store.cancel(
                who, rec.id, svc.svc.job_retention_s
            ) == "dequeued":  # fmt: skip
                svc.count_canceled(rec.pipeline)
        return _batch(svc, who, batch_id)

    return router


# Both parse with ``checked_json`` and validate the Python objects, as FastAPI does for
# /v1/jobs, so a job is read the same way whichever endpoint it came by.
def _parse_json(raw: bytes, model: type[BaseModel]) -> list[Any]:
    doc = checked_json(raw)
    try:
        return model.model_validate(doc).jobs  # type: ignore[attr-defined]
    except ValidationError as e:
        raise InvalidParams(field_errors(e.errors())) from None


def _parse_jsonl(raw: bytes, one_job: TypeAdapter, max_jobs: int) -> list[Any]:
    items, problems = [], []
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(one_job.validate_python(checked_json(line, where=f"line {n}")))
        except InvalidParams as e:
            problems += e.errors
        except ValidationError as e:
            problems += field_errors(e.errors(), prefix=f"line {n}")
    if problems:
        raise InvalidParams(problems)
    if not items:
        raise InvalidParams.single("body", "the upload holds no jobs")
    if len(items) > max_jobs:
        raise InvalidParams.single("body", f"{len(items)} jobs; a batch holds at most {max_jobs}")
    return items


def _records(svc: Service, who: str, batch_id: str) -> tuple[dict[str, Any], list]:
    b = svc.store.batch(batch_id)
    if b is None or b["owner"] != who:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no batch {batch_id} for this API key")
    return b, [r for r in svc.store.get_many(b["jobs"]) if r is not None]


def _batch(svc: Service, who: str, batch_id: str) -> Batch:
    b, recs = _records(svc, who, batch_id)
    counts = Counter(r.state for r in recs)
    return Batch(
        id=batch_id,
        created_at=datetime.fromtimestamp(b["created_at"], UTC),
        state="done" if all(r.state in TERMINAL for r in recs) else "active",
        counts={s: counts.get(s, 0) for s in STATES},
        jobs=[JobSummary.of(r) for r in recs],
        links={"self": f"/v1/batches/{batch_id}", "cancel": f"/v1/batches/{batch_id}/cancel"},
    )
