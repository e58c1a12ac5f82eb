"""Checking a password at the PC edge, counted against guessing (connections.sign_in_guard): the
sign-in itself, and the re-check that confirms who is at the keyboard before a sensitive step."""

from __future__ import annotations

import math

from flask import current_app

from connections import redis as redis_connection
from connections import sign_in_guard
from console_api.http import Refused, client_ip
from models import User
from operations.accounts import authenticate

BUSY = "服务繁忙，请稍后再试"


def authenticate_guarded(username: str, password: str, *, recheck: bool = False) -> User:
    """The active account these credentials name; AuthenticationFailed (counted as a failure), or
    Refused: 429 while the username or the address is locked, 503 when the guard cannot answer.
    `recheck`: the password asked again inside a session, where a known address earns no trust."""
    address, redis = client_ip(), redis_connection.redis()
    try:
        lock = sign_in_guard.attempt(redis, username, address, trust_known_address=not recheck)
        if lock is not None:
            minutes = math.ceil(lock.retry_after / 60)
            raise Refused(
                429,
                "too_many_requests",
                f"尝试次数过多，请 {minutes} 分钟后再试",
                {"Retry-After": str(lock.retry_after)},
            )
        # AuthenticationFailed: the attempt stays counted. A hash made the old way is upgraded in
        # the request's transaction (the sign-in commits it; a re-check, with its step).
        user = authenticate(username, password, hash_method=current_app.config.get("PASSWORD_HASH_METHOD"))
        sign_in_guard.succeeded(redis, username, address)
    except sign_in_guard.GuardUnavailable:
        current_app.logger.warning("password check refused: the guessing guard cannot reach Redis")
        raise Refused(503, "unavailable", BUSY) from None
    return user
