"""短信验证码 for both APIs: a six-digit code sent to a phone while the person waits, kept only as a
keyed hash in Redis for five minutes, five tries, used once.

A code serves one purpose for one subject (binding a mini-program by a phone number; confirming
it is the account's owner at a PC), so a code sent for one cannot be spent on the other. A send
ends one of three ways (channels.sms_verification): Aliyun accepted it; it certainly did not go
out, when the last code is put back (an SMS that did arrive still works) and the caller gives the
person's quotas back; or nobody can tell (the answer was lost): the code stays valid, since the SMS
may still arrive and Aliyun counts it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from typing import Any

from flask import current_app
from redis.exceptions import RedisError

from channels.sms_verification import VerificationSmsError, VerificationSmsUnconfirmed, send_verification_code
from connections import redis as redis_connection
from console_api.http import Refused
from operations.errors import InvalidInput

CODE_TTL_SECONDS = 300
RESEND_SECONDS = 60  # a number gets one code a minute
MAX_TRIES = 5
KEY_PREFIX = "weixiu:sms-code:"

SENT = "验证码已发送"
UNCONFIRMED = "短信发送结果未知：验证码可能稍后送达，5 分钟内有效；如 1 分钟后仍未收到，请重新获取"
BUSY = "服务繁忙，请稍后再试"
EXPIRED = "验证码错误或已过期，请重新获取"
WRONG = "验证码错误"
TOO_MANY_TRIES = "验证码错误次数过多，请重新获取"


def _key(purpose: str, subject: str) -> str:
    return f"{KEY_PREFIX}{purpose}:{subject}"


def _hash(purpose: str, subject: str, code: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{purpose}:{subject}:{code}".encode(), hashlib.sha256).hexdigest()


def send(purpose: str, subject: str, phone: str) -> bool:
    """Put a new code in place of the subject's last one and send it to `phone`: True when Aliyun
    accepted it, False when its answer was lost; Refused (502/503) when it certainly did not go out."""
    code = f"{secrets.randbelow(10**6):06d}"
    redis = redis_connection.redis()
    key = _key(purpose, subject)
    try:
        with redis.pipeline() as pipe:  # MULTI: the code never exists without its expiry
            pipe.dump(key)
            pipe.pttl(key)
            pipe.delete(key)
            pipe.hset(key, mapping={"hash": _hash(purpose, subject, code), "tries": 0})
            pipe.expire(key, CODE_TTL_SECONDS)
            last_code, last_ttl, *_ = pipe.execute()
    except RedisError:
        raise Refused(503, "unavailable", BUSY) from None
    try:
        send_verification_code(current_app.config, phone, code)
    except VerificationSmsUnconfirmed:
        return False
    except VerificationSmsError as error:
        with contextlib.suppress(RedisError), redis.pipeline() as pipe:
            pipe.delete(key)
            if last_code is not None and last_ttl > 0:
                pipe.restore(key, last_ttl, last_code)
            pipe.execute()
        status, code_name = (502, "bad_gateway") if error.configured else (503, "unavailable")
        raise Refused(status, code_name, error.message) from None
    return True


def check(purpose: str, subject: str, code: str, *, field: str = "code") -> None:
    """Spend the subject's code if `code` is it; InvalidInput under `field` when it is wrong,
    expired or used, Refused 429 after MAX_TRIES wrong tries (the code is gone then)."""
    redis = redis_connection.redis()
    key = _key(purpose, subject)
    try:
        with redis.pipeline() as pipe:
            pipe.hget(key, "hash")
            pipe.hincrby(key, "tries", 1)
            stored, tries = pipe.execute()
        if not stored:  # expired or never sent: drop the counter the increment just made
            redis.delete(key)
    except RedisError:
        raise Refused(503, "unavailable", BUSY) from None
    if not stored:
        raise InvalidInput({field: EXPIRED})
    if tries > MAX_TRIES:
        redis.delete(key)
        raise Refused(429, "too_many_requests", TOO_MANY_TRIES)
    stored = stored.decode() if isinstance(stored, bytes) else stored
    if not hmac.compare_digest(stored, _hash(purpose, subject, code.strip())):
        raise InvalidInput({field: WRONG})
    if not redis.delete(key):  # someone else used it at the same moment
        raise InvalidInput({field: EXPIRED})


def masked_phone(phone: str) -> str:
    """138****0001: the number as an answer may show it."""
    return f"{phone[:3]}****{phone[-4:]}"


def sent_payload(phone: str, *, confirmed: bool) -> dict[str, Any]:
    """The answer to a send: whether Aliyun confirmed it, what to tell the person, and the timers."""
    return {
        "sent": confirmed,
        "message": SENT if confirmed else UNCONFIRMED,
        "expires_in": CODE_TTL_SECONDS,
        "resend_in": RESEND_SECONDS,
        "phone": masked_phone(phone),
    }
