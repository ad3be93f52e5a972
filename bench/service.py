"""The job service under load: REST API + Celery workers against raw Celery round trips.

Run: ``python bench/service.py [--jobs 1000] [--batch 500] [--seq 100]
[--out bench/results/service.json]``. It starts a private redis-server, one worker with two job
processes (``scenecraft worker --concurrency 2``) and the API (``scenecraft serve``) as separate
processes, all on this machine, and stops them at the end. The job is ``world.render`` at 64 px.

1. latency: ``--seq`` single jobs one after another, alternating the API path (POST, then the
   SSE stream until the final state) with a raw Celery round trip of the same pipeline work
   (``send_task`` + ``get``); added latency = API p50 - raw p50.
2. load: ``--jobs`` jobs POSTed by 16 client threads; throughput, queue wait (start - submit, from
   the job records) and POST latency; then the same number of raw Celery tasks in one burst.
3. fairness: key A queues a ``--batch``-job batch, then key B one job; B's queue wait in units
   of the mean job duration, and how many of A's jobs started before B's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from scenecraft.client.http import Client
from scenecraft.core.settings import get_settings
from scenecraft.pipelines.artifacts import open_store
from scenecraft.pipelines.registry import run_pipeline
from scenecraft.service.store import TERMINAL, JobStore
from scenecraft.service.worker.app import celery_app
from scenecraft.service.worker.local import RedisServer, Workers, free_port, wait_for

HERE = Path(__file__).parent
KEY_A, KEY_B = "bench-key-a", "bench-key-b"
PIPELINE = "world.render"
console = Console()


@celery_app.task(name="bench.raw")
def raw_render(pipeline: str, params: dict[str, Any]) -> dict[str, Any]:
    """The pipeline work of one job without the service around it (workers load this module)."""
    store = open_store(get_settings().artifacts)
    return {"seconds": run_pipeline(pipeline, params, store=store, device="cpu").record["seconds"]}


def params(seed: int) -> dict[str, Any]:
    return {"prompt": "two red circles left of a blue star", "size": 64, "seed": seed}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float], q: float) -> float:
    return round(1000 * pct(values, q), 2)


def latency(api: str, raw_app: Any, n: int) -> dict[str, Any]:
    client = Client(api, KEY_A)
    api_s, raw_s, post_s = [], [], []
    # warm both job processes on both paths first (imports happen on a process's first job)
    for i in range(4):
        raw_app.send_task("bench.raw", args=[PIPELINE, params(i)], queue="cpu").get(timeout=60)
        job = client.http.post("/v1/jobs", json={"pipeline": PIPELINE, "params": params(i)})
        for _ in client.events(job.json()["id"]):
            pass
    for i in range(n):
        t0 = time.perf_counter()
        raw_app.send_task("bench.raw", args=[PIPELINE, params(i)], queue="cpu").get(timeout=60)
        raw_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        r = client.http.post("/v1/jobs", json={"pipeline": PIPELINE, "params": params(i)})
        post_s.append(time.perf_counter() - t0)
        for _ in client.events(r.json()["id"]):
            pass
        api_s.append(time.perf_counter() - t0)
    client.close()
    return {
        "n": n,
        "api_round_trip_ms": {"p50": ms(api_s, 0.5), "p99": ms(api_s, 0.99)},
        "raw_celery_round_trip_ms": {"p50": ms(raw_s, 0.5), "p99": ms(raw_s, 0.99)},
        "post_ms": {"p50": ms(post_s, 0.5), "p99": ms(post_s, 0.99)},
        "added_latency_p50_ms": round(1000 * (pct(api_s, 0.5) - pct(raw_s, 0.5)), 2),
    }


def load(api: str, store: JobStore, raw_app: Any, n: int) -> dict[str, Any]:
    post_s: list[float] = []

    def submit(i: int) -> str:
        with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {KEY_A}"}) as c:
            t0 = time.perf_counter()
            r = c.post("/v1/jobs", json={"pipeline": PIPELINE, "params": params(10_000 + i)})
            post_s.append(time.perf_counter() - t0)
            r.raise_for_status()
            return r.json()["id"]

    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(submit, range(n)))
    recs = wait_for(lambda: _all_done(store, ids), "the load jobs", timeout=3600, every=0.5)
    first = min(r.created_at for r in recs)
    last = max(r.finished_at for r in recs)
    waits = [r.started_at - r.created_at for r in recs]
    runs = [r.finished_at - r.started_at for r in recs]

    t0 = time.perf_counter()
    results = [
        raw_app.send_task("bench.raw", args=[PIPELINE, params(20_000 + i)], queue="cpu")
        for i in range(n)
    ]
    raw_pipeline_s = [res.get(timeout=3600)["seconds"] for res in results]
    raw_wall = time.perf_counter() - t0
    return {
        "n": n,
        "succeeded": sum(r.state == "succeeded" for r in recs),
        "api_jobs_per_s": round(n / (last - first), 2),
        "raw_celery_tasks_per_s": round(n / raw_wall, 2),
        "queue_wait_s": {"p50": round(pct(waits, 0.5), 3), "p99": round(pct(waits, 0.99), 3)},
        "job_run_ms": {"mean": round(1000 * statistics.mean(runs), 2)},
        # the pipeline's own time (its record's "seconds") on each path: equal times mean the
        # throughput gap is the service's overhead, unequal ones that the CPU was busier
        "pipeline_ms_mean": {
            "api": round(1000 * statistics.mean(r.record["seconds"] for r in recs), 2),
            "raw": round(1000 * statistics.mean(raw_pipeline_s), 2),
        },
        "post_ms": {"p50": ms(post_s, 0.5), "p99": ms(post_s, 0.99)},
    }


def fairness(api: str, store: JobStore, batch: int) -> dict[str, Any]:
    a = httpx.Client(base_url=api, headers={"Authorization": f"Bearer {KEY_A}"}, timeout=120)
    b = httpx.Client(base_url=api, headers={"Authorization": f"Bearer {KEY_B}"}, timeout=30)
    jobs = [{"pipeline": PIPELINE, "params": params(30_000 + i)} for i in range(batch)]
    big = a.post("/v1/batches", json={"jobs": jobs}).json()
    a_ids = [j["id"] for j in big["jobs"]]
    # let A's batch occupy both job processes before B arrives
    wait_for(lambda: len(_started(store, a_ids)) >= 4, "A's batch to start", timeout=600)
    single = b.post("/v1/jobs", json={"pipeline": PIPELINE, "params": params(1)}).json()
    (rec,) = wait_for(lambda: _all_done(store, [single["id"]]), "B's job", timeout=600)
    started = _started(store, a_ids)
    runs = [r.finished_at - r.started_at for r in started if r.finished_at]
    ahead = [r for r in started if rec.created_at < r.started_at < rec.started_at]
    a.post(f"/v1/batches/{big['id']}/cancel")
    job_s = statistics.mean(runs)
    wait = rec.started_at - rec.created_at
    return {
        "batch": batch,
        "b_queue_wait_ms": round(1000 * wait, 2),
        "mean_job_ms": round(1000 * job_s, 2),
        "b_wait_in_job_durations": round(wait / job_s, 2),
        "a_jobs_started_between_b_submit_and_start": len(ahead),
        "a_jobs_done_when_b_started": sum(
            1 for r in started if r.finished_at and r.finished_at <= rec.started_at
        ),
    }


def _all_done(store: JobStore, ids: list[str]) -> list | None:
    recs = store.get_many(ids)
    return recs if all(r is not None and r.state in TERMINAL for r in recs) else None


def _started(store: JobStore, ids: list[str]) -> list:
    return [r for r in store.get_many(ids) if r is not None and r.started_at is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs in the load phase")
    parser.add_argument(
        "--batch", type=int, default=500, help="key A's batch in the fairness phase"
    )
    parser.add_argument("--seq", type=int, default=100, help="sequential jobs for latency")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "service.json")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="scenecraft-bench-"))
    redis_server = RedisServer(tmp / "redis")
    redis_server.start()
    env = {
        "SCENECRAFT_REDIS_URL": redis_server.url,
        "SCENECRAFT_ARTIFACTS": str(tmp / "artifacts"),
        "SCENECRAFT_API_KEYS": f"{KEY_A},{KEY_B}",
        "SCENECRAFT_DEVICE": "cpu",
        "SCENECRAFT_RATE_LIMIT_PER_S": "1000000",
        "SCENECRAFT_RATE_LIMIT_BURST": "1000000",
        "SCENECRAFT_MAX_QUEUED_PER_KEY": "1000000",
        "SCENECRAFT_MAX_BATCH_JOBS": str(max(1000, args.batch)),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(HERE),
    }
    os.environ.update(env)
    get_settings.cache_clear()
    from scenecraft.service.worker.app import make_celery

    raw_app = make_celery()  # configured from the environment just set
    workers = Workers(redis_server.url, env=env)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    serve = [sys.executable, "-m", "scenecraft.cli", "serve", "--port", str(port)]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    api_proc = subprocess.Popen(serve, env={**os.environ}, **quiet)
    try:
        workers.start(queues="cpu", concurrency=2, include=["service"])
        wait_for(lambda: _healthy(api_url), "the API to answer")
        store = JobStore.from_url(redis_server.url)
        console.print("latency ...")
        lat = latency(api_url, raw_app, args.seq)
        console.print("load ...")
        ld = load(api_url, store, raw_app, args.jobs)
        console.print("fairness ...")
        fair = fairness(api_url, store, args.batch)
    finally:
        api_proc.terminate()
        api_proc.wait(30)
        workers.stop_all()
        redis_server.stop()

    table = Table(title="scenecraft service (world.render 64 px, 2 job processes)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("API round trip p50 / p99 (ms)", lat["api_round_trip_ms"]),
        ("raw Celery round trip p50 / p99 (ms)", lat["raw_celery_round_trip_ms"]),
        ("added latency p50 (ms, target <= 15)", lat["added_latency_p50_ms"]),
        ("POST /v1/jobs p50 / p99 (ms), idle", lat["post_ms"]),
        (f"load: {ld['n']} jobs, succeeded", ld["succeeded"]),
        ("load: API jobs/s", ld["api_jobs_per_s"]),
        ("load: raw Celery tasks/s", ld["raw_celery_tasks_per_s"]),
        ("load: queue wait p50 / p99 (s)", ld["queue_wait_s"]),
        ("load: POST p50 / p99 (ms), 16 clients", ld["post_ms"]),
        ("load: mean job run, start to finish (ms)", ld["job_run_ms"]["mean"]),
        ("load: mean pipeline time, API / raw (ms)", ld["pipeline_ms_mean"]),
        (f"fairness: B's wait behind A's {args.batch} (job durations)",
         fair["b_wait_in_job_durations"]),
        ("fairness: A's jobs started between B's submit and start",
         fair["a_jobs_started_between_b_submit_and_start"]),
    ]  # fmt: skip
    for name, value in rows:
        if isinstance(value, dict):
            value = " / ".join(str(v) for v in value.values())
        table.add_row(name, str(value))
    console.print(table)
    meta = {
        "command": "python bench/service.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"meta": meta, "latency": lat, "load": ld, "fairness": fair}
    args.out.write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.out}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


if __name__ == "__main__":
    main()
