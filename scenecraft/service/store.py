"""Job records, per-key fair queues and job events in Redis: the state the API and workers share.

Keys (one Redis; several keys are touched by one Lua script, so not Redis Cluster):

- ``sc:job:{id}``            hash: the job record (state, owner, params, progress, artifacts, ...)
- ``sc:ev:{id}``             stream: the job's events (state, progress, preview, result) for SSE
- ``sc:jobs:{owner}``        zset id -> sequence number: an owner's jobs, newest last
- ``sc:pending:{q}:{owner}`` zset id -> (priority, sequence): an owner's queued jobs on queue q
- ``sc:ring:{q}``            zset owner -> when last served: round-robin across owners
- ``sc:claim:{task}``        the job a Celery message claimed, so a redelivery finds it again
- ``sc:lease:{id}``          "host:pid" of the process running the job, renewed while it runs
- ``sc:running:{q}``         zset id -> claimed at: running jobs, where the reaper looks for lapsed
  leases (a holder that died, or lost Redis for longer than a lease)
- ``sc:batch:{id}``, ``sc:idem:{owner}:{key}``, ``sc:rate:{owner}:{rate}:{burst}``: batches,
  idempotency keys,
  the per-key request bucket; ``sc:depth:{q}`` / ``sc:queued:{owner}``: queued-job counters;
  ``sc:workers:{q}``: workers seen lately, for ``/readyz``

Celery messages are *tokens*: one is sent per queued job, but a token does not name a job. The
worker that receives one claims the next job round-robin across owners (``claim``), so one key's
1,000-job batch cannot starve another key's single job, and a token's redelivery after a worker
died finds the claimed job through ``sc:claim``. Extra tokens are harmless (they claim nothing),
so lost ones are simply topped up (``missing_tokens``).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import redis

State = Literal["queued", "running", "succeeded", "failed", "canceled"]
STATES: tuple[State, ...] = ("queued", "running", "succeeded", "failed", "canceled")
TERMINAL = frozenset({"succeeded", "failed", "canceled"})
QUEUES = ("gpu", "cpu")
EVENTS_MAXLEN = 1000
# Priority 0..9, higher first; the pending score orders by priority, then arrival.
PRIORITY_SCALE = 10**13


def job_key(job_id: str) -> str:
    return f"sc:job:{job_id}"


def events_key(job_id: str) -> str:
    return f"sc:ev:{job_id}"


def now_s() -> float:
    return round(time.time(), 6)


# Helpers shared by the scripts: an event is appended with the job's retention applied once the
# job is finished, so finished jobs and their streams expire together.
_LUA_LIB = """
local function event(id, kind, data)
  redis.call('XADD', 'sc:ev:' .. id, 'MAXLEN', '~', $MAXLEN, '*', 'type', kind, 'data', data)
end
local function finish(id, state, now, retention, extra)
  local job = 'sc:job:' .. id
  local q = redis.call('HGET', job, 'queue')
  if q then redis.call('ZREM', 'sc:running:' .. q, id) end
  redis.call('HSET', job, 'state', state, 'finished_at', now)
  for i = 1, #extra, 2 do redis.call('HSET', job, extra[i], extra[i + 1]) end
  redis.call('DEL', 'sc:lease:' .. id)
  local ev = {state = state}
  if state == 'failed' then ev.error = redis.call('HGET', job, 'error') end
  event(id, 'state', cjson.encode(ev))
  redis.call('EXPIRE', job, retention)
  redis.call('EXPIRE', 'sc:ev:' .. id, retention)
end
""".replace("$MAXLEN", str(EVENTS_MAXLEN))

# ARGV: owner, now, retention, max_queued, idem_key ('' for none), fingerprint, kind, batch id,
# then 5 values per job: id, queue, priority, pipeline, params json.
# Returns {'ok'} | {'replay', kind, id, fingerprint} | {'limit', queued}.
_CREATE = (
    _LUA_LIB
    + """
local owner, now, retention, max_queued = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local idem, fp, kind, batch = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local idem_key = 'sc:idem:' .. owner .. ':' .. idem
if idem ~= '' then
  local prev = redis.call('HMGET', idem_key, 'kind', 'id', 'fp')
  if prev[1] then return {'replay', prev[1], prev[2], prev[3]} end
end
local n = (#ARGV - 8) / 5
local queued = tonumber(redis.call('GET', 'sc:queued:' .. owner) or '0')
if queued + n > max_queued then return {'limit', tostring(queued)} end
for i = 0, n - 1 do
  local b = 9 + i * 5
  local id, q, prio = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2])
  local pipeline, params = ARGV[b + 3], ARGV[b + 4]
  local seq = redis.call('INCR', 'sc:seq')
  redis.call('HSET', 'sc:job:' .. id, 'id', id, 'owner', owner, 'pipeline', pipeline,
    'queue', q, 'priority', prio, 'params', params, 'state', 'queued', 'created_at', now,
    'attempts', 0, 'seq', seq, 'batch', batch)
  redis.call('ZADD', 'sc:jobs:' .. owner, seq, id)
  redis.call('ZADD', 'sc:pending:' .. q .. ':' .. owner, (9 - prio) * $SCALE + seq, id)
  redis.call('ZADD', 'sc:ring:' .. q, 'NX', 0, owner)
  redis.call('INCR', 'sc:depth:' .. q)
  event(id, 'state', cjson.encode({state = 'queued'}))
end
redis.call('INCRBY', 'sc:queued:' .. owner, n)
if batch ~= '' then
  local ids = {}
  for i = 0, n - 1 do ids[#ids + 1] = ARGV[9 + i * 5] end
  redis.call('HSET', 'sc:batch:' .. batch, 'id', batch, 'owner', owner, 'created_at', now,
    'jobs', cjson.encode(ids))
  redis.call('EXPIRE', 'sc:batch:' .. batch, retention)
end
if idem ~= '' then
  redis.call('HSET', idem_key, 'kind', kind, 'id', batch ~= '' and batch or ARGV[9], 'fp', fp)
  redis.call('EXPIRE', idem_key, retention)
end
return {'ok'}
""".replace("$SCALE", str(PRIORITY_SCALE))
)

# ARGV: queue, task id, holder, now, lease ms, max attempts, retention.
# Returns {'run', id, attempt} | {'leased', id, holder} | {'done', id} | {'gave_up', id} | {'empty'}
_CLAIM = (
    _LUA_LIB
    + """
local q, task, holder, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lease_ms, max_attempts, retention = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local claimed = redis.call('GET', 'sc:claim:' .. task)
if claimed then
  -- a redelivered message: its job was claimed by a worker that may have died
  local job = 'sc:job:' .. claimed
  if redis.call('HGET', job, 'state') ~= 'running' then return {'done', claimed} end
  local lease = redis.call('GET', 'sc:lease:' .. claimed)
  if lease then return {'leased', claimed, lease} end
  local attempts = tonumber(redis.call('HGET', job, 'attempts'))
  if attempts >= max_attempts then
    redis.call('HSET', job, 'error', 'the worker running this job was lost ' .. attempts ..
      ' times (killed, out of memory, or its machine went away); giving up')
    finish(claimed, 'failed', now, retention, {})
    return {'gave_up', claimed}
  end
  redis.call('HSET', job, 'attempts', attempts + 1, 'worker', holder, 'started_at', now,
    'task', task)
  redis.call('HDEL', job, 'lapsed_at')
  redis.call('SET', 'sc:lease:' .. claimed, holder, 'PX', lease_ms)
  redis.call('ZADD', 'sc:running:' .. q, now, claimed)
  event(claimed, 'state', cjson.encode({state = 'running', attempt = attempts + 1}))
  return {'run', claimed, tostring(attempts + 1)}
end
while true do
  local first = redis.call('ZRANGE', 'sc:ring:' .. q, 0, 0)
  if #first == 0 then return {'empty'} end
  local owner = first[1]
  local pending = 'sc:pending:' .. q .. ':' .. owner
  local popped = redis.call('ZPOPMIN', pending)
  if #popped == 0 or redis.call('ZCARD', pending) == 0 then
    redis.call('ZREM', 'sc:ring:' .. q, owner)
  else
    redis.call('ZADD', 'sc:ring:' .. q, redis.call('INCR', 'sc:rr'), owner)
  end
  if #popped > 0 then
    local id = popped[1]
    local job = 'sc:job:' .. id
    redis.call('DECR', 'sc:depth:' .. q)
    redis.call('DECR', 'sc:queued:' .. owner)
    -- compare-and-set queued -> running: a job leaves 'queued' exactly once
    if redis.call('HGET', job, 'state') == 'queued' then
      -- a job the reaper put back has attempts already: this is its next one
      local attempt = redis.call('HINCRBY', job, 'attempts', 1)
      redis.call('HSET', job, 'state', 'running', 'started_at', now, 'worker', holder,
        'task', task)
      redis.call('HDEL', job, 'lapsed_at')
      redis.call('SET', 'sc:claim:' .. task, id, 'EX', retention)
      redis.call('SET', 'sc:lease:' .. id, holder, 'PX', lease_ms)
      redis.call('ZADD', 'sc:running:' .. q, now, id)
      event(id, 'state', cjson.encode({state = 'running', attempt = attempt}))
      return {'run', id, tostring(attempt)}
    end
  end
end
"""
)

# ARGV: id, attempt, state, now, retention, result json ('' for none), then field/value pairs.
# Returns 1 when this attempt finished the job, 0 when it no longer owned it.
_FINISH = (
    _LUA_LIB
    + """
local id, attempt, state, now, retention = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local job = 'sc:job:' .. id
local cur = redis.call('HMGET', job, 'state', 'attempts')
if cur[1] ~= 'running' or cur[2] ~= attempt then return 0 end
if ARGV[6] ~= '' then event(id, 'result', ARGV[6]) end
local extra = {}
for i = 7, #ARGV do extra[#extra + 1] = ARGV[i] end
finish(id, state, now, retention, extra)
return 1
"""
)

# ARGV: id, owner, now, retention. Returns dequeued | cancel_requested | the final state it had.
_CANCEL = (
    _LUA_LIB
    + """
local id, owner, now, retention = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local job = 'sc:job:' .. id
local cur = redis.call('HMGET', job, 'state', 'owner', 'queue', 'cancel')
if cur[1] == 'queued' then
  redis.call('ZREM', 'sc:pending:' .. cur[3] .. ':' .. owner, id)
  redis.call('DECR', 'sc:depth:' .. cur[3])
  redis.call('DECR', 'sc:queued:' .. owner)
  finish(id, 'canceled', now, retention, {})
  return 'dequeued'
end
if cur[1] == 'running' then
  if cur[4] ~= '1' then
    redis.call('HSET', job, 'cancel', '1')
    event(id, 'cancel_requested', '{}')
  end
  return 'cancel_requested'
end
return cur[1]
"""
)

# ARGV: owner, idempotency key, then job ids. Takes back jobs whose tokens could not be sent.
_WITHDRAW = """
local owner, idem = ARGV[1], ARGV[2]
for i = 3, #ARGV do
  local id = ARGV[i]
  local cur = redis.call('HMGET', 'sc:job:' .. id, 'state', 'queue', 'batch')
  if cur[1] == 'queued' then
    redis.call('ZREM', 'sc:pending:' .. cur[2] .. ':' .. owner, id)
    redis.call('DECR', 'sc:depth:' .. cur[2])
    redis.call('DECR', 'sc:queued:' .. owner)
    redis.call('ZREM', 'sc:jobs:' .. owner, id)
    redis.call('DEL', 'sc:job:' .. id, 'sc:ev:' .. id)
    if cur[3] ~= '' then redis.call('DEL', 'sc:batch:' .. cur[3]) end
  end
end
if idem ~= '' then redis.call('DEL', 'sc:idem:' .. owner .. ':' .. idem) end
return 1
"""

# ARGV: id, holder, lease ms, attempt. Renews the lease while this holder has it; takes it back
# if it lapsed (Redis was away longer than the lease) while this attempt still runs the job.
_RENEW = """
local lease = redis.call('GET', 'sc:lease:' .. ARGV[1])
if lease == ARGV[2] then
  return redis.call('PEXPIRE', 'sc:lease:' .. ARGV[1], ARGV[3])
end
if not lease then
  local cur = redis.call('HMGET', 'sc:job:' .. ARGV[1], 'state', 'worker', 'attempts')
  if cur[1] == 'running' and cur[2] == ARGV[2] and cur[3] == ARGV[4] then
    redis.call('SET', 'sc:lease:' .. ARGV[1], ARGV[2], 'PX', ARGV[3])
    return 1
  end
end
return 0
"""

# ARGV: queue, now, max attempts, retention, hard time limit (s; 0: none). Running jobs of the
# queue whose lease lapsed (their holder died, or lost Redis for longer than a lease) go back to
# the FRONT of their owner's queue, or fail once they used their attempts; a running job whose
# cancel was asked is canceled; one whose attempt ran past the hard time limit was killed by it
# (Celery ends the process there) and fails saying so, rather than being run again to the same
# end. Returns {requeued ids, failed ids}.
_REAP = (
    _LUA_LIB
    + """
local q, now, max_attempts, retention = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local hard = tonumber(ARGV[5])
local requeued, failed = {}, {}
for _, id in ipairs(redis.call('ZRANGE', 'sc:running:' .. q, 0, -1)) do
  local job = 'sc:job:' .. id
  local cur = redis.call('HMGET', job, 'state', 'attempts', 'owner', 'seq', 'task', 'cancel',
    'started_at')
  if cur[1] ~= 'running' then
    redis.call('ZREM', 'sc:running:' .. q, id)
  elseif redis.call('EXISTS', 'sc:lease:' .. id) == 0 then
    local attempts = tonumber(cur[2])
    if cur[5] then redis.call('DEL', 'sc:claim:' .. cur[5]) end
    if cur[6] == '1' then
      redis.call('HSET', job, 'error', 'canceled; its worker was lost')
      finish(id, 'canceled', now, retention, {})
    elseif hard > 0 and cur[7] and tonumber(now) - tonumber(cur[7]) >= hard then
      redis.call('HSET', job, 'error', 'the job ran past the hard time limit of ' ..
        ARGV[6] .. ' s and was killed')
      finish(id, 'failed', now, retention, {})
      failed[#failed + 1] = id
    elseif attempts >= max_attempts then
      redis.call('HSET', job, 'error', 'the worker running this job was lost ' .. attempts ..
        ' times (killed, out of memory, or its machine went away); giving up')
      finish(id, 'failed', now, retention, {})
      failed[#failed + 1] = id
    else
      local owner = cur[3]
      redis.call('ZREM', 'sc:running:' .. q, id)
      redis.call('HSET', job, 'state', 'queued')
      redis.call('DEL', 'sc:lease:' .. id)
      redis.call('ZADD', 'sc:pending:' .. q .. ':' .. owner, tonumber(cur[4]) - 10 * $SCALE, id)
      redis.call('ZADD', 'sc:ring:' .. q, 'NX', 0, owner)
      redis.call('INCR', 'sc:depth:' .. q)
      redis.call('INCR', 'sc:queued:' .. owner)
      event(id, 'state', cjson.encode({state = 'queued', requeued = true, attempts = attempts}))
      requeued[#requeued + 1] = id
    end
  end
end
return {requeued, failed}
""".replace("$SCALE", str(PRIORITY_SCALE))
)

# ARGV: id, holder. Drops a lease whose holder is known to be dead.
_BREAK = """
if redis.call('GET', 'sc:lease:' .. ARGV[1]) == ARGV[2] then
  return redis.call('DEL', 'sc:lease:' .. ARGV[1])
end
return 0
"""

# ARGV: owner, rate per s, burst, now. A token bucket; returns seconds to wait (0 = allowed).
# One bucket per key *and* limit (sc:rate:{owner}:{rate}:{burst}): API instances configured with
# different limits share Redis, and a shared bucket let the stricter one drain the other's.
_RATE = """
local key = 'sc:rate:' .. ARGV[1] .. ':' .. ARGV[2] .. ':' .. ARGV[3]
local rate, burst, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local b = redis.call('HMGET', key, 'tokens', 'at')
local tokens, at = tonumber(b[1]) or burst, tonumber(b[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate else tokens = tokens - 1 end
redis.call('HSET', key, 'tokens', tokens, 'at', now)
redis.call('EXPIRE', key, math.ceil(burst / rate) + 1)
return tostring(wait)
"""


@dataclass
class NewJob:
    """A validated job about to be queued."""

    pipeline: str
    queue: str
    params: dict[str, Any]
    priority: int = 5
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class JobRecord:
    """One job as stored in ``sc:job:{id}``."""

    id: str
    owner: str
    pipeline: str
    queue: str
    priority: int
    params: dict[str, Any]
    state: State
    created_at: float
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    progress: dict[str, Any] | None = None
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    batch: str | None = None
    worker: str | None = None
    cancel_requested: bool = False
    seq: int = 0

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> JobRecord:
        def opt_float(k: str) -> float | None:
            return float(h[k]) if h.get(k) else None

        def js(k: str, default: Any) -> Any:
            return json.loads(h[k]) if h.get(k) else default

        return cls(
            id=h["id"],
            owner=h["owner"],
            pipeline=h["pipeline"],
            queue=h["queue"],
            priority=int(h["priority"]),
            params=json.loads(h["params"]),
            state=h["state"],  # type: ignore[arg-type]
            created_at=float(h["created_at"]),
            attempts=int(h.get("attempts") or 0),
            started_at=opt_float("started_at"),
            finished_at=opt_float("finished_at"),
            progress=js("progress", None),
            artifacts=js("artifacts", {}),
            metrics=js("metrics", {}),
            record=js("record", {}),
            error=h.get("error") or None,
            batch=h.get("batch") or None,
            worker=h.get("worker") or None,
            cancel_requested=h.get("cancel") == "1",
            seq=int(h.get("seq") or 0),
        )


def _read(job_id: str, h: dict[str, str]) -> JobRecord:
    """A stored record, or, if it cannot be read (damaged, or written by another version), a
    failed record saying so: one bad record must never break a key's reads and listings."""
    try:
        return JobRecord.from_hash(h)
    except (KeyError, ValueError, TypeError) as e:  # json.JSONDecodeError is a ValueError
        return JobRecord(
            id=job_id,
            owner=h.get("owner", ""),
            pipeline=h.get("pipeline", "?"),
            queue=h.get("queue", "cpu"),
            priority=0,
            params={},
            state="failed",
            created_at=0.0,
            error=f"the stored record of this job cannot be read ({type(e).__name__}: {e})",
        )


@dataclass
class Reaped:
    """What one ``reap`` did: jobs back in their queue (each needs a token) and jobs failed."""

    requeued: list[str]
    failed: list[str]


@dataclass
class Created:
    """Outcome of ``create``: the new (or, for a replayed idempotency key, earlier) ids."""

    kind: Literal["job", "batch"]
    id: str
    replayed: bool = False
    fingerprint_matches: bool = True


class QueueFull(Exception):
    """A key already has as many queued jobs as it may."""

    def __init__(self, queued: int, limit: int):
        self.queued, self.limit = queued, limit
        super().__init__(f"this API key already has {queued} queued jobs; the limit is {limit}")


class JobStore:
    """The Redis side of the job service. Every state change goes through one Lua script."""

    def __init__(self, client: redis.Redis):
        self.r = client
        self._create = client.register_script(_CREATE)
        self._claim = client.register_script(_CLAIM)
        self._finish = client.register_script(_FINISH)
        self._cancel = client.register_script(_CANCEL)
        self._withdraw = client.register_script(_WITHDRAW)
        self._renew = client.register_script(_RENEW)
        self._reap = client.register_script(_REAP)
        self._break = client.register_script(_BREAK)
        self._rate = client.register_script(_RATE)

    @classmethod
    def from_url(cls, url: str) -> JobStore:
        # short timeouts so an unreachable Redis turns into a clear 503, not a hung request
        return cls(
            redis.Redis.from_url(
                url, decode_responses=True, socket_timeout=5, socket_connect_timeout=2
            )
        )

    # --- API side -------------------------------------------------------------------------------

    def create(
        self,
        owner: str,
        jobs: list[NewJob],
        *,
        retention_s: int,
        max_queued: int,
        idempotency_key: str = "",
        fingerprint: str = "",
        batch_id: str = "",
    ) -> Created:
        """Queue jobs atomically (all or none); a known idempotency key returns the earlier ids."""
        kind: Literal["job", "batch"] = "batch" if batch_id else "job"
        args: list[Any] = [
            owner,
            now_s(),
            retention_s,
            max_queued,
            idempotency_key,
            fingerprint,
            kind,
            batch_id,
        ]
        for j in jobs:
            args += [j.id, j.queue, j.priority, j.pipeline, json.dumps(j.params)]
        out = self._create(args=args)
        if out[0] == "replay":
            return Created(out[1], out[2], replayed=True, fingerprint_matches=out[3] == fingerprint)
        if out[0] == "limit":
            raise QueueFull(int(out[1]), max_queued)
        return Created(kind, batch_id or jobs[0].id)

    def get(self, job_id: str) -> JobRecord | None:
        h = self.r.hgetall(job_key(job_id))
        return _read(job_id, h) if h else None

    def get_many(self, ids: list[str]) -> list[JobRecord | None]:
        pipe = self.r.pipeline(transaction=False)
        for i in ids:
            pipe.hgetall(job_key(i))
        return [_read(i, h) if h else None for i, h in zip(ids, pipe.execute(), strict=True)]

    def list(
        self,
        owner: str,
        *,
        limit: int,
        before_seq: int | None = None,
        state: str | None = None,
        pipeline: str | None = None,
    ) -> tuple[list[JobRecord], int | None]:
        """An owner's jobs, newest first; returns the page and the cursor of the next page."""
        key = f"sc:jobs:{owner}"
        top: str | int = "+inf" if before_seq is None else f"({before_seq}"
        out: list[JobRecord] = []
        # filters are applied while scanning, so read in chunks until the page is full
        while len(out) < limit:
            chunk = self.r.zrevrangebyscore(key, top, "-inf", start=0, num=100, withscores=True)
            if not chunk:
                return out, None
            records = self.get_many([i for i, _ in chunk])
            for (job_id, score), rec in zip(chunk, records, strict=True):
                top = f"({int(score)}"
                if rec is None:  # expired after the retention period
                    self.r.zrem(key, job_id)
                    continue
                if (state is None or rec.state == state) and (
                    pipeline is None or rec.pipeline == pipeline
                ):
                    out.append(rec)
                    if len(out) == limit:
                        return out, rec.seq
        return out, None

    def withdraw(self, owner: str, ids: list[str], idempotency_key: str) -> None:
        """Remove jobs that were written but never announced to workers (all still queued)."""
        self._withdraw(args=[owner, idempotency_key, *ids])

    def cancel(self, owner: str, job_id: str, retention_s: int) -> str:
        """``dequeued`` (a queued job is now canceled), ``cancel_requested`` (a running job stops
        at its next step), or the final state the job already had."""
        return self._cancel(args=[job_id, owner, now_s(), retention_s])

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        h = self.r.hgetall(f"sc:batch:{batch_id}")
        if not h:
            return None
        return {"id": h["id"], "owner": h["owner"], "created_at": float(h["created_at"]),
                "jobs": json.loads(h["jobs"])}  # fmt: skip

    def rate_wait(self, owner: str, rate: float, burst: int) -> float:
        """Seconds this request must wait under the owner's token bucket (0: go ahead)."""
        return float(self._rate(args=[owner, rate, burst, time.time()]))

    def live_workers(self, queue: str, within_s: float) -> list[str]:
        return self.r.zrangebyscore(f"sc:workers:{queue}", time.time() - within_s, "+inf")

    # --- worker side ----------------------------------------------------------------------------

    def claim(
        self, queue: str, task_id: str, holder: str, *, lease_s: float, max_attempts: int,
        retention_s: int,
    ) -> list[str]:  # fmt: skip
        args = [queue, task_id, holder, now_s(), int(lease_s * 1000), max_attempts, retention_s]
        return self._claim(args=args)

    def claimed_by(self, task_id: str) -> str | None:
        return self.r.get(f"sc:claim:{task_id}")

    def lease_holder(self, job_id: str) -> str | None:
        return self.r.get(f"sc:lease:{job_id}")

    def renew(self, job_id: str, holder: str, lease_s: float, attempt: int) -> bool:
        return bool(self._renew(args=[job_id, holder, int(lease_s * 1000), attempt]))

    def running(self, queue: str) -> list[str]:
        """Ids of the jobs running on ``queue`` (as far as the last claim and finish said)."""
        return self.r.zrange(f"sc:running:{queue}", 0, -1)

    def lapsed(self, queue: str) -> list[str]:
        """Running jobs of ``queue`` whose lease has lapsed: the reaper's next work."""
        ids = self.running(queue)
        pipe = self.r.pipeline(transaction=False)
        for i in ids:
            pipe.exists(f"sc:lease:{i}")
        return [i for i, held in zip(ids, pipe.execute(), strict=True) if not held]

    def leases(self, ids: list[str]) -> list[str | None]:
        """The lease holder of each job (None: no lease)."""
        return self.r.mget([f"sc:lease:{i}" for i in ids]) if ids else []

    def reap(
        self,
        queue: str,
        *,
        max_attempts: int,
        retention_s: int,
        grace_s: float,
        hard_limit_s: float = 0.0,
    ) -> Reaped:
        """Put running jobs whose lease lapsed back at the front of their owner's queue (or fail
        them after ``max_attempts``, or at once when their attempt had run ``hard_limit_s``:
        the time limit killed it). Atomic and idempotent: every worker may call it.

        Nothing is reaped until Redis has been up ``grace_s`` (a lease): a restarted Redis finds
        every lease lapsed at once, and the holders still alive need one renewal to take theirs
        back (``renew``) before their jobs would be run a second time."""
        if int(self.r.info("server")["uptime_in_seconds"]) < grace_s:
            return Reaped([], [])
        # a second of slack: the attempt's clock starts at its claim, just after Celery's
        killed_after = max(hard_limit_s - 1.0, 0.0) if hard_limit_s > 0 else 0.0
        args = [queue, now_s(), max_attempts, retention_s, killed_after, f"{hard_limit_s:g}"]
        requeued, failed = self._reap(args=args)
        return Reaped(list(requeued), list(failed))

    def break_lease(self, job_id: str, holder: str) -> bool:
        return bool(self._break(args=[job_id, holder]))

    def finish(
        self,
        job_id: str,
        attempt: int,
        state: State,
        retention_s: int,
        *,
        result: dict[str, Any] | None = None,
        **fields: str,
    ) -> bool:
        """Move a running job to a final state, only if ``attempt`` still owns it."""
        args: list[Any] = [job_id, attempt, state, now_s(), retention_s]
        args.append(json.dumps(result) if result is not None else "")
        for k, v in fields.items():
            args += [k, v]
        return bool(self._finish(args=args))

    def is_cancel_requested(self, job_id: str) -> bool:
        return self.r.hget(job_key(job_id), "cancel") == "1"

    def progress(self, job_id: str, event: dict[str, Any]) -> None:
        data = json.dumps(event)
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(job_key(job_id), "progress", data)
        self._append(pipe, job_id, "progress", data)
        pipe.execute()

    def preview(self, job_id: str, event: dict[str, Any], first: bool) -> None:
        pipe = self.r.pipeline(transaction=False)
        if first:
            pipe.hset(job_key(job_id), "first_preview_at", now_s())
        self._append(pipe, job_id, "preview", json.dumps(event))
        pipe.execute()

    def first_preview_at(self, job_id: str) -> float | None:
        v = self.r.hget(job_key(job_id), "first_preview_at")
        return float(v) if v else None

    def heartbeat(self, hostname: str, queues: list[str]) -> None:
        pipe = self.r.pipeline(transaction=False)
        for q in queues:
            pipe.zadd(f"sc:workers:{q}", {hostname: time.time()})
            # forget workers gone for a day so the set stays small
            pipe.zremrangebyscore(f"sc:workers:{q}", "-inf", time.time() - 86400)
        pipe.execute()

    def missing_tokens(self, queue: str, fresh_s: float) -> int:
        """Queued jobs beyond the Celery messages that may claim them soon: those waiting on
        ``queue`` and those a worker took in the last ``fresh_s`` seconds and has not yet
        acknowledged (kombu's ``unacked_index``: a worker about to claim), never negative.

        An older unacknowledged message is no token for a queued job: it belongs to a running
        job, or to a worker that died (kombu gives it back only after the visibility timeout, an
        hour, while the reaper has already queued its job again with a token of its own).
        Counting those held the top-up back for an hour after a worker was killed. Tokens sent
        too many claim nothing, so erring this way is safe."""
        pipe = self.r.pipeline(transaction=False)
        pipe.get(f"sc:depth:{queue}")
        pipe.llen(queue)
        pipe.zcount("unacked_index", time.time() - fresh_s, "+inf")
        depth, waiting, taking = pipe.execute()
        return max(0, int(depth or 0) - int(waiting) - int(taking))

    @staticmethod
    def _append(pipe: Any, job_id: str, kind: str, data: str) -> None:
        pipe.xadd(
            events_key(job_id),
            {"type": kind, "data": data},
            maxlen=EVENTS_MAXLEN,
            approximate=True,
        )
