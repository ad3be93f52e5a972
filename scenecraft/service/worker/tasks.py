"""The one Celery task, a thin shell around ``Runner.run_next``, plus the worker's process hooks.

Heavy libraries are imported in the main process before it forks; models load lazily in each
child on first use and stay warm in ``MODEL_CACHE`` for the child's life (CUDA must not be touched
before the fork). The main process announces itself per queue, puts the jobs of dead holders
back in their queues (the reaper) and tops up job tokens.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Task, signals
from celery.exceptions import TimeLimitExceeded

from scenecraft.core.settings import get_settings
from scenecraft.pipelines.artifacts import open_store
from scenecraft.pipelines.registry import pipelines
from scenecraft.service.store import JobStore
from scenecraft.service.worker.app import RUN_TASK, celery_app
from scenecraft.service.worker.config import get_service_settings
from scenecraft.service.worker.runner import Runner, reap

log = logging.getLogger(__name__)
_runner: Runner | None = None


def runner() -> Runner:
    """This process's runner (made on first use, i.e. after the fork)."""
    global _runner
    if _runner is None:
        settings = get_settings()
        _runner = Runner(
            store=JobStore.from_url(settings.redis_url),
            artifacts=open_store(settings.artifacts),
            svc=get_service_settings(),
            device=settings.device,
        )
    return _runner


class JobTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Celery calls this in the main process when it killed the child at the hard limit
        if isinstance(exc, TimeLimitExceeded):
            runner().fail_after_hard_limit(task_id)


@celery_app.task(name=RUN_TASK, bind=True, base=JobTask, acks_late=True)
def run_next(self: Task, queue: str) -> dict[str, Any]:
    """Claim the next job of ``queue`` (round-robin across API keys) and run it."""
    return runner().run_next(queue, self.request.id)


@signals.worker_init.connect
def _preload(**_: Any) -> None:
    import torch  # noqa: F401  (imported before the fork so each child starts warm)

    pipelines()


@signals.worker_process_init.connect
def _fresh_child(**_: Any) -> None:
    global _runner
    _runner = None  # connections must not be shared with the parent across the fork


@signals.worker_ready.connect
def _start_heartbeat(sender: Any, **_: Any) -> None:
    queues = sorted(sender.app.amqp.queues.consume_from)
    hostname = sender.hostname
    interval = get_service_settings().worker_heartbeat_s
    store = JobStore.from_url(get_settings().redis_url)

    def beat() -> None:
        while True:
            try:
                store.heartbeat(hostname, queues)
                # jobs of dead holders back in their queues; each needs a token to be claimed
                for q in reap(store, get_service_settings(), tuple(queues)):
                    celery_app.send_task(RUN_TASK, args=[q], queue=q)
                for q in queues:
                    if store.r.set(f"sc:topup:{q}", hostname, nx=True, ex=max(1, int(interval))):
                        # extra tokens claim nothing, so topping up is always safe
                        for _ in range(store.missing_tokens(q, fresh_s=3 * interval)):
                            celery_app.send_task(RUN_TASK, args=[q], queue=q)
            except Exception as e:  # Redis away: keep beating, the worker reconnects by itself
                log.warning("worker heartbeat failed: %s", e)
            time.sleep(interval)

    threading.Thread(target=beat, name="scenecraft-heartbeat", daemon=True).start()
