"""Sign-in for PC users: a signed bearer token."""

import math

from flask import current_app, jsonify

from connections import redis as redis_connection
from connections import sign_in_guard
from console_api import api
from console_api.http import client_ip, commit, current_user, error_response, signed_in
from console_api.serializers import user_json
from console_api.validation import Field, parse_body
from operations.accounts import AuthenticationFailed, authenticate, issue_token, sign_out_everywhere

LOGIN_SCHEMA = {
    "username": Field("str", required=True, max_length=50),
    "password": Field("str", required=True, max_length=128),
}


@api.post("/session")
def sign_in():
    """Password sign-in, guarded against guessing (connections.sign_in_guard)."""
    body = parse_body(LOGIN_SCHEMA)
    username, address, redis = body["username"], client_ip(), redis_connection.redis()
    try:
        lock = sign_in_guard.lock_of(redis, username, address)
        if lock is not None:
            return _locked(lock)
        try:
            user = authenticate(username, body["password"])
        except AuthenticationFailed:
            sign_in_guard.record_failure(redis, username, address)
            return error_response(401, "unauthorized", "用户名或密码错误")
        sign_in_guard.record_success(redis, username, address)
    except sign_in_guard.GuardUnavailable:
        current_app.logger.warning("sign-in refused: the guessing guard cannot reach Redis")
        return error_response(503, "unavailable", "服务繁忙，请稍后再试")
    token = issue_token(user, current_app.config["SECRET_KEY"])
    return jsonify({"token": token, "user": user_json(user)})


def _locked(lock: sign_in_guard.Lock):
    minutes = math.ceil(lock.retry_after / 60)
    response, status = error_response(429, "too_many_requests", f"尝试次数过多，请 {minutes} 分钟后再试")
    response.headers["Retry-After"] = str(lock.retry_after)
    return response, status


@api.delete("/session")
@signed_in
def sign_out():
    sign_out_everywhere(current_user().id)
    commit()
    return "", 204


@api.get("/me")
@signed_in
def me():
    return jsonify(user_json(current_user()))
