"""Service metrics kept in Redis, so workers on many machines add to one set the API exposes.

Workers call ``observe``/``count`` when a job ends; the API's ``/metrics`` reads them back as
Prometheus histograms and counters (``RedisCollector``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from scenecraft.service.store import QUEUES

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800)
HISTOGRAMS = {
    "job_duration_seconds": "time a job ran (its last attempt), by pipeline",
    "job_queue_wait_seconds": "time from submission to start, by pipeline",
    "time_to_first_preview_seconds": "time from start to the first preview, by pipeline",
}
COUNTERS = {
    "jobs_succeeded": "jobs that succeeded, by pipeline",
    "jobs_failed": "jobs that failed, by pipeline",
    "jobs_canceled": "jobs canceled (queued or running), by pipeline",
}
PIPELINES_KEY = "sc:m:pipelines"


def observe(pipe: redis.client.Pipeline, name: str, pipeline: str, value: float) -> None:
    """Queue a histogram observation on a Redis pipeline (the caller executes it)."""
    key = f"sc:m:h:{name}:{pipeline}"
    pipe.sadd(PIPELINES_KEY, pipeline)
    pipe.hincrby(key, str(bisect.bisect_left(BUCKETS, value)), 1)
    pipe.hincrbyfloat(key, "sum", value)


def count(pipe: redis.client.Pipeline, name: str, pipeline: str) -> None:
    pipe.sadd(PIPELINES_KEY, pipeline)
    pipe.hincrby(f"sc:m:c:{name}", pipeline, 1)


class RedisCollector(Collector):
    """Builds the Prometheus families from Redis at scrape time."""

    def __init__(self, client: redis.Redis):
        self.r = client

    def collect(self) -> Iterator:
        depth = GaugeMetricFamily(
            "scenecraft_queue_depth", "jobs waiting to start, by queue", labels=["queue"]
        )
        for q in QUEUES:
            depth.add_metric([q], int(self.r.get(f"sc:depth:{q}") or 0))
        yield depth
        pipelines = sorted(self.r.smembers(PIPELINES_KEY))
        for name, doc in HISTOGRAMS.items():
            fam = HistogramMetricFamily(f"scenecraft_{name}", doc, labels=["pipeline"])
            for p in pipelines:
                h = self.r.hgetall(f"sc:m:h:{name}:{p}")
                if not h:
                    continue
                cumulative, buckets = 0, []
                for i, bound in enumerate((*BUCKETS, float("inf"))):
                    cumulative += int(h.get(str(i), 0))
                    buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
                fam.add_metric([p], buckets, float(h.get("sum", 0)))
            yield fam
        for name, doc in COUNTERS.items():
            fam = CounterMetricFamily(f"scenecraft_{name}", doc, labels=["pipeline"])
            for p, v in sorted(self.r.hgetall(f"sc:m:c:{name}").items()):
                fam.add_metric([p], int(v))
            yield fam
