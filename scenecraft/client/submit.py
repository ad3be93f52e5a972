"""``scenecraft submit``: a jobs file as one batch on a server, with a progress bar per job.

The batch's Idempotency-Key is a hash of the jobs, so running the same command again after an
interruption finds the batch already submitted, skips jobs already downloaded and follows the rest.
Each job gets a folder like ``render``'s (``0003-world.render/``) with its artifacts and a
``job.json`` holding the server's record.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from scenecraft.client.http import ApiError, Client
from scenecraft.pipelines.batch import JobLine, job_folder, read_jobs

STREAMS = 8  # jobs followed at once; the others wait their turn (the server runs them anyway)
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Failure:
    line: int
    pipeline: str
    job_id: str | None
    error: str


def batch_key(lines: list[JobLine]) -> str:
    body = json.dumps([[j.pipeline, j.params] for j in lines], sort_keys=True)
    return "submit-" + hashlib.sha256(body.encode()).hexdigest()[:48]


def submit_file(path: Path, server: str, key: str, out: Path, console: Console) -> list[Failure]:
    """Submit (or resume) the batch in ``path``; return the jobs that did not succeed."""
    lines = read_jobs(path)
    unreadable = [Failure(j.line, j.pipeline, None, j.error) for j in lines if j.error]
    if unreadable or not lines:
        return unreadable or [Failure(0, "", None, f"{path} holds no jobs")]
    client = Client(server, key)
    try:
        jobs = [{"pipeline": j.pipeline, "params": j.params} for j in lines]
        try:
            batch = client.submit_batch(jobs, batch_key(lines))
        except ApiError as e:
            return [Failure(0, "", None, f"the server refused the batch: {e}")]
        console.print(f"batch {batch['id']}: {len(lines)} jobs on {server}")
        out.mkdir(parents=True, exist_ok=True)
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[stage]}"),
        ]
        with Progress(*columns, TimeElapsedColumn(), console=console) as bars:
            overall = bars.add_task(f"{len(lines)} jobs", total=len(lines), stage="")

            def follow(pair: tuple[JobLine, dict[str, Any]]) -> Failure | None:
                line, summary = pair
                try:
                    return _follow(client, line, summary["id"], job_folder(out, line), bars)
                except ApiError as e:
                    return Failure(line.line, line.pipeline, summary["id"], str(e))
                except httpx.HTTPError as e:  # the server stayed out of reach after retries
                    why = f"lost the server while following the job ({type(e).__name__}: {e})"
                    return Failure(line.line, line.pipeline, summary["id"], why)
                finally:
                    bars.advance(overall)

            results = _in_daemon_threads(follow, list(zip(lines, batch["jobs"], strict=True)))
        return [f for f in results if f is not None]
    finally:
        client.close()


def _in_daemon_threads(fn: Callable[[T], R], items: list[T]) -> list[R]:
    """``map`` over ``STREAMS`` daemon threads, so Ctrl-C ends the command at once (an executor's
    threads would hold the process open until their event streams end).

    An exception in ``fn`` stops the other threads taking new items and is raised here, in the
    calling thread: an item whose thread died must never read as a result of ``None``.
    """
    todo = queue.SimpleQueue()
    for i, item in enumerate(items):
        todo.put((i, item))
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []

    def work() -> None:
        while not errors:
            try:
                i, item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results[i] = fn(item)
            except BaseException as e:  # noqa: BLE001  (handed to the calling thread below)
                errors.append(e)
                return

    threads = [threading.Thread(target=work, daemon=True) for _ in range(STREAMS)]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)  # short joins keep the main thread responsive to Ctrl-C
    if errors:
        raise errors[0]
    return results


def _follow(
    client: Client, line: JobLine, job_id: str, folder: Path, bars: Progress
) -> Failure | None:
    record = folder / "job.json"
    if record.exists():  # finished and downloaded by an earlier run
        job = json.loads(record.read_text())
    else:
        task = bars.add_task(f"line {line.line} {line.pipeline}", total=None, stage="queued")
        for ev in client.events(job_id):
            if ev.type == "progress":
                total = ev.data.get("total") or None
                bars.update(task, completed=ev.data.get("step", 0), total=total,
                            stage=ev.data.get("stage", ""))  # fmt: skip
            elif ev.type == "state":
                bars.update(task, stage=ev.data["state"])
        bars.remove_task(task)
        job = client.job(job_id)
        if job["state"] == "succeeded":
            client.download(job, folder)
            record.write_text(json.dumps(job, indent=1))
    if job["state"] != "succeeded":
        return Failure(line.line, line.pipeline, job_id, job.get("error") or job["state"])
    return None
