"""FastAPI service: jobs, batches, events, artifacts, pipelines."""
