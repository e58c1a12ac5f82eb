"""What every mini-program view shares: the route table (console_api.route_table, which also feeds
openapi.json), the session decorator, rate limits, the error envelope and the WeChat client of the
mini-program.

Errors come as the PC API's `{"error": {"code", "message", "fields"?}}` with a Chinese message:
the domain errors through the app's handlers (console_api.http), HTTP errors raised inside a
mini-program view through this blueprint's handler. A session token is ours (itsdangerous,
naming the WeChatIdentity); WeChat's session_key is never kept or returned.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException

from channels.miniprogram import miniprogram_client as configured_miniprogram_client
from channels.providers import SharedTokenWeChatClient
from console_api.http import HTTP_MESSAGES, error_response, http_error_response
from console_api.quotas import TOO_MANY, Quota, spend
from console_api.route_table import RouteTable
from miniprogram_api import mp_api
from models import User, WeChatIdentity, db
from operations.errors import NotFound
from operations.wechat_accounts import actor_of, identity_for_token

NOT_SIGNED_IN = "请先登录小程序"


# --- the route table ---------------------------------------------------------------------------

AUTH_NOTES = {
    "none": "无需登录",
    "session": "需要小程序会话（未绑定也可）",
    "bound": "需要已绑定平台账号的小程序会话",
}


def route(method: str, path: str, summary: str, *, auth: str = "bound", **documented) -> Callable:
    """Register a mini-program view behind the session check `auth` asks for ("none", "session":
    signed in, bound or not; "bound": bound to a platform account), and note it in the route
    table that openapi.json is generated from (console_api.route_table.RouteTable.route)."""
    return TABLE.route(method, path, summary, auth=auth, **documented)


# --- errors ------------------------------------------------------------------------------------


class MiniProgramError(HTTPException):
    """An HTTP error whose description is the Chinese message to show."""


class WeChatUnavailable(MiniProgramError):
    code = 502
    description = "微信服务暂时不可用，请稍后重试"


class Unauthorized(MiniProgramError):
    code = 401
    description = NOT_SIGNED_IN


@mp_api.errorhandler(HTTPException)
def mini_program_http_error(error: HTTPException):
    """HTTP errors inside a mini-program view as JSON (the app's handler only does /api/)."""
    db.session.rollback()
    if isinstance(error, MiniProgramError):
        message = error.description
    else:
        message = HTTP_MESSAGES.get(error.code or 500, error.name)
    code = {429: "too_many_requests", 401: "unauthorized", 502: "bad_gateway", 503: "unavailable"}.get(
        error.code, error.name.lower().replace(" ", "_")
    )
    return http_error_response(error, code, message)


def limit(key: str, count: int, window_seconds: int, message: str = TOO_MANY) -> None:
    """Count one attempt under `key`; 429 with `message` once more than `count` fall in the window."""
    spend(Quota(f"mp:{key}", count, window_seconds, message))


# --- the session -------------------------------------------------------------------------------


def mp_session(*, bound: bool) -> Callable:
    """Resolve `Authorization: Bearer <token>` to the WeChat identity in `g.identity` (401 when
    missing, forged, expired or revoked); with `bound`, also the platform account in `g.user` /
    `g.actor` (403 请先绑定平台账号 when the identity is not bound)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return error_response(401, "unauthorized", NOT_SIGNED_IN)
            try:
                identity = identity_for_token(
                    token.strip()[:1000],
                    current_app.config["SECRET_KEY"],
                    current_app.config["MINIPROGRAM_SESSION_MAX_AGE_SECONDS"],
                )
            except NotFound as expired:
                return error_response(401, "unauthorized", expired.message)
            g.identity = identity
            if bound:
                g.actor = actor_of(identity)  # PermissionDenied -> 403 请先绑定平台账号
                g.user = db.session.get(User, identity.user_id)
            return view(*args, **kwargs)

        return wrapper

    return decorate


TABLE = RouteTable(
    mp_api,
    {
        "none": (None, frozenset()),
        "session": (mp_session(bound=False), frozenset({401})),
        "bound": (mp_session(bound=True), frozenset({401, 403})),
    },
)


def current_identity() -> WeChatIdentity:
    return g.identity


# --- the mini-program's WeChat client ----------------------------------------------------------


def miniprogram_client() -> SharedTokenWeChatClient:
    """The mini-program app's client; 503 when the mini-program is not configured."""
    client = configured_miniprogram_client()
    if client is None:
        raise MiniProgramNotConfigured()
    return client


class MiniProgramNotConfigured(MiniProgramError):
    code = 503
    description = "小程序未配置（WECHAT_MINIPROGRAM_APP_ID / SECRET）"
