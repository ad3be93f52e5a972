"""The job service's workers: a Celery app on Redis, the one task, and job state in Redis."""
