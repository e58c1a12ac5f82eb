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


def verification_number_quotas(sign_name: str, phone: str) -> tuple[Quota, ...]:
    """Aliyun's limits on codes sent to one number under one signature (1 a minute, 5 an hour, 10 a
    day), counted here across every code weixiu sends, so a person hears why before Aliyun refuses."""
    key = f"sms:codes:{sign_name}:{phone}"
    return (
        Quota(f"{key}:minute", 1, 60, "验证码已发送，请 1 分钟后再试"),
        Quota(f"{key}:hour", 5, 3600, "该手机号获取验证码过于频繁，请 1 小时后再试"),
        Quota(f"{key}:day", 10, 86400, "该手机号今日获取验证码次数已达上限，请明天再试"),
    )


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
