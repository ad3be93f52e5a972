"""The FastAPI application: routers per resource, errors as ``{detail, errors}``, the web page hook.

``create_app()`` reads settings and the pipeline registry once; ``scenecraft serve`` runs it with
uvicorn. Files under ``scenecraft/service/api/static/`` (the web page) are served at ``/``
when present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kombu.exceptions
import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match, Mount
from starlette.types import Scope

import scenecraft
from scenecraft.core.errors import InvalidParams, UnknownPipeline
from scenecraft.core.settings import get_settings
from scenecraft.pipelines.registry import pipelines
from scenecraft.service.api.body import MAX_BODY_BYTES
from scenecraft.service.api.routers import artifacts, batches, events, jobs, ops
from scenecraft.service.api.routers import pipelines as pipelines_router
from scenecraft.service.api.routers.common import field_errors
from scenecraft.service.api.schemas import job_create_type
from scenecraft.service.api.server import BodyDeadline
from scenecraft.service.api.service import Service, redis_location
from scenecraft.service.store import QueueFull
from scenecraft.service.worker.config import get_service_settings

STATIC = Path(__file__).parent / "static"
_UNPARSED_BODY = "There was an error parsing the body"  # FastAPI's 400 for a body it cannot read


def create_app(service: Service | None = None) -> FastAPI:
    """The API over ``service`` (default: one built from settings, sending to the Celery app)."""
    if service is None:
        from scenecraft.service.worker.app import celery_app

        service = Service.from_settings(get_settings(), get_service_settings(), celery_app)
    app = FastAPI(
        max_body_size=MAX_BODY_BYTES,
        title="scenecraft",
        version=scenecraft.__version__,
        description="Images and SVG of multi-object scenes from text, as jobs. Authenticate with "
        "`Authorization: Bearer <key>`; every job and artifact belongs to the key that made it.",
    )
    app.state.service = service
    job_create = job_create_type(pipelines())
    app.include_router(jobs.build(job_create))
    app.include_router(events.router)
    app.include_router(artifacts.router)
    app.include_router(batches.build(job_create, service.svc.max_batch_jobs))
    app.include_router(pipelines_router.router)
    app.include_router(ops.router)
    app.add_middleware(BodyDeadline, timeout_s=service.svc.body_timeout_s)
    _add_error_handlers(app, service)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    if STATIC.is_dir():
        app.router.routes.append(_Page("/", StaticFiles(directory=STATIC, html=True), name="page"))
    return app


class _Page(Mount):
    """The web page at ``/``, matched only where no API route matches the path.

    A plain mount at ``/`` matches every path and method, so ``GET /v1/batches`` (POST only)
    reached the static files and came back ``405 Allow: GET, HEAD``; as a partial match it is
    tried after the routes, whose own 405 names the methods the path has.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        return (Match.PARTIAL if match is Match.FULL else match), child


def _error(status: int, detail: str, errors: list | None = None, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "errors": errors or []}, status, headers=headers or None)


def _add_error_handlers(app: FastAPI, service: Service) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _UNPARSED_BODY:  # not UTF-8, or not JSON
            why = "not valid JSON (or not UTF-8)"
            return _error(422, f"invalid request: body: {why}", [{"field": "body", "message": why}])
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and (methods := _methods_of(request.app, request.scope)):
            # Starlette names the methods of the first route that has the path; there may be more
            headers["Allow"] = ", ".join(sorted(methods))
        return _error(exc.status_code, str(exc.detail), **headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = field_errors(
            # drop where pydantic found the value ('body', 'query', ...): the name says enough
            {**e, "loc": tuple(e["loc"])[1:]}
            for e in exc.errors()
        )
        lines = "; ".join(f"{e['field']}: {e['message']}" for e in errs)
        return _error(422, f"invalid request: {lines}", errs)

    @app.exception_handler(ClientDisconnect)
    async def _gone(_: Request, exc: ClientDisconnect) -> JSONResponse:
        # nobody reads this answer; it keeps a client that left mid-body out of the error log
        return _error(400, "the client went away before its request body was in")

    @app.exception_handler(InvalidParams)
    async def _invalid_params(_: Request, exc: InvalidParams) -> JSONResponse:
        return _error(422, str(exc), exc.errors)

    @app.exception_handler(UnknownPipeline)
    async def _unknown(_: Request, exc: UnknownPipeline) -> JSONResponse:
        return _error(422, str(exc), [{"field": "pipeline", "message": str(exc)}])

    @app.exception_handler(QueueFull)
    async def _full(_: Request, exc: QueueFull) -> JSONResponse:
        return _error(429, f"{exc}; retry when some have run", **{"Retry-After": "30"})

    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        where = redis_location(service.settings.redis_url)
        detail = (
            f"the job queue (Redis at {where}) is unreachable ({type(exc).__name__}); the request"
            " was not completed: retry later, with the same Idempotency-Key so that a retry never"
            " makes a second job"
        )
        return _error(503, detail, **{"Retry-After": "5"})

    for exc_type in (redis.ConnectionError, redis.TimeoutError, kombu.exceptions.OperationalError):
        app.add_exception_handler(exc_type, _unavailable)


def _methods_of(app: FastAPI, scope: Scope) -> set[str]:
    """Every method some route answers at the scope's path (asked of the router, method by method:
    FastAPI nests included routers, so the routes are not a flat list to read)."""
    return {
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
        if any(r.matches({**scope, "method": method})[0] is Match.FULL for r in app.router.routes)
    }


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with the component schemas that raw-body routes declare moved in."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for path in schema["paths"].values():
        for op in path.values():
            components.update(op.pop("x-components", {}))
    app.openapi_schema = schema
    return schema
