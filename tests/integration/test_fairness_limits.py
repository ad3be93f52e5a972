"""Round-robin across keys, priority within a key, per-key limits, and the metrics they leave."""

from __future__ import annotations

import httpx
import pytest
from service_harness import ApiServer, auth, cancel_all, wait_state

from scenecraft.core.settings import get_settings
from scenecraft.service.store import JobStore
from scenecraft.service.worker.config import get_service_settings


def steps(n: int = 3, priority: int = 5) -> dict:
    return {"pipeline": "test.steps", "params": {"steps": n, "step_s": 0.02}, "priority": priority}


def test_a_single_job_is_not_starved_by_another_keys_batch(
    client_a, client_b, workers, service_env
):
    store = JobStore.from_url(service_env)
    cancel_all(client_b)  # B's single job must be B's only one
    big = client_a.post("/v1/batches", json={"jobs": [steps() for _ in range(40)]}).json()
    workers.start()
    wait_state(client_a, big["jobs"][0]["id"], {"running", "succeeded"})
    single = client_b.post("/v1/jobs", json=steps()).json()
    wait_state(client_b, single["id"], {"succeeded"})
    b_job = store.get(single["id"])
    a_jobs = [r for r in store.get_many([j["id"] for j in big["jobs"]]) if r is not None]
    started_between = [
        r
        for r in a_jobs
        if r.started_at is not None and b_job.created_at < r.started_at < b_job.started_at
    ]
    # round-robin: at most the job already dispatched plus one more of A's run before B's job
    assert len(started_between) <= 1
    assert sum(r.state != "succeeded" for r in a_jobs) > 0  # A's batch was still going
    client_a.post(f"/v1/batches/{big['id']}/cancel")


def test_priority_orders_one_keys_jobs(client_b, workers, service_env):
    low = [client_b.post("/v1/jobs", json=steps(1, priority=1)).json() for _ in range(3)]
    high = client_b.post("/v1/jobs", json=steps(1, priority=9)).json()
    workers.start()
    for j in (*low, high):
        wait_state(client_b, j["id"], {"succeeded"})
    store = JobStore.from_url(service_env)
    started = {r.id: r.started_at for r in store.get_many([j["id"] for j in (*low, high)])}
    assert started[high["id"]] < min(started[j["id"]] for j in low)


def test_metrics_report_queues_durations_and_outcomes(api, client_a, workers):
    canceled = client_a.post("/v1/jobs", json=steps()).json()
    client_a.post(f"/v1/jobs/{canceled['id']}/cancel")
    workers.start()
    job = client_a.post("/v1/jobs", json=steps()).json()
    wait_state(client_a, job["id"], {"succeeded"})
    text = httpx.get(f"{api.url}/metrics").text
    for line in (
        'scenecraft_queue_depth{queue="gpu"}',
        'scenecraft_job_duration_seconds_bucket{le="+Inf",pipeline="test.steps"}',
        'scenecraft_job_queue_wait_seconds_count{pipeline="test.steps"}',
        'scenecraft_jobs_succeeded_total{pipeline="test.steps"}',
        'scenecraft_jobs_canceled_total{pipeline="test.steps"}',
    ):
        assert line in text, line


@pytest.mark.parametrize(
    "env, expect",
    [
        ({"SCENECRAFT_RATE_LIMIT_BURST": "3", "SCENECRAFT_RATE_LIMIT_PER_S": "0.01"}, "rate"),
        ({"SCENECRAFT_MAX_QUEUED_PER_KEY": "2"}, "queued"),
    ],
)
def test_per_key_limits_answer_429(service_env, monkeypatch, env, expect):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_service_settings.cache_clear()
    # a key of its own, so the limits start fresh and other tests' keys are untouched
    key = f"limits-{expect}"
    monkeypatch.setenv("SCENECRAFT_API_KEYS", key)
    get_settings.cache_clear()
    try:
        with ApiServer() as api, httpx.Client(base_url=api.url, headers=auth(key)) as c:
            answers = [c.post("/v1/jobs", json=steps()) for _ in range(4)]
            codes = [r.status_code for r in answers]
            assert codes[:2] == [202, 202] and codes[-1] == 429
            refused = answers[-1]
            assert int(refused.headers["retry-after"]) >= 1
            assert expect in refused.json()["detail"]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        get_service_settings.cache_clear()
