"""The job service's workers: a Celery app on Redis, the one task, the runner and the metrics."""
