"""``/v1/jobs/{id}/artifacts/{name}``: a job's artifact bytes with their media type.

SVG is active content, so it is served sandboxed (``Content-Security-Policy: sandbox``) and every
response forbids content sniffing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status

from scenecraft.pipelines.artifacts import NAME_RE
from scenecraft.service.api.deps import Owner, ServiceDep
from scenecraft.service.api.routers.common import JobId, errors, owned_job

router = APIRouter(prefix="/v1/jobs", tags=["artifacts"])


@router.get(
    "/{job_id}/artifacts/{name}",
    response_class=Response,
    responses={200: {"content": {"*/*": {}}}, **errors(401, 404, 422, 429, 503)},
    summary="Download an artifact",
)
def get_artifact(
    svc: ServiceDep,
    who: Owner,
    job_id: JobId,
    name: Annotated[str, Path(pattern=NAME_RE.pattern)],
) -> Response:
    rec = owned_job(svc, who, job_id)
    ref = rec.artifacts.get(name)
    if ref is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} has no artifact {name!r}")
    headers = {
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{ref["digest"]}"',
        # content-addressed: the bytes behind a name never change
        "Cache-Control": "private, max-age=31536000, immutable",
    }
    if ref["media_type"] == "image/svg+xml":
        headers["Content-Security-Policy"] = "sandbox"
    return Response(
        svc.artifacts.get_blob(ref["digest"]), media_type=ref["media_type"], headers=headers
    )
