"""Celery workers: one task that runs any registered pipeline."""
