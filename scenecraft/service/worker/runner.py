"""Claim the next job and run it through the registry: the plain function behind the Celery task.

The pipeline runs through the same ``run_pipeline`` as the CLI; only what it is given differs:
progress and previews go to the job's Redis stream, cancel is a flag on the job record, and a
lease renewed from a side thread tells other workers this process is alive.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded

from scenecraft.core.errors import Cancelled, ScenecraftError
from scenecraft.core.progress import Progress
from scenecraft.pipelines.artifacts import ArtifactStore
from scenecraft.pipelines.registry import run_pipeline
from scenecraft.service.store import QUEUES, JobRecord, JobStore, State
from scenecraft.service.worker import metrics
from scenecraft.service.worker.config import ServiceSettings

log = logging.getLogger(__name__)


def holder_id() -> str:
    """Who runs a job: ``host:pid``, so a worker on the same host can tell a dead holder."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_dead(holder: str) -> bool:
    """True when the holder ran on this host and its process is gone."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine: only its lease running out tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class Runner:
    """Everything a worker process needs to run jobs; built once per process (after fork)."""

    store: JobStore
    artifacts: ArtifactStore
    svc: ServiceSettings
    device: str

    def run_next(self, queue: str, task_id: str) -> dict[str, Any]:
        """Handle one token from ``queue``: run the job it claims (or re-claims after a loss)."""
        holder = holder_id()
        while True:
            out = self.store.claim(
                queue,
                task_id,
                holder,
                lease_s=self.svc.lease_ttl_s,
                max_attempts=self.svc.max_attempts,
                retention_s=self.svc.job_retention_s,
            )
            kind = out[0]
            if kind == "empty":
                return {"job": None}
            if kind in ("done", "gave_up"):
                if kind == "gave_up":
                    count_job(self.store, "jobs_failed", out[1])
                return {"job": out[1], "outcome": kind}
            if kind == "leased":
                # the message came back while a process still holds the job: wait until that
                # process finishes or is known to be gone, never run the job twice at once
                job_id, other = out[1], out[2]
                if holder_is_dead(other):
                    self.store.break_lease(job_id, other)
                else:
                    time.sleep(self.svc.lease_ttl_s / 3)
                continue
            return self.run_job(out[1], int(out[2]), holder)

    def run_job(self, job_id: str, attempt: int, holder: str) -> dict[str, Any]:
        rec = self.store.get(job_id)
        assert rec is not None, f"claimed job {job_id} has no record"
        stop = threading.Event()
        beat = threading.Thread(
            target=self._renew, args=(job_id, holder, attempt, stop), daemon=True
        )
        beat.start()
        try:
            state, fields, result = self._execute(rec)
            # the lease is renewed until the outcome is written, so no reaper runs the job again
            # while this process waits for a Redis that went away
            written = self._finish(job_id, attempt, state, result, fields)
        finally:
            stop.set()
            beat.join()
        if written:
            self._observe(rec, state)
        return {"job": job_id, "outcome": state}

    def _finish(
        self,
        job_id: str,
        attempt: int,
        state: State,
        result: dict[str, Any] | None,
        fields: dict[str, str],
    ) -> bool:
        """Write the outcome, retrying while Redis is unreachable (up to ``finish_retry_s``).
        False when another attempt owns the job now, or Redis never came back: then the lease
        lapses and a reaper runs the job again."""
        deadline = time.monotonic() + self.svc.finish_retry_s
        wait = 0.2
        while True:
            try:
                return self.store.finish(
                    job_id, attempt, state, self.svc.job_retention_s, result=result, **fields
                )
            except redis.RedisError as e:
                if time.monotonic() + wait > deadline:
                    log.error("job %s: outcome %s lost, Redis away: %s", job_id, state, e)
                    return False
                log.warning("job %s: Redis away, outcome %s kept: %s", job_id, state, e)
                time.sleep(wait)
                wait = min(2 * wait, 2.0)

    def _execute(self, rec: JobRecord) -> tuple[State, dict[str, str], dict[str, Any] | None]:
        first_preview = True
        stage = ""  # the stage last reported, named in an internal error

        def on_progress(p: Progress) -> None:
            nonlocal first_preview, stage
            stage = p.stage
            event = {"stage": p.stage, "step": p.step, "total": p.total}
            try:
                self.store.progress(rec.id, event)
                if p.preview is not None:
                    data = base64.b64encode(p.preview).decode()
                    self.store.preview(
                        rec.id, {**event, "media_type": "image/png", "data": data}, first_preview
                    )
                    first_preview = False
            except redis.RedisError as e:  # progress is best effort; the result is not
                log.warning("job %s: progress not recorded: %s", rec.id, e)

        def is_cancelled() -> bool:
            try:
                return self.store.is_cancel_requested(rec.id)
            except redis.RedisError:
                return False

        try:
            result = run_pipeline(
                rec.pipeline,
                rec.params,
                store=self.artifacts,
                device=self.device,
                progress=on_progress,
                cancelled=is_cancelled,
                preview_interval_s=self.svc.preview_interval_s,
            )
        except Cancelled as e:
            return "canceled", {"error": str(e)}, None
        except SoftTimeLimitExceeded:
            limit = self.svc.job_soft_time_limit_s
            return "failed", {"error": f"the job ran past the time limit of {limit:g} s"}, None
        except ScenecraftError as e:
            return "failed", {"error": str(e)}, None
        except Exception as e:  # a pipeline bug fails its job, not the worker
            # the trace goes to the worker's log; the job's error names the stage, never a trace
            log.exception("job %s failed", rec.id)
            during = f" during {stage}" if stage else ""
            msg = str(e).splitlines()[0][:300] if str(e) else ""
            error = f"internal error in {rec.pipeline}{during}: {type(e).__name__}"
            return "failed", {"error": error + (f": {msg}" if msg else "")}, None
        out = result.to_dict()
        fields = {
            "artifacts": json.dumps(out["artifacts"]),
            "metrics": json.dumps(out["metrics"], default=str),
            "record": json.dumps(out["record"], default=str),
        }
        summary = {"artifacts": out["artifacts"], "metrics": out["metrics"]}
        return "succeeded", fields, json.loads(json.dumps(summary, default=str))

    def _renew(self, job_id: str, holder: str, attempt: int, stop: threading.Event) -> None:
        while not stop.wait(self.svc.lease_ttl_s / 3):
            try:
                self.store.renew(job_id, holder, self.svc.lease_ttl_s, attempt)
            except redis.RedisError as e:
                log.warning("job %s: lease not renewed: %s", job_id, e)

    def _observe(self, rec: JobRecord, state: State) -> None:
        done = self.store.get(rec.id)
        if done is None or done.started_at is None or done.finished_at is None:
            return
        pipe = self.store.r.pipeline(transaction=False)
        metrics.count(pipe, f"jobs_{state}", rec.pipeline)
        metrics.observe(
            pipe, "job_duration_seconds", rec.pipeline, done.finished_at - done.started_at
        )
        if done.attempts == 1:
            wait = done.started_at - done.created_at
            metrics.observe(pipe, "job_queue_wait_seconds", rec.pipeline, wait)
        first = self.store.first_preview_at(rec.id)
        if first is not None:
            ttfp = first - done.started_at
            metrics.observe(pipe, "time_to_first_preview_seconds", rec.pipeline, ttfp)
        pipe.execute()

    def fail_after_hard_limit(self, task_id: str) -> None:
        """Called in the worker's main process when a job's process was killed at the hard limit."""
        job_id = self.store.claimed_by(task_id)
        if job_id is None:
            return
        rec = self.store.get(job_id)
        holder = self.store.lease_holder(job_id)
        if rec is None or rec.state != "running" or (holder and not holder_is_dead(holder)):
            return
        limit = self.svc.job_time_limit_s
        msg = f"the job ran past the hard time limit of {limit:g} s and was killed"
        if self.store.finish(job_id, rec.attempts, "failed", self.svc.job_retention_s, error=msg):
            count_job(self.store, "jobs_failed", job_id)


def reap(store: JobStore, svc: ServiceSettings, queues: tuple[str, ...] = QUEUES) -> list[str]:
    """Find running jobs whose holder is gone and queue them again (the reaper; every worker
    runs it from its heartbeat). A holder on this host whose process is gone loses its lease
    at once; elsewhere the lease lapsing tells. Returns the requeued jobs' queues, one entry a
    job, so the caller sends each a token."""
    tokens: list[str] = []
    for q in queues:
        ids = store.running(q)
        for job_id, holder in zip(ids, store.leases(ids), strict=True):
            if holder and holder_is_dead(holder):
                store.break_lease(job_id, holder)
        out = store.reap(
            q,
            max_attempts=svc.max_attempts,
            retention_s=svc.job_retention_s,
            grace_s=svc.lease_ttl_s,
            hard_limit_s=svc.job_time_limit_s,
        )
        if out.requeued:
            log.warning("requeued %d job(s) of lost workers on %s", len(out.requeued), q)
        tokens += [q] * len(out.requeued)
        for job_id in out.failed:
            count_job(store, "jobs_failed", job_id)
    return tokens


def count_job(store: JobStore, name: str, job_id: str) -> None:
    """Count one job in metric ``name`` under its pipeline (gone jobs are not counted)."""
    rec = store.get(job_id)
    if rec is not None:
        pipe = store.r.pipeline(transaction=False)
        metrics.count(pipe, name, rec.pipeline)
        pipe.execute()
