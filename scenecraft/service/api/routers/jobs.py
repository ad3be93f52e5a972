"""``/v1/jobs``: create (202 + Location), read, list with filters and a cursor, cancel.

No ``from __future__ import annotations`` here: FastAPI must see the request type built at run
time in ``build`` as an object, not as a string it cannot resolve.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Query, Response, status

from scenecraft.pipelines.registry import get_pipeline
from scenecraft.service.api.body import CheckedJSONRoute
from scenecraft.service.api.deps import Owner, ServiceDep
from scenecraft.service.api.routers.common import JobId, errors, owned_job
from scenecraft.service.api.schemas import Job, JobPage, StateName
from scenecraft.service.api.service import fingerprint

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="retrying with the same key returns the first job instead of a new one",
    ),
]


def build(job_create: Any) -> APIRouter:
    """The jobs router for the request type built from the registry."""
    router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=CheckedJSONRoute)

    @router.post(
        "",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=Job,
        responses=errors(401, 409, 413, 422, 429, 503),
        summary="Queue a job",
    )
    def create_job(
        svc: ServiceDep,
        who: Owner,
        response: Response,
        body: Annotated[job_create, Body()],  # type: ignore[valid-type]
        idempotency_key: IdempotencyKey = None,
    ) -> Job:
        """Validate and queue a job; it runs on its pipeline's queue (``gpu`` or ``cpu``)."""
        pipe = get_pipeline(body.pipeline)
        fp = fingerprint(body.model_dump(mode="json"))
        created = svc.submit(
            who,
            [(pipe, body.params, body.priority)],
            idempotency_key=idempotency_key or "",
            fingerprint=fp,
        )
        if created.replayed:
            if created.kind != "job" or not created.fingerprint_matches:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    "this Idempotency-Key was already used for a different request",
                )
            response.headers["Idempotent-Replayed"] = "true"
        response.headers["Location"] = f"/v1/jobs/{created.id}"
        return Job.of(owned_job(svc, who, created.id))

    @router.get("", response_model=JobPage, responses=errors(401, 422, 429, 503))
    def list_jobs(
        svc: ServiceDep,
        who: Owner,
        status_: Annotated[StateName | None, Query(alias="status")] = None,
        pipeline: Annotated[str | None, Query(max_length=100)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    ) -> JobPage:
        """This key's jobs, newest first."""
        recs, nxt = svc.store.list(
            who,
            limit=limit,
            before_seq=int(cursor) if cursor else None,
            state=status_,
            pipeline=pipeline,
        )
        return JobPage(jobs=[Job.of(r) for r in recs], next_cursor=str(nxt) if nxt else None)

    @router.get("/{job_id}", response_model=Job, responses=errors(401, 404, 422, 429, 503))
    def get_job(svc: ServiceDep, who: Owner, job_id: JobId) -> Job:
        return Job.of(owned_job(svc, who, job_id))

    @router.post(
        "/{job_id}/cancel",
        response_model=Job,
        responses=errors(401, 404, 409, 422, 429, 503),
        summary="Cancel a job",
    )
    def cancel_job(svc: ServiceDep, who: Owner, job_id: JobId) -> Job:
        """A queued job ends ``canceled`` at once and never starts; a running one stops at its
        next step (``cancel_requested`` until then). A finished job answers 409."""
        rec = owned_job(svc, who, job_id)
        outcome = svc.store.cancel(who, job_id, svc.svc.job_retention_s)
        if outcome == "dequeued":
            svc.count_canceled(rec.pipeline)
        elif outcome != "cancel_requested":
            raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} already {outcome}")
        return Job.of(owned_job(svc, who, job_id))

    return router
