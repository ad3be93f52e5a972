"""Real services for the service tests: a redis-server, the API over HTTP, celery worker processes.

Nothing is mocked. Redis runs on a free port with its data in a temp folder; the API runs under
uvicorn in a thread of the test process; workers are ``scenecraft worker`` subprocesses that
also load the ``test.steps`` pipeline. Everything started here is stopped in teardown.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
import steps_pipeline  # noqa: F401  (registers test.steps in this process, as workers do)
import uvicorn

HERE = Path(__file__).parent
REPO = HERE.parent.parent
KEY_A, KEY_B = "key-a-0123456789", "key-b-0123456789"
# short limits so lost workers are noticed within seconds; the hard limit stays under the
# visibility timeout as in production
SERVICE_ENV = {
    "SCENECRAFT_API_KEYS": f"{KEY_A},{KEY_B}",
    "SCENECRAFT_JOB_TIME_LIMIT_S": "8",
    "SCENECRAFT_JOB_SOFT_TIME_LIMIT_S": "6",
    "SCENECRAFT_VISIBILITY_TIMEOUT_S": "10",
    "SCENECRAFT_UNACKED_RESTORE_INTERVAL_S": "1",
    "SCENECRAFT_LEASE_TTL_S": "3",
    "SCENECRAFT_WORKER_HEARTBEAT_S": "1",
    "SCENECRAFT_PREVIEW_INTERVAL_S": "0",
    "SCENECRAFT_DEVICE": "cpu",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, timeout: float = 60.0, every: float = 0.05):
    """Poll ``check`` until it returns something truthy (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}")


class RedisServer:
    """A private redis-server. ``persist`` keeps an append-only file so a restart keeps data."""

    def __init__(self, folder: Path, persist: bool = False):
        self.folder, self.persist, self.port = folder, persist, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--dir", str(self.folder)]
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.persist else [
            "--appendonly", "no"
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), "redis-server to answer")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            self.proc = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


class ApiServer:
    """The API under uvicorn in a thread, on a free port."""

    def __init__(self):
        from scenecraft.api.app import create_app
        from scenecraft.api.service import Service
        from scenecraft.settings import get_settings
        from scenecraft.worker.app import make_celery
        from scenecraft.worker.config import get_service_settings

        self.service = Service.from_settings(get_settings(), get_service_settings(), make_celery())
        self.app = create_app(self.service)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        wait_for(lambda: self.server.started, "uvicorn to start")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


class Workers:
    """``scenecraft worker`` processes; each has a unique node name and is killed at teardown."""

    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, queues: str = "cpu", concurrency: int = 1) -> str:
        name = f"w{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        env = {
            **os.environ,
            "SCENECRAFT_REDIS_URL": self.redis_url,
            "PYTHONPATH": str(HERE),
            "OMP_NUM_THREADS": "1",
        }
        cmd = [sys.executable, "-m", "scenecraft.cli", "worker", "--queues", queues]
        cmd += ["--concurrency", str(concurrency), "--name", name, "--include", "steps_pipeline"]
        cmd += ["--loglevel", "warning"]
        self.procs[name] = subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True)
        store = redis.Redis.from_url(self.redis_url, decode_responses=True)
        first = queues.split(",")[0]
        wait_for(
            lambda: store.zscore(f"sc:workers:{first}", name) is not None,
            f"worker {name} to be ready",
            timeout=120,
        )
        return name

    def parent_of(self, pid: int) -> str | None:
        """The node whose main process is ``pid`` or the parent of ``pid``."""
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, IndexError):
            return None
        for name, p in self.procs.items():
            if p.pid in (pid, ppid):
                return name
        return None

    def kill(self, name: str) -> None:
        """SIGKILL the whole worker (main process and its children)."""
        p = self.procs.pop(name)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(30)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)


@pytest.fixture(scope="session")
def service_env(tmp_path_factory) -> Iterator[str]:
    """The environment of every service test; returns the Redis URL."""
    from scenecraft.settings import get_settings
    from scenecraft.worker.config import get_service_settings

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
    w = Workers(service_env)
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


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_state(client: httpx.Client, job_id: str, states: set[str], timeout: float = 120) -> dict:
    def check():
        job = client.get(f"/v1/jobs/{job_id}").json()
        return job if job["state"] in states else None

    return wait_for(check, f"job {job_id} to reach {states}", timeout=timeout, every=0.1)
