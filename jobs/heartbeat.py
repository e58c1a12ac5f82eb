"""Liveness: the scheduler enqueues a heartbeat each minute and a worker records it.

The health endpoint reads both stamps, so "alerts go out" is checked end to end: a scheduler
that ticks, a queue that delivers, a worker that runs jobs.
"""

from __future__ import annotations

from connections import redis as redis_connection
from operations.clock import now_utc

WORKER_KEY = "weixiu:heartbeat:worker"
SCHEDULER_KEY = "weixiu:heartbeat:scheduler"


def record_worker_heartbeat() -> str:
    stamp = now_utc().isoformat()
    redis_connection.redis().set(WORKER_KEY, stamp)
    return stamp


def read_heartbeats() -> dict[str, str | None]:
    redis = redis_connection.redis()
    values = redis.mget([SCHEDULER_KEY, WORKER_KEY])
    return {
        "scheduler": values[0].decode() if values[0] else None,
        "worker": values[1].decode() if values[1] else None,
    }
