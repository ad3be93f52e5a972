"""``/v1/jobs/{id}/events``: the job's Redis stream as Server-Sent Events, ending at a final state.

Event types: ``state`` ({state, attempt?, error?}), ``progress`` ({stage, step, total}),
``preview`` ({stage, step, total, media_type, data: base64}, throttled by the worker),
``cancel_requested`` and ``result`` ({artifacts, metrics}). Each event's id is its stream id, so a
client that reconnects with ``Last-Event-ID`` continues where it stopped.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from scenecraft.service.api.deps import Owner, ServiceDep
from scenecraft.service.api.routers.common import JobId, errors, owned_job
from scenecraft.service.api.service import STREAM_BLOCK_S, Service
from scenecraft.service.store import TERMINAL, events_key, job_key

router = APIRouter(prefix="/v1/jobs", tags=["events"])
KEEPALIVE_MS = STREAM_BLOCK_S * 1000  # a quiet stream sends a comment this often


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **errors(401, 404, 422, 429, 503)},
    summary="Stream a job's events (SSE)",
)
async def job_events(
    svc: ServiceDep,
    who: Owner,
    job_id: JobId,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=40)] = None,
) -> StreamingResponse:
    rec = await run_in_threadpool(owned_job, svc, who, job_id)
    start = last_event_id if last_event_id and re.fullmatch(r"\d+-\d+", last_event_id) else "0"
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _stream(svc, job_id, start, rec.state), media_type="text/event-stream", headers=headers
    )


def _sse(kind: str, data: str, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {data}\n\n"


async def _stream(svc: Service, job_id: str, start: str, state: str) -> AsyncIterator[str]:
    assert svc.aredis is not None
    key = events_key(job_id)
    last = start
    while True:
        if state in TERMINAL:
            # a finished job's stream is complete: send what is left without waiting
            first = "-" if last == "0" else f"({last}"
            entries = await svc.aredis.xrange(key, first, "+")
        else:
            found = await svc.aredis.xread({key: last}, block=KEEPALIVE_MS, count=100)
            entries = found[0][1] if found else []
        for event_id, fields in entries:
            last = event_id
            yield _sse(fields["type"], fields["data"], event_id)
            if fields["type"] == "state" and json.loads(fields["data"])["state"] in TERMINAL:
                return
        if state in TERMINAL:
            yield _sse("state", json.dumps({"state": state}))
            return
        if not entries:
            yield ": keepalive\n\n"
            state = await svc.aredis.hget(job_key(job_id), "state")
            if state is None:  # the record expired while we waited
                return
