"""The job service: the Redis job store, the Celery worker that runs jobs (``worker/``) and the
REST API with its web page (``api/``)."""
