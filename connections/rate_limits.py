"""Fixed-window rate limits in Redis, for the edges (bind-code guesses, SMS codes per number and
per IP, webhook floods). A limit that cannot be checked (Redis down) refuses: these guard abuse,
and the caller tells the person to try again later."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError

PREFIX = "weixiu:rate:"


def allow(redis: Redis, key: str, limit: int, window_seconds: int) -> bool:
    """Count one more attempt under `key`; False once more than `limit` fall in the window."""
    name = f"{PREFIX}{key}"
    try:
        with redis.pipeline() as pipe:
            pipe.set(name, 0, ex=window_seconds, nx=True)  # the window starts with the first attempt
            pipe.incr(name)  # keeps the key's expiry
            _, count = pipe.execute()
    except RedisError:
        return False
    return int(count) <= limit
