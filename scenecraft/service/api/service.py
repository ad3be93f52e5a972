"""What the API hands work to: the job store, the Celery app (for tokens), keys and artifacts.

One ``Service`` lives on ``app.state``; routers reach it through ``deps.service``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio as aredis
from celery import Celery

from scenecraft.core.settings import Settings
from scenecraft.pipelines.artifacts import ArtifactStore, open_store
from scenecraft.pipelines.base import Params, Pipeline, new_seed
from scenecraft.service.store import Created, JobStore, NewJob
from scenecraft.service.worker import metrics
from scenecraft.service.worker.app import RUN_TASK
from scenecraft.service.worker.config import ServiceSettings

STREAM_BLOCK_S = 15  # longest wait of an event stream in Redis before it sends a keep-alive


def key_hashes(api_keys: str) -> dict[str, str]:
    """sha256 of each configured key -> its owner id. ``sha256:<hex>`` entries are hashes already,
    so the plain keys need not be written anywhere on the server."""
    out = {}
    for raw in api_keys.split(","):
        k = raw.strip()
        if not k:
            continue
        digest = k.removeprefix("sha256:").lower() if k.startswith("sha256:") else _sha(k)
        out[digest] = digest[:16]
    return out


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def redis_location(url: str) -> str:
    """``host:port/db`` of a Redis URL, without credentials, for error messages."""
    u = urlsplit(url)
    return f"{u.hostname}:{u.port or 6379}{u.path or ''}"


@dataclass
class Service:
    settings: Settings
    svc: ServiceSettings
    store: JobStore
    celery: Celery
    artifacts: ArtifactStore
    keys: dict[str, str] = field(default_factory=dict)
    aredis: aredis.Redis | None = None

    @classmethod
    def from_settings(cls, settings: Settings, svc: ServiceSettings, celery: Celery) -> Service:
        return cls(
            settings=settings,
            svc=svc,
            store=JobStore.from_url(settings.redis_url),
            celery=celery,
            artifacts=open_store(settings.artifacts),
            keys=key_hashes(settings.api_keys),
            # event streams block in XREAD for up to STREAM_BLOCK_S, so reads must wait longer than
            # that: redis-py's default read timeout (5 s since 6.0) cut every quiet stream after 5 s
            aredis=aredis.Redis.from_url(
                settings.redis_url,
                decode_responses=True,
                socket_connect_timeout=2,
                socket_timeout=2 * STREAM_BLOCK_S,
            ),
        )

    def owner_of(self, token: str) -> str | None:
        digest = _sha(token)
        for known, owner in self.keys.items():
            if hmac.compare_digest(known, digest):
                return owner
        return None

    def submit(
        self,
        owner: str,
        jobs: list[tuple[Pipeline, Params, int]],
        *,
        idempotency_key: str = "",
        fingerprint: str = "",
        batch_id: str = "",
    ) -> Created:
        """Queue validated jobs (all or none), then send one Celery token per job.

        If the tokens cannot be sent the jobs are withdrawn; if even that fails (Redis went away
        between the two steps) the workers' top-up sends the missing tokens later, so an accepted
        job is never stranded.
        """
        new = []
        for pipe, params, priority in jobs:
            # the seed is fixed here so a retry after a lost worker reproduces the same output
            seed = params.seed if params.seed is not None else new_seed()
            dumped = params.model_copy(update={"seed": seed}).model_dump(mode="json")
            new.append(NewJob(pipe.name, pipe.queue, dumped, priority))
        created = self.store.create(
            owner,
            new,
            retention_s=self.svc.job_retention_s,
            max_queued=self.svc.max_queued_per_key,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            batch_id=batch_id,
        )
        if created.replayed:
            return created
        try:
            with self.celery.producer_or_acquire() as producer:
                for j in new:
                    self.celery.send_task(
                        RUN_TASK, args=[j.queue], queue=j.queue, producer=producer
                    )
        except Exception:
            with contextlib.suppress(redis.RedisError):
                self.store.withdraw(owner, [j.id for j in new], idempotency_key)
            raise
        return created

    def count_canceled(self, pipeline: str) -> None:
        pipe = self.store.r.pipeline(transaction=False)
        metrics.count(pipe, "jobs_canceled", pipeline)
        pipe.execute()


def fingerprint(body: Any) -> str:
    """A stable hash of a request body, to refuse an idempotency key reused for another request."""
    return _sha(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str))
