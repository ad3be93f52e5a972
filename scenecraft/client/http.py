"""A small HTTP client of the job API: submit a batch, follow a job's events, fetch its artifacts.

Used by ``scenecraft submit``; usable from Python. Event streams resume with ``Last-Event-ID``
after a dropped connection, so a long job survives a flaky network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

TERMINAL = ("succeeded", "failed", "canceled")


@dataclass
class Event:
    id: str | None
    type: str
    data: dict[str, Any]


class ApiError(Exception):
    """The server refused a request; the message is the server's ``detail``."""

    def __init__(self, status: int, detail: str):
        self.status = status
        super().__init__(f"HTTP {status}: {detail}")


class Client:
    def __init__(self, server: str, key: str, timeout: float = 30.0):
        self.http = httpx.Client(
            base_url=server.rstrip("/"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def _check(self, r: httpx.Response) -> httpx.Response:
        if r.status_code >= 400:
            try:
                body = r.json()
                detail = body.get("detail", r.text)
            except ValueError:
                detail = r.text
            raise ApiError(r.status_code, str(detail))
        return r

    def submit_batch(self, jobs: list[dict[str, Any]], idempotency_key: str) -> dict[str, Any]:
        r = self.http.post(
            "/v1/batches", json={"jobs": jobs}, headers={"Idempotency-Key": idempotency_key}
        )
        return self._check(r).json()

    def job(self, job_id: str) -> dict[str, Any]:
        return self._check(self.http.get(f"/v1/jobs/{job_id}")).json()

    def events(self, job_id: str, retries: int = 5) -> Iterator[Event]:
        """The job's events until it finishes, reconnecting after network errors."""
        last: str | None = None
        failures = 0
        while True:
            headers = {"Last-Event-ID": last} if last else {}
            connected = False
            try:
                with self.http.stream(
                    "GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=None
                ) as r:
                    if r.status_code >= 400:
                        r.read()
                        self._check(r)
                    # only failures in a row count towards ``retries``: a long, quiet job may
                    # see many dropped connections between events
                    connected = True
                    for ev in parse_sse(r.iter_lines()):
                        last = ev.id or last
                        yield ev
                        if ev.type == "state" and ev.data.get("state") in TERMINAL:
                            return
            except httpx.TransportError:
                failures = 0 if connected else failures + 1
                if failures > retries:
                    raise
                time.sleep(min(10.0, 0.5 * 2**failures))

    def download(self, job: dict[str, Any], folder: Path) -> list[Path]:
        """Write every artifact of a finished job into ``folder`` (skipping ones already there)."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for a in job["artifacts"]:
            path = folder / a["name"]
            if not (path.exists() and path.stat().st_size == a["size"]):
                data = self._check(self.http.get(a["url"])).content
                tmp = path.with_suffix(path.suffix + ".part")
                tmp.write_bytes(data)
                tmp.replace(path)
            paths.append(path)
        return paths


def parse_sse(lines: Iterator[str]) -> Iterator[Event]:
    """Server-Sent Events from text lines (comments and keep-alives skipped)."""
    event_id, kind, data = None, "message", []
    for line in lines:
        if not line:
            if data:
                yield Event(event_id, kind, json.loads("\n".join(data)))
            event_id, kind, data = None, "message", []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                event_id = value
            elif name == "event":
                kind = value
            elif name == "data":
                data.append(value)
