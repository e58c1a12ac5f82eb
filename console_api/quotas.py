"""Attempt quotas at the edges (both APIs): count an attempt against each of its quotas in Redis
(connections.rate_limits), refuse with 429 and the quota's own Chinese message once one is used
up, and give the attempt back when it came to nothing (an SMS that certainly did not go out)."""

from __future__ import annotations

from dataclasses import dataclass

from connections import rate_limits
from connections import redis as redis_connection
from console_api.http import Refused

TOO_MANY = "操作过于频繁，请稍后再试"


@dataclass(frozen=True)
class Quota:
    """At most `count` attempts in `window_seconds` under `key`; `message` once they are used up."""

    key: str
    count: int
    window_seconds: int
    message: str = TOO_MANY


def spend(*quotas: Quota) -> tuple[Quota, ...]:
    """Count one attempt against each quota, in order, and return them (to `give_back` if the attempt
    comes to nothing). 429 with the message of the first one used up: that attempt does not happen,
    so the quotas counted before it are given back. Redis down counts as used up (see allow)."""
    redis = redis_connection.redis()
    for index, quota in enumerate(quotas):
        if not rate_limits.allow(redis, quota.key, quota.count, quota.window_seconds):
            give_back(quotas[:index])
            raise Refused(429, "too_many_requests", quota.message)
    return quotas


def give_back(quotas: tuple[Quota, ...]) -> None:
    """Uncount the attempt `spend` counted against each quota: it came to nothing."""
    redis = redis_connection.redis()
    for quota in quotas:
        rate_limits.give_back(redis, quota.key)
