"""``test.steps``: a pipeline of N sleeps that reports each step, for service tests.

Workers load it with ``scenecraft worker --include steps_pipeline``. Every run that starts and
every run that completes is appended to Redis lists, so tests can count executions per job tag.
"""

from __future__ import annotations

import time

import redis
from celery.exceptions import SoftTimeLimitExceeded
from pydantic import Field

from scenecraft.core.settings import get_settings
from scenecraft.pipelines.base import Context, Params, Pipeline, Result
from scenecraft.pipelines.registry import register

STARTS, DONE = "test:starts", "test:done"
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e221bc330000000049454e44ae426082"
)


class StepsParams(Params):
    steps: int = Field(5, ge=1, le=1000)
    step_s: float = Field(0.05, ge=0, le=5)
    tag: str = Field("", max_length=100, description="recorded when a run starts and completes")
    preview: bool = Field(False, description="send a preview with every step")
    fail: bool = Field(False, description="raise after the last step")
    stuck: bool = Field(
        False, description="ignore the soft time limit, as a step stuck in native code would"
    )


def _record(r: redis.Redis, key: str, tag: str) -> None:
    """Append ``tag`` to ``key``, waiting out a Redis restart (the chaos test stops Redis under
    running jobs; the bookkeeping of the test must survive what the service survives)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            r.rpush(key, tag)
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run(params: StepsParams, ctx: Context) -> Result:
    r = redis.Redis.from_url(get_settings().redis_url)
    if params.tag:
        _record(r, STARTS, params.tag)
    ctx.set_stage("steps")
    for i in range(params.steps):
        try:
            time.sleep(params.step_s)
        except SoftTimeLimitExceeded:
            if not params.stuck:
                raise
            while True:  # only the hard limit ends this
                time.sleep(1)
        ctx.progress(i + 1, params.steps, preview=PNG_1PX if params.preview else None)
    if params.fail:
        raise RuntimeError("asked to fail")
    ctx.artifacts.put("steps.txt", f"{params.steps} steps\n".encode(), "text/plain")
    if params.tag:
        _record(r, DONE, params.tag)
    return Result(artifacts=ctx.artifacts.refs, metrics={"steps": params.steps})


register(Pipeline("test.steps", StepsParams, run, queue="cpu", description="sleeps, for tests"))
