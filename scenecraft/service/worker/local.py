"""The whole service on one machine, as processes: a private redis-server and ``scenecraft
worker`` processes. Used by the integration tests and ``bench/service.py``; everything it starts
is stopped by ``stop()`` / ``stop_all()``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import redis

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], T], what: str, timeout: float = 60.0, every: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"gave up waiting for {what}")


class RedisServer:
    """A redis-server on a free loopback port; ``persist`` keeps an append-only file so that a
    restart keeps the data (as a production Redis must)."""

    def __init__(self, folder: Path, persist: bool = False):
        self.folder, self.persist, self.port = folder, persist, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--dir", str(self.folder), "--appendonly", "yes" if self.persist else "no"]
        if self.persist:
            args += ["--appendfsync", "always"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), "redis-server to answer")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            self.proc = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


class Workers:
    """``scenecraft worker`` processes, each in its own process group with a unique node name."""

    def __init__(self, redis_url: str, env: dict[str, str] | None = None, cwd: Path | None = None):
        self.redis_url = redis_url
        self.env = {**os.environ, **(env or {}), "SCENECRAFT_REDIS_URL": redis_url}
        self.cwd = cwd
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, queues: str = "cpu", concurrency: int = 1, include: list[str] = ()) -> str:
        """Start a worker and wait until it has announced itself; returns its node name."""
        name = f"w{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        cmd = [sys.executable, "-m", "scenecraft.cli", "worker", "--queues", queues]
        cmd += ["--concurrency", str(concurrency), "--name", name, "--loglevel", "warning"]
        for module in include:
            cmd += ["--include", module]
        self.procs[name] = subprocess.Popen(cmd, cwd=self.cwd, env=self.env, start_new_session=True)
        store = redis.Redis.from_url(self.redis_url, decode_responses=True)
        first = queues.split(",")[0]
        wait_for(
            lambda: store.zscore(f"sc:workers:{first}", name) is not None,
            f"worker {name} to be ready",
            timeout=120,
        )
        return name

    def parent_of(self, pid: int) -> str | None:
        """The node whose main process is ``pid`` or the parent of ``pid``."""
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, IndexError):
            return None
        for name, p in self.procs.items():
            if p.pid in (pid, ppid):
                return name
        return None

    def kill(self, name: str) -> None:
        """SIGKILL a whole worker (its main process and children)."""
        p = self.procs.pop(name)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(30)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)
