"""`scenecraft submit`'s thread helper: a follower that crashed never counts as a success."""

from __future__ import annotations

import threading

import pytest

from scenecraft.client import submit as remote


def test_daemon_threads_map_in_order():
    assert remote._in_daemon_threads(lambda x: x * x, list(range(20))) == [x * x for x in range(20)]


def test_daemon_threads_raise_a_crash_in_the_caller(monkeypatch):
    monkeypatch.setattr(remote, "STREAMS", 2)
    started = []
    lock = threading.Lock()

    def fn(x: int) -> int:
        with lock:
            started.append(x)
        if x == 1:
            raise ConnectionResetError("stream dropped")
        return x

    with pytest.raises(ConnectionResetError, match="stream dropped"):
        remote._in_daemon_threads(fn, list(range(50)))
    assert len(started) < 50  # the other thread stopped taking new items
