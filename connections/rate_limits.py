"""Fixed-window rate limits in Redis, for the edges (bind-code guesses, SMS codes per number and
per IP, webhook floods). A limit that cannot be checked (Redis down) refuses: these guard abuse,
and the caller tells the person to try again later."""

from __future__ import annotations

import contextlib

from redis import Redis
from redis.exceptions import RedisError

PREFIX = "weixiu:rate:"

# DECR only a live window's positive count: a window that has ended has nothing to give back, and
# DECR on a missing key would start a window with no expiry.
_GIVE_BACK = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


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


def give_back(redis: Redis, key: str) -> None:
    """Uncount one attempt `allow` counted under `key`: it did not happen after all (the SMS it
    was for never went out). The window keeps its end. With Redis down the attempt stays counted,
    which costs the person only a wait for the window to end."""
    with contextlib.suppress(RedisError):
        redis.eval(_GIVE_BACK, 1, f"{PREFIX}{key}")
