"""One router per resource: jobs, events, artifacts, batches, pipelines, and operations."""
