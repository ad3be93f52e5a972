"""The Celery application: Redis as broker and result backend, one ``gpu`` and one ``cpu`` queue.

Importing this module is cheap (no torch): the API imports it to send job tokens. The task itself
lives in ``scenecraft.service.worker.tasks``, which only workers import.
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from scenecraft.core.settings import get_settings
from scenecraft.service.store import QUEUES
from scenecraft.service.worker.config import get_service_settings

RUN_TASK = "scenecraft.run_next"
UNACKED_MUTEX_EXPIRE_S = 5


def make_celery() -> Celery:
    """A Celery app configured from settings (acks late, one message at a time per process)."""
    settings, svc = get_settings(), get_service_settings()
    app = Celery("scenecraft", include=["scenecraft.service.worker.tasks"])
    transport = {
        # Redis redelivers a message nobody acknowledged after this long; the hard time limit
        # below stays under it (checked in ServiceSettings) so a slow job is not run twice.
        "visibility_timeout": svc.visibility_timeout_s,
        "unacked_restore_interval": svc.unacked_restore_interval_s,
        # The restore above runs under a Redis mutex that expires after kombu's default of 300 s:
        # a worker killed while holding it stopped every redelivery for five minutes (a job
        # stuck in the kill -9 test). Restoring is a few milliseconds of work.
        "unacked_mutex_expire": UNACKED_MUTEX_EXPIRE_S,
        "socket_timeout": 5,
        "socket_connect_timeout": 2,
    }
    app.conf.update(
        broker_url=settings.redis_url,
        result_backend=settings.redis_url,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        task_queues=[Queue(q, routing_key=q) for q in QUEUES],
        task_default_queue="cpu",
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=3600,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=svc.job_time_limit_s,
        task_soft_time_limit=svc.job_soft_time_limit_s,
        # a publish to an unreachable Redis must fail fast (the API answers 503)
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        worker_hijack_root_logger=False,
    )
    return app


celery_app = make_celery()
