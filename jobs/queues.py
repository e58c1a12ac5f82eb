"""The Redis connection and the named queues, attached to the app like any extension."""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis
from rq import Queue

from jobs.runtime import AppContextJob

QUEUE_NAMES = ("default",)


class JobQueues:
    def init_app(self, app: Flask) -> None:
        url = app.config.get("REDIS_URL")
        # A Redis that does not answer must not hold a request (WeChat waits 5 s for the webhook);
        # no read timeout: workers block on the queue for longer than any request would.
        app.extensions["weixiu.redis"] = Redis.from_url(url, socket_connect_timeout=2) if url else None

    @staticmethod
    def redis() -> Redis:
        connection = current_app.extensions.get("weixiu.redis")
        if connection is None:
            raise RuntimeError("REDIS_URL is not configured")
        return connection

    def queue(self, name: str = "default") -> Queue:
        if name not in QUEUE_NAMES:
            raise ValueError(f"unknown queue {name!r}")
        return Queue(name, connection=self.redis(), job_class=AppContextJob)


job_queues = JobQueues()
