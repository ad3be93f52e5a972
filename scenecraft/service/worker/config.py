"""Knobs of the job service (queue, workers, API limits), read from ``SCENECRAFT_*`` variables.

Kept beside the worker rather than in ``scenecraft.core.settings`` because only the service
reads them; the broker URL, artifact store and API keys stay in the shared settings.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Job service settings. Environment variables are ``SCENECRAFT_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="SCENECRAFT_", env_file=None, extra="ignore")

    job_time_limit_s: float = Field(
        1800, gt=0, description="hard limit: the job's process is killed"
    )
    job_soft_time_limit_s: float = Field(
        1740, gt=0, description="soft limit: the job fails cleanly with a time-limit error"
    )
    visibility_timeout_s: float = Field(
        3600,
        gt=0,
        description="Redis redelivers an unacknowledged job message after this long; must exceed "
        "the hard time limit or a slow job would run twice",
    )
    unacked_restore_interval_s: float = Field(
        10, gt=0, description="how often a worker looks for messages of lost workers"
    )
    max_attempts: int = Field(3, ge=1, description="a job whose worker died this often fails")
    lease_ttl_s: float = Field(
        15, gt=0, description="a running job's lease; renewed by its worker every third of this"
    )
    finish_retry_s: float = Field(
        600,
        gt=0,
        description="a worker that lost Redis keeps a finished job's outcome and retries writing "
        "it this long (its lease is renewed meanwhile, so no other worker runs the job again)",
    )
    job_retention_s: int = Field(7 * 86400, gt=0, description="finished jobs are kept this long")
    max_queued_per_key: int = Field(2000, ge=1, description="queued jobs one API key may have")
    max_batch_jobs: int = Field(1000, ge=1, description="jobs in one batch")
    rate_limit_per_s: float = Field(50, gt=0, description="sustained requests per second per key")
    rate_limit_burst: int = Field(200, ge=1, description="requests a key may send at once")
    preview_interval_s: float = Field(1.0, ge=0, description="at most one preview per interval")
    header_timeout_s: float = Field(
        10, gt=0, description="the API closes a connection whose request headers take longer"
    )
    body_timeout_s: float = Field(
        60, gt=0, description="the API answers 408 to a request whose body takes longer"
    )
    worker_heartbeat_s: float = Field(
        5, gt=0, description="workers announce themselves (and top up job tokens) this often"
    )

    @model_validator(mode="after")
    def _limits_nest(self) -> ServiceSettings:
        if self.job_soft_time_limit_s >= self.job_time_limit_s:
            raise ValueError("SCENECRAFT_JOB_SOFT_TIME_LIMIT_S must be below the hard limit")
        if self.job_time_limit_s > 0.9 * self.visibility_timeout_s:
            raise ValueError(
                "SCENECRAFT_JOB_TIME_LIMIT_S must stay under 90% of SCENECRAFT_VISIBILITY_TIMEOUT_S"
                " so Redis never redelivers a job that is still running"
            )
        return self


@lru_cache
def get_service_settings() -> ServiceSettings:
    """The process-wide service settings (tests call ``get_service_settings.cache_clear()``)."""
    return ServiceSettings()
