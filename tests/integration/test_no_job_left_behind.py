"""No job left behind: a running job whose worker is gone (killed whole, or cut off from Redis)
is put back at the front of its owner's queue by the reaper and ends exactly once, in seconds,
not after Redis' visibility timeout."""

from __future__ import annotations

import json
import signal
import time

import httpx
import pytest
from service_harness import KEY_A, ApiServer, auth, wait_state, workers_for
from steps_pipeline import DONE, STARTS

from scenecraft.core.settings import get_settings
from scenecraft.service.store import TERMINAL, JobStore, NewJob, events_key
from scenecraft.service.worker.config import get_service_settings
from scenecraft.service.worker.local import RedisServer, wait_for


def steps(tag: str, n: int = 6, step_s: float = 0.15) -> dict:
    return {"pipeline": "test.steps", "params": {"steps": n, "step_s": step_s, "tag": tag}}


def test_the_reaper_requeues_a_lapsed_job_first_in_its_owners_queue(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        store = JobStore.from_url(server.url)
        jobs = [NewJob("test.steps", "cpu", {"steps": 1}, id=f"j{i}") for i in range(3)]
        store.create("alice", jobs, retention_s=600, max_queued=100)
        kw = dict(lease_s=0.2, max_attempts=2, retention_s=600)
        assert store.claim("cpu", "t1", "elsewhere:1", **kw)[:2] == ["run", "j0"]
        assert store.lapsed("cpu") == []
        # Redis up for less than a lease: a restarted Redis lets live holders take leases back
        assert store.reap("cpu", max_attempts=2, retention_s=600, grace_s=10**6).requeued == []
        time.sleep(0.3)  # the holder died: its lease lapses
        assert store.lapsed("cpu") == ["j0"]
        out = store.reap("cpu", max_attempts=2, retention_s=600, grace_s=0)
        assert (out.requeued, out.failed) == (["j0"], [])
        assert store.get("j0").state == "queued" and store.lapsed("cpu") == []
        # the message that claimed it, redelivered later, no longer points at it
        assert store.claimed_by("t1") is None
        # first in line again, ahead of the jobs queued after it; its attempt is counted
        assert store.claim("cpu", "t2", "here:2", **kw)[:3] == ["run", "j0", "2"]
        time.sleep(0.3)
        out = store.reap("cpu", max_attempts=2, retention_s=600, grace_s=0)
        assert out.failed == ["j0"] and store.get("j0").state == "failed"
        assert "lost 2 times" in store.get("j0").error
        # a live holder keeps its job: renewing takes a lapsed lease back for the same attempt
        assert store.claim("cpu", "t3", "here:3", **kw)[:3] == ["run", "j1", "1"]
        time.sleep(0.3)
        assert not store.renew("j1", "here:3", 5, attempt=2)  # not its attempt
        assert store.renew("j1", "here:3", 5, attempt=1)
        assert store.reap("cpu", max_attempts=2, retention_s=600, grace_s=0).requeued == []
        assert store.finish("j1", 1, "succeeded", 600)
        assert store.running("cpu") == []
    finally:
        server.stop()


@pytest.mark.timeout(400)
def test_chaos_whole_worker_killed_and_redis_restarted_mid_batch(
    tmp_path, monkeypatch, service_env
):
    """Default visibility timeout (an hour): a whole worker is killed with kill -9 while it runs
    a job, then Redis is killed and restarted (append-only file) while jobs run. Every job
    succeeds exactly once, within seconds of the losses; the batch ends."""
    server = RedisServer(tmp_path / "redis", persist=True)
    server.start()
    monkeypatch.setenv("SCENECRAFT_REDIS_URL", server.url)
    monkeypatch.delenv("SCENECRAFT_VISIBILITY_TIMEOUT_S", raising=False)
    # the harness' 6 s job limit is shorter than the Redis outage below: jobs waiting it out
    # would fail on the limit, which is not what this test is about
    limits = {"SCENECRAFT_JOB_SOFT_TIME_LIMIT_S": "60", "SCENECRAFT_JOB_TIME_LIMIT_S": "90"}
    for k, v in limits.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    get_service_settings.cache_clear()
    assert get_service_settings().visibility_timeout_s == 3600  # the default
    workers = workers_for(server.url)
    workers.env.pop("SCENECRAFT_VISIBILITY_TIMEOUT_S", None)
    workers.env.update(limits)
    store = JobStore.from_url(server.url)
    try:
        first = workers.start()
        workers.start()
        with (
            ApiServer() as api,
            httpx.Client(base_url=api.url, headers=auth(KEY_A), timeout=30) as c,
        ):
            tags = [f"chaos-{i}" for i in range(16)]
            batch = c.post("/v1/batches", json={"jobs": [steps(t) for t in tags]}).json()
            ids = [j["id"] for j in batch["jobs"]]

            def mid_job(node: str | None = None):
                for r in store.get_many(ids):
                    if r and r.state == "running" and r.progress and 1 <= r.progress["step"] <= 3:
                        pid = int(r.worker.rpartition(":")[2])
                        if node is None or workers.parent_of(pid) == node:
                            return r
                return None

            # 1. the whole first worker (main process and its child) dies mid-job
            victim = wait_for(lambda: mid_job(first), "a job under way on the first worker")
            workers.kill(first)
            killed_at = time.monotonic()
            wait_state(c, victim.id, {"succeeded"}, timeout=60)
            # lease (3 s) + a heartbeat, not the visibility timeout (3,600 s)
            assert time.monotonic() - killed_at < 30
            workers.start()

            # 2. Redis dies under a running job and comes back 5 s later with its data
            busy = wait_for(mid_job, "a job under way")
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(10)
            time.sleep(5)
            server.start()
            back_at = time.monotonic()
            wait_state(c, busy.id, TERMINAL, timeout=60)
            for job_id in ids:
                wait_state(c, job_id, TERMINAL, timeout=120)
            assert time.monotonic() - back_at < 120
            final = store.get_many(ids)
            assert [r.state for r in final] == ["succeeded"] * len(ids)
            assert {r.id: r.attempts for r in final}[victim.id] >= 2
            # each job's pipeline completed once and its success was written once
            assert sorted(store.r.lrange(DONE, 0, -1)) == sorted(tags)
            assert set(store.r.lrange(STARTS, 0, -1)) == set(tags)
            for job_id in ids:
                states = [
                    json.loads(f["data"])["state"]
                    for _, f in store.r.xrange(events_key(job_id))
                    if f["type"] == "state"
                ]
                assert states.count("succeeded") == 1, states
            assert c.get(f"/v1/batches/{batch['id']}").json()["state"] == "done"
            ready = httpx.get(f"{api.url}/readyz").json()
            assert ready["lapsed"] == {"gpu": 0, "cpu": 0}
    finally:
        workers.stop_all()
        server.stop()
        monkeypatch.undo()
        get_settings.cache_clear()
        get_service_settings.cache_clear()


def test_a_failing_pipeline_names_its_stage_and_never_shows_a_traceback(client_a, workers):
    workers.start()
    job = client_a.post(
        "/v1/jobs", json={"pipeline": "test.steps", "params": {"steps": 1, "fail": True}}
    ).json()
    done = wait_state(client_a, job["id"], TERMINAL)
    assert done["state"] == "failed"
    assert done["error"] == "internal error in test.steps during steps: RuntimeError: asked to fail"


def test_a_token_held_by_a_dead_worker_does_not_hold_back_the_top_up(tmp_path):
    """kombu gives a dead worker's unacknowledged message back only after the visibility
    timeout (an hour): it must not count as a token for a queued job meanwhile."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        store = JobStore.from_url(server.url)
        store.create("alice", [NewJob("test.steps", "cpu", {"steps": 1})], retention_s=60,
                     max_queued=10)  # fmt: skip
        assert store.missing_tokens("cpu", fresh_s=15) == 1  # queued, no message waiting
        store.r.zadd("unacked_index", {"dead-worker-tag": time.time() - 600})
        assert store.missing_tokens("cpu", fresh_s=15) == 1
        store.r.zadd("unacked_index", {"about-to-claim": time.time()})
        assert store.missing_tokens("cpu", fresh_s=15) == 0
    finally:
        server.stop()
