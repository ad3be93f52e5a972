"""Jobs survive killed workers and a stopped Redis; cancel reaches queued and running jobs."""

from __future__ import annotations

import json
import os
import signal
import time

import httpx
import pytest
import redis
from service_harness import KEY_A, ApiServer, auth, wait_state, workers_for
from steps_pipeline import DONE, STARTS

from scenecraft.client.http import parse_sse
from scenecraft.core.settings import get_settings
from scenecraft.service.store import TERMINAL, JobStore, NewJob, events_key
from scenecraft.service.worker.config import get_service_settings
from scenecraft.service.worker.local import RedisServer, wait_for

STEPS = 6


def steps_job(tag: str, steps: int = STEPS, step_s: float = 0.1, **more) -> dict:
    params = {"steps": steps, "step_s": step_s, "tag": tag, **more}
    return {"pipeline": "test.steps", "params": params}


@pytest.mark.timeout(400)
def test_kill_9_twenty_times_across_fifty_jobs(client_a, workers, service_env):
    """Every accepted job succeeds exactly once although its worker was killed mid-job 20 times:
    18 times the process running the job, twice the whole worker (main process and children),
    which Redis redelivers only after its visibility timeout."""
    store = JobStore.from_url(service_env)
    store.r.delete(STARTS, DONE)
    workers.start()
    workers.start()
    tags = [f"kill-{i}" for i in range(50)]
    batch = client_a.post("/v1/batches", json={"jobs": [steps_job(t) for t in tags]}).json()
    ids = [j["id"] for j in batch["jobs"]]

    killed: set[str] = set()
    while len(killed) < 20:
        recs = [r for r in store.get_many(ids) if r is not None]
        assert not all(r.state in TERMINAL for r in recs), "the jobs ran out before 20 kills"
        # mid-job: past its first step and at least two steps from the end
        victims = [
            r
            for r in recs
            if r.state == "running"
            and r.id not in killed
            and r.progress
            and 1 <= r.progress["step"] <= STEPS - 2
        ]
        if not victims:
            time.sleep(0.02)  # leave the CPU to the workers between looks
            continue
        victim = victims[0]
        pid = int(victim.worker.rpartition(":")[2])
        if len(killed) % 10 == 9:
            node = workers.parent_of(pid)
            if node is None:
                continue
            workers.kill(node)
            workers.start()
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        killed.add(victim.id)

    for job_id in ids:
        wait_state(client_a, job_id, TERMINAL, timeout=300)
    final = store.get_many(ids)
    assert [r.state for r in final] == ["succeeded"] * 50
    assert all(r.attempts >= 2 for r in final if r.id in killed)
    done = store.r.lrange(DONE, 0, -1)
    # each job's pipeline ran to completion exactly once: no job lost, none duplicated
    assert sorted(done) == sorted(tags)
    starts = store.r.lrange(STARTS, 0, -1)
    assert len(starts) >= 50 + len(killed)
    for job_id in ids:
        states = [
            json.loads(f["data"])["state"]
            for _, f in store.r.xrange(events_key(job_id))
            if f["type"] == "state"
        ]
        assert states.count("succeeded") == 1


@pytest.mark.timeout(120)
def test_a_worker_killed_holding_the_restore_mutex_delays_redelivery_only_seconds(
    client_a, workers, service_env
):
    """kombu restores unacknowledged messages under a Redis mutex; a worker killed while it held
    the mutex used to stop every redelivery for kombu's default 300 s."""
    from scenecraft.service.worker.app import celery_app

    store = JobStore.from_url(service_env)
    workers.start()
    job = client_a.post("/v1/jobs", json=steps_job("mutex", steps=40, step_s=0.1)).json()
    rec = wait_for(
        lambda: (r := store.get(job["id"])) and r.state == "running" and r.progress and r,
        "the job to start",
    )
    node = workers.parent_of(int(rec.worker.rpartition(":")[2]))
    assert node is not None
    workers.kill(node)
    # the dead worker held the mutex, taken with the expiry this app configures
    opts = celery_app.conf.broker_transport_options
    store.r.set("unacked_mutex", "dead-worker-token", ex=opts["unacked_mutex_expire"])
    started = time.monotonic()
    workers.start()
    wait_state(client_a, job["id"], {"succeeded"}, timeout=90)
    svc = get_service_settings()
    # visibility timeout + mutex expiry + the job's own 4 s, with room for a slow machine
    assert time.monotonic() - started < svc.visibility_timeout_s + opts["unacked_mutex_expire"] + 30


def test_cancel_running_job_stops_within_one_step(client_a, workers):
    workers.start()
    job = client_a.post("/v1/jobs", json=steps_job("", steps=200, step_s=0.05)).json()
    seen_cancel, steps_after = False, 0
    with client_a.stream("GET", f"/v1/jobs/{job['id']}/events", timeout=120) as r:
        for ev in parse_sse(r.iter_lines()):
            if ev.type == "progress" and not seen_cancel and ev.data["step"] >= 3:
                assert client_a.post(f"/v1/jobs/{job['id']}/cancel").status_code == 200
            elif ev.type == "cancel_requested":
                seen_cancel = True
            elif ev.type == "progress" and seen_cancel:
                steps_after += 1
            elif ev.type == "state":
                last = ev.data["state"]
    assert last == "canceled"
    assert steps_after <= 1
    done = client_a.get(f"/v1/jobs/{job['id']}").json()
    assert done["state"] == "canceled" and done["progress"]["step"] < 200


def test_cancel_queued_job_never_starts(client_a, service_env):
    store = JobStore.from_url(service_env)
    # no worker is running, so the job stays queued until a worker comes
    job = client_a.post("/v1/jobs", json=steps_job("never-runs", steps=1)).json()
    r = client_a.post(f"/v1/jobs/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "canceled"
    assert client_a.post(f"/v1/jobs/{job['id']}/cancel").status_code == 409
    probe = client_a.post("/v1/jobs", json=steps_job("after-cancel", steps=1)).json()
    w = workers_for(service_env)
    try:
        w.start()
        wait_state(client_a, probe["id"], {"succeeded"})
    finally:
        w.stop_all()
    assert "never-runs" not in store.r.lrange(STARTS, 0, -1)
    assert store.get(job["id"]).started_at is None


@pytest.mark.timeout(300)
def test_redis_down_is_503_and_queued_jobs_proceed_after(tmp_path, monkeypatch, service_env):
    """A Redis with an append-only file: stopped under the API, then started again."""
    server = RedisServer(tmp_path / "redis", persist=True)
    server.start()
    monkeypatch.setenv("SCENECRAFT_REDIS_URL", server.url)
    get_settings.cache_clear()
    get_service_settings.cache_clear()
    workers = workers_for(server.url)
    try:
        with ApiServer() as api, httpx.Client(base_url=api.url, headers=auth(KEY_A)) as c:
            queued = [c.post("/v1/jobs", json=steps_job(f"q{i}", steps=2)).json() for i in range(3)]
            server.stop()
            r = c.post("/v1/jobs", json=steps_job("lost", steps=2))
            assert r.status_code == 503
            assert "Redis" in r.json()["detail"] and "unreachable" in r.json()["detail"]
            assert r.headers["retry-after"]
            assert c.get(f"/v1/jobs/{queued[0]['id']}").status_code == 503
            assert httpx.get(f"{api.url}/readyz").status_code == 503
            server.start()
            workers.start()
            for job in queued:
                wait_state(c, job["id"], {"succeeded"})
            listed = c.get("/v1/jobs").json()["jobs"]
            # the refused request left nothing behind
            assert sorted(j["id"] for j in listed) == sorted(j["id"] for j in queued)
            assert redis.Redis.from_url(server.url).lrange(DONE, 0, -1).count(b"lost") == 0
            ready = httpx.get(f"{api.url}/readyz")
            # Redis is back and the cpu worker is seen; no worker consumes the gpu queue
            assert ready.status_code == 503
            assert ready.json()["redis"] == "ok" and ready.json()["workers"]["cpu"] == 1
    finally:
        workers.stop_all()
        server.stop()
        monkeypatch.undo()
        get_settings.cache_clear()
        get_service_settings.cache_clear()


def test_a_job_whose_worker_keeps_dying_fails_with_a_reason(client_a, workers, service_env):
    store = JobStore.from_url(service_env)
    workers.start()
    job = client_a.post("/v1/jobs", json=steps_job("", steps=100, step_s=0.1)).json()
    for attempt in (1, 2, 3):  # SCENECRAFT_MAX_ATTEMPTS is 3

        def running_attempt(attempt=attempt):
            rec = store.get(job["id"])
            mid = rec.attempts == attempt and rec.progress and rec.progress["step"] >= 1
            return rec if rec.state == "running" and mid else None

        rec = wait_for(running_attempt, f"attempt {attempt} to be under way")
        os.kill(int(rec.worker.rpartition(":")[2]), signal.SIGKILL)
    done = wait_state(client_a, job["id"], TERMINAL)
    assert done["state"] == "failed"
    assert "lost 3 times" in done["error"]


def test_a_job_past_its_time_limit_fails_with_a_reason(client_a, workers):
    workers.start()
    # 10 s of steps against the tests' soft limit of 6 s
    job = client_a.post("/v1/jobs", json=steps_job("", steps=100, step_s=0.1)).json()
    done = wait_state(client_a, job["id"], TERMINAL)
    assert done["state"] == "failed"
    assert "time limit of 6 s" in done["error"]


def test_a_job_killed_at_the_hard_limit_fails_once_and_says_so(client_a, workers, service_env):
    """Killed at the hard limit, the job's process is gone: the reaper must not take that for a
    lost worker and run the job again (to the same end, max-attempts times)."""
    r = redis.Redis.from_url(service_env)
    r.delete(STARTS)
    workers.start()
    job = client_a.post(
        "/v1/jobs", json=steps_job("hard-limit", steps=100, step_s=0.1, stuck=True)
    ).json()
    done = wait_state(client_a, job["id"], TERMINAL)
    assert done["state"] == "failed"
    assert "hard time limit of 8 s" in done["error"], done["error"]
    assert done["attempts"] == 1
    assert r.lrange(STARTS, 0, -1).count(b"hard-limit") == 1


def test_a_queued_job_whose_message_was_lost_still_runs(api, client_a, workers, service_env):
    """Jobs written but never announced to Celery (Redis failed between the two writes) are
    found by the workers' top-up."""
    store = JobStore.from_url(service_env)
    store.r.delete("cpu")  # drop every waiting Celery message of the cpu queue
    job = NewJob("test.steps", "cpu", {"steps": 1, "step_s": 0, "seed": 1})
    store.create(api.service.owner_of(KEY_A), [job], retention_s=600, max_queued=10_000)
    workers.start()
    assert wait_state(client_a, job.id, TERMINAL)["state"] == "succeeded"
