"""The named queues, on the app's Redis (connections.redis)."""

from __future__ import annotations

from rq import Queue

from connections import redis as redis_connection
from jobs.runtime import AppContextJob

QUEUE_NAMES = ("default",)


class JobQueues:
    def queue(self, name: str = "default") -> Queue:
        if name not in QUEUE_NAMES:
            raise ValueError(f"unknown queue {name!r}")
        return Queue(name, connection=redis_connection.redis(), job_class=AppContextJob)


job_queues = JobQueues()
