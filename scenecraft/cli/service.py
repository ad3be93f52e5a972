"""``serve``, ``worker`` and ``submit``: the job service and its client."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from scenecraft.cli.groups import app, console

if TYPE_CHECKING:
    pass


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0 for all)"),
    port: int = typer.Option(8000),
    include: list[str] = typer.Option([], help="extra modules that register pipelines"),
) -> None:
    """Run the REST API (jobs, batches, events, artifacts) over the Redis in settings."""
    import importlib

    import uvicorn

    from scenecraft.service.api.app import create_app
    from scenecraft.service.api.server import uvicorn_config
    from scenecraft.service.worker.config import get_service_settings

    for module in include:
        importlib.import_module(module)
    config = uvicorn_config(create_app(), host, port, get_service_settings())
    uvicorn.Server(config).run()


@app.command()
def worker(
    queues: str = typer.Option("gpu,cpu", help="queues to take jobs from, comma-separated"),
    concurrency: int = typer.Option(1, help="job processes (one per GPU is typical)"),
    name: str = typer.Option("scenecraft@%h", help="node name, unique per worker on a machine"),
    include: list[str] = typer.Option([], help="extra modules that register pipelines"),
    loglevel: str = typer.Option("info"),
) -> None:
    """Run a Celery worker that takes jobs from the given queues."""
    from scenecraft.service.store import QUEUES
    from scenecraft.service.worker.app import celery_app

    unknown = sorted(set(queues.split(",")) - set(QUEUES))
    if unknown:
        console.print(f"[red]unknown queue(s) {', '.join(unknown)}; use {', '.join(QUEUES)}[/red]")
        raise typer.Exit(2)
    argv = ["worker", "-Q", queues, "-c", str(concurrency), "-P", "prefork", "-n", name]
    argv += ["-l", loglevel, "--without-gossip", "--without-mingle"]
    for module in include:
        argv += ["-I", module]
    celery_app.worker_main(argv)


@app.command()
def submit(
    jobs: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL or CSV of jobs"),
    server: str = typer.Option(..., envvar="SCENECRAFT_SERVER", help="e.g. http://host:8000"),
    key: str = typer.Option(..., envvar="SCENECRAFT_KEY", help="API key"),
    out: Path = typer.Option(Path("out/submit"), "--out", "-o", help="output folder"),
) -> None:
    """Submit a jobs file to a server as one batch, follow it, download the artifacts.

    Running it again after an interruption resumes the same batch without resubmitting.
    """
    from scenecraft.client.submit import submit_file

    try:
        failed = submit_file(jobs, server, key, out, console)
    except KeyboardInterrupt:
        console.print("interrupted; run the same command again to resume the same batch")
        raise typer.Exit(130) from None
    for f in failed:
        where = f"line {f.line}" if f.line else "batch"
        job = f" job {f.job_id}" if f.job_id else ""
        console.print(f"[red]{where}[/red] ({f.pipeline or '?'}){job}: {f.error}")
    if failed:
        raise typer.Exit(1)
    console.print(f"all jobs succeeded; artifacts in {out}")
