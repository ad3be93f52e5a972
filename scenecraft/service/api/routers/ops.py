"""Operations: ``/healthz`` (the process answers), ``/readyz`` (Redis and workers), ``/metrics``."""

from __future__ import annotations

import redis
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from scenecraft.service.api.deps import ServiceDep
from scenecraft.service.api.schemas import Readiness
from scenecraft.service.api.service import redis_location
from scenecraft.service.store import QUEUES
from scenecraft.service.worker.metrics import RedisCollector

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(svc: ServiceDep) -> JSONResponse:
    """Ready when Redis answers and every queue has a worker that announced itself lately."""
    problems, workers, lapsed = [], {q: 0 for q in QUEUES}, {q: 0 for q in QUEUES}
    try:
        svc.store.r.ping()
        redis_state = "ok"
        within = 3 * svc.svc.worker_heartbeat_s
        for q in QUEUES:
            workers[q] = len(svc.store.live_workers(q, within))
            lapsed[q] = len(svc.store.lapsed(q))
            if not workers[q]:
                problems.append(f"no worker consumes the {q!r} queue")
    except redis.RedisError as e:
        redis_state = f"unreachable at {redis_location(svc.settings.redis_url)}: {e}"
        problems.append("Redis is unreachable")
    body = Readiness(
        ready=not problems, redis=redis_state, workers=workers, lapsed=lapsed, problems=problems
    )
    return JSONResponse(body.model_dump(), status_code=503 if problems else 200)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(svc: ServiceDep) -> Response:
    """Prometheus text: queue depth per queue; duration, queue-wait and first-preview histograms
    and succeeded/failed/canceled counters per pipeline (summed over every worker)."""
    registry = CollectorRegistry()
    registry.register(RedisCollector(svc.store.r))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
