"""``/v1/pipelines``: what can be run, with the JSON schema of each pipeline's params."""

from __future__ import annotations

from fastapi import APIRouter

from scenecraft.pipelines.registry import pipelines
from scenecraft.service.api.schemas import PipelineInfo

router = APIRouter(prefix="/v1/pipelines", tags=["pipelines"])


@router.get("", response_model=list[PipelineInfo])
def list_pipelines() -> list[PipelineInfo]:
    return [
        PipelineInfo(
            name=name,
            queue=p.queue,
            description=p.description,
            params_schema=p.params.model_json_schema(),
        )
        for name, p in pipelines().items()
    ]
