"""Pieces several routers share: the job-id path parameter, lookups that 404, error responses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import HTTPException, Path, status

from scenecraft.pipelines.registry import pipelines
from scenecraft.service.api.schemas import ErrorBody
from scenecraft.service.api.service import Service
from scenecraft.service.store import JobRecord

JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="a job id")]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error responses (every error body is an ``ErrorBody``)."""
    return {c: {"model": ErrorBody} for c in codes}


def owned_job(svc: Service, owner: str, job_id: str) -> JobRecord:
    """The job if this key owns it; another key's job is indistinguishable from a missing one."""
    rec = svc.store.get(job_id)
    if rec is None or rec.owner != owner:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id} for this API key")
    return rec


def field_errors(errs: Iterable[dict[str, Any]], prefix: str = "") -> list[dict[str, str]]:
    """pydantic errors as ``[{field: 'jobs[3].params.size', message}]``.

    The pipeline name that pydantic puts in the location of a discriminated union is dropped:
    the user wrote ``params.size``, not ``world.render.params.size``.
    """
    tags = set(pipelines())
    out = []
    for e in errs:
        if e["type"] == "json_invalid":  # FastAPI's: loc is ('body', character)
            at = e["loc"][-1] if e["loc"] and isinstance(e["loc"][-1], int) else None
            why = e.get("ctx", {}).get("error", e["msg"])
            where = f" at character {at}" if at is not None else ""
            out.append({"field": "body", "message": f"not valid JSON{where}: {why}"})
            continue
        parts = [prefix] if prefix else []
        for p in e["loc"]:
            if isinstance(p, int) and parts:
                parts[-1] += f"[{p}]"
            elif p not in tags:
                parts.append(str(p))
        if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
            parts.append("pipeline")  # pydantic reports these at the object holding the tag
        msg = e["msg"].removeprefix("Value error, ")
        out.append({"field": ".".join(parts) or "body", "message": msg})
    return out
