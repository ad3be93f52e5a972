"""Helpers of the service tests: keys, the API in a thread, workers that load ``test.steps``.

Kept out of ``conftest.py`` so test modules import them by a name no other folder uses.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import steps_pipeline  # noqa: F401  (registers test.steps in this process, as workers do)
import uvicorn

from scenecraft.service.worker.local import Workers, free_port, wait_for

HERE = Path(__file__).parent
REPO = HERE.parent.parent
KEY_A, KEY_B, KEY_FUZZ = "key-a-0123456789", "key-b-0123456789", "key-fuzz-0123456789"
# short limits so lost workers are noticed within seconds; the hard limit stays under the
# visibility timeout as in production
SERVICE_ENV = {
    "SCENECRAFT_API_KEYS": f"{KEY_A},{KEY_B},{KEY_FUZZ}",
    "SCENECRAFT_JOB_TIME_LIMIT_S": "8",
    "SCENECRAFT_JOB_SOFT_TIME_LIMIT_S": "6",
    "SCENECRAFT_VISIBILITY_TIMEOUT_S": "10",
    "SCENECRAFT_UNACKED_RESTORE_INTERVAL_S": "1",
    "SCENECRAFT_LEASE_TTL_S": "3",
    "SCENECRAFT_WORKER_HEARTBEAT_S": "1",
    "SCENECRAFT_PREVIEW_INTERVAL_S": "0",
    "SCENECRAFT_DEVICE": "cpu",
    # slow clients are cut off within seconds rather than production's tens of seconds
    "SCENECRAFT_HEADER_TIMEOUT_S": "2",
    "SCENECRAFT_BODY_TIMEOUT_S": "2",
}


class ApiServer:
    """The API under uvicorn in a thread, on a free port."""

    def __init__(self):
        from scenecraft.core.settings import get_settings
        from scenecraft.service.api.app import create_app
        from scenecraft.service.api.server import uvicorn_config
        from scenecraft.service.api.service import Service
        from scenecraft.service.worker.app import make_celery
        from scenecraft.service.worker.config import get_service_settings

        self.service = Service.from_settings(get_settings(), get_service_settings(), make_celery())
        self.app = create_app(self.service)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        svc = get_service_settings()
        config = uvicorn_config(self.app, "127.0.0.1", self.port, svc, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        wait_for(lambda: self.server.started, "uvicorn to start")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def workers_for(redis_url: str) -> Workers:
    """Workers that also load the ``test.steps`` pipeline."""
    return StepsWorkers(redis_url, env={"PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}, cwd=REPO)


class StepsWorkers(Workers):
    def start(self, queues: str = "cpu", concurrency: int = 1, include=("steps_pipeline",)) -> str:
        return super().start(queues, concurrency, include)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_state(client: httpx.Client, job_id: str, states: set[str], timeout: float = 120) -> dict:
    def check():
        job = client.get(f"/v1/jobs/{job_id}").json()
        return job if job["state"] in states else None

    return wait_for(check, f"job {job_id} to reach {states}", timeout=timeout, every=0.1)


def cancel_all(client: httpx.Client) -> None:
    """Cancel every unfinished job of the client's key, so later tests' workers skip them."""
    for state in ("queued", "running"):
        while jobs := client.get("/v1/jobs", params={"status": state, "limit": 200}).json()["jobs"]:
            for j in jobs:
                client.post(f"/v1/jobs/{j['id']}/cancel")
            if state == "running":
                break
