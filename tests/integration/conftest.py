"""Fixtures of the service tests: a redis-server, the API over HTTP, celery worker processes.

Nothing is mocked. Redis runs on a free port with its data in a temp folder; the API runs under
uvicorn in a thread of the test process; workers are ``scenecraft worker`` subprocesses that
also load the ``test.steps`` pipeline. Everything started here is stopped in teardown.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# the harness module sits beside this file; with --import-mode=importlib nothing else puts this
# folder on sys.path when these tests run on their own
sys.path.insert(0, str(Path(__file__).parent))
from service_harness import KEY_A, KEY_B, SERVICE_ENV, ApiServer, auth, workers_for  # noqa: E402

from scenecraft.service.worker.local import RedisServer, Workers


@pytest.fixture(scope="session")
def service_env(tmp_path_factory) -> Iterator[str]:
    """The environment of every service test; returns the Redis URL."""
    from scenecraft.core.settings import get_settings
    from scenecraft.service.worker.config import get_service_settings

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    env = {
        **SERVICE_ENV,
        "SCENECRAFT_REDIS_URL": server.url,
        "SCENECRAFT_ARTIFACTS": str(tmp_path_factory.mktemp("artifacts")),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    get_service_settings.cache_clear()
    try:
        yield server.url
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
        get_service_settings.cache_clear()
        server.stop()


@pytest.fixture(scope="session")
def api(service_env: str) -> Iterator[ApiServer]:
    with ApiServer() as server:
        yield server


@pytest.fixture
def workers(service_env: str) -> Iterator[Workers]:
    w = workers_for(service_env)
    try:
        yield w
    finally:
        w.stop_all()


@pytest.fixture
def client_a(api: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, headers=auth(KEY_A), timeout=30) as c:
        yield c


@pytest.fixture
def client_b(api: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, headers=auth(KEY_B), timeout=30) as c:
        yield c
