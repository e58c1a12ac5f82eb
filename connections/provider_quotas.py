"""The providers' quotas, counted in Redis by every worker together (jobs.quotas decides what a
message that does not fit becomes).

Two kinds of window:
- rolling: at most `limit` sends in any `seconds` (Aliyun's notices: 50 a day per signature,
  template and number, a rolling 24 h). A sorted set per key, one member per send scored by when it
  went (the app's clock, so a test that moves the clock moves the window); a place frees when the
  oldest member leaves the window. A key the provider says is full although we count room (its
  count is ahead of ours: Redis lost ours, or another sender shares the account) is `block`ed.
- daily: at most `limit` sends from 00:00 Asia/Shanghai (WeChat's template sends per official
  account): a counter per key and day, and the day's limit as the provider reported it, if it did
  (`set_daily`, from WeChat's quota/get).

A batch takes its places in one round trip: a Lua script checks and counts in one step, so two
workers never both take the last place. Places of calls that never reached the provider are given
back, again in one round trip.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from redis import Redis
from redis.exceptions import RedisError

PREFIX = "weixiu:quota:"
# Keys outlive their window by this much (Redis's own clock; the windows run on the app's).
KEEP_SECONDS = 24 * 3600

# KEYS: the window of each ask, in order (a key repeats for several asks); ARGV: now, the window's
# seconds, its limit, the keys' lifetime, then each ask's member. Answers one number per ask: 0 when
# it took a place, else when (epoch seconds, rounded up) a place frees for it: the n-th ask refused
# on a key waits for the n-th oldest send to leave the window, so a queue of refusals is spread over
# the places as they free instead of all coming back at the first.
_TAKE_ROLLING = """
local now, seconds, limit, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local trimmed, refused, answers = {}, {}, {}
for i, key in ipairs(KEYS) do
  if not trimmed[key] then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - seconds)
    trimmed[key] = true
  end
  local blocked = tonumber(redis.call('GET', key .. ':blocked') or '0')
  local used = redis.call('ZCARD', key)
  if blocked <= now and used < limit then
    redis.call('ZADD', key, now, ARGV[4 + i])
    redis.call('EXPIRE', key, keep)
    answers[i] = 0
  else
    local free = now
    if used >= limit then
      local rank = math.min(used - limit + (refused[key] or 0), used - 1)
      free = tonumber(redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')[2]) + seconds
    end
    refused[key] = (refused[key] or 0) + 1
    answers[i] = math.ceil(math.max(free, blocked))
  end
end
return answers
"""

# KEYS[1]: the day's count, KEYS[2]: the day's limit as the provider reported it (if it did);
# ARGV: places wanted, the configured limit, the keys' lifetime. Answers {granted, used, limit}.
_TAKE_DAILY = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(redis.call('GET', KEYS[2]) or ARGV[2])
local granted = math.max(math.min(tonumber(ARGV[1]), limit - used), 0)
if granted > 0 then
  redis.call('INCRBY', KEYS[1], granted)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return {granted, used + granted, limit}
"""

# Gives back at most what is counted: a day that has ended has nothing to give back.
_GIVE_BACK_DAILY = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local back = math.min(tonumber(ARGV[1]), used)
if back > 0 then
  redis.call('DECRBY', KEYS[1], back)
end
return back
"""


# KEYS: the day's count and limit; ARGV: the provider's use and limit, the keys' lifetime.
_SET_DAILY = """
local used = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[1]))
redis.call('SET', KEYS[1], used, 'EX', tonumber(ARGV[3]))
redis.call('SET', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[3]))
return used
"""


@dataclass(frozen=True)
class Place:
    """One send's place in a rolling window: the window's key and the send's own member."""

    key: str
    member: str


def take_rolling(redis: Redis, places: Sequence[Place], limit: int, seconds: int, now: float) -> list[float | None]:
    """Take a place for each send, in order: None for those that got one, else when a place frees
    for it (epoch seconds). Raises RedisError."""
    if not places:
        return []
    answers = redis.eval(
        _TAKE_ROLLING,
        len(places),
        *(f"{PREFIX}{place.key}" for place in places),
        repr(now),
        seconds,
        limit,
        seconds + KEEP_SECONDS,
        *(place.member for place in places),
    )
    return [None if answer == 0 else float(answer) for answer in answers]


def give_back_rolling(redis: Redis, places: Sequence[Place]) -> None:
    """These sends never reached the provider: their places are free again. With Redis away they
    stay taken, which costs a wait, never a refusal."""
    if not places:
        return
    with contextlib.suppress(RedisError), redis.pipeline(transaction=False) as pipe:
        for place in places:
            pipe.zrem(f"{PREFIX}{place.key}", place.member)
        pipe.execute()


def block(redis: Redis, key: str, until: float, seconds: int) -> None:
    """The provider refused a send on `key` for its limit while we counted room: no place is given
    on it before `until` (epoch seconds)."""
    with contextlib.suppress(RedisError):
        redis.set(f"{PREFIX}{key}:blocked", math.ceil(until), ex=seconds + KEEP_SECONDS)


@dataclass(frozen=True)
class DailyGrant:
    granted: int  # of the places asked for
    used: int  # today's, these included
    limit: int  # today's: the provider's as it reported it, else the configured one


def _daily_keys(key: str, day: date) -> tuple[str, str]:
    base = f"{PREFIX}{key}:{day.isoformat()}"
    return base, f"{base}:limit"


def take_daily(redis: Redis, key: str, day: date, wanted: int, limit: int) -> DailyGrant:
    """Take up to `wanted` of the day's places. Raises RedisError."""
    granted, used, day_limit = redis.eval(_TAKE_DAILY, 2, *_daily_keys(key, day), wanted, limit, 2 * KEEP_SECONDS)
    return DailyGrant(int(granted), int(used), int(day_limit))


def give_back_daily(redis: Redis, key: str, day: date, count: int) -> None:
    if count > 0:
        with contextlib.suppress(RedisError):
            redis.eval(_GIVE_BACK_DAILY, 1, _daily_keys(key, day)[0], count)


def set_daily(redis: Redis, key: str, day: date, used: int, limit: int) -> None:
    """The provider's own figures for the day (WeChat's quota/get): its limit replaces ours, and
    our count is at least its use (ours also holds the calls in flight, which it has not seen)."""
    with contextlib.suppress(RedisError):
        redis.eval(_SET_DAILY, 2, *_daily_keys(key, day), used, limit, 2 * KEEP_SECONDS)
