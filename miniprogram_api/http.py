"""What every mini-program view shares: the route table (which also feeds openapi.json), the
session decorator, rate limits, the error envelope and the WeChat client of the mini-program.

Errors come as the PC API's `{"error": {"code", "message", "fields"?}}` with a Chinese message:
the domain errors through the app's handlers (console_api.http), HTTP errors raised inside a
mini-program view through this blueprint's handler. A session token is ours (itsdangerous,
naming the WeChatIdentity); WeChat's session_key is never kept or returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException

from channels.miniprogram import miniprogram_client as configured_miniprogram_client
from channels.providers import SharedTokenWeChatClient
from console_api.http import HTTP_MESSAGES, error_response
from console_api.quotas import Quota, spend
from console_api.validation import Field
from miniprogram_api import mp_api
from models import User, WeChatIdentity, db
from operations.errors import NotFound
from operations.wechat_accounts import actor_of, identity_for_token

NOT_BOUND = "请先绑定平台账号"
NOT_SIGNED_IN = "请先登录小程序"
TOO_MANY = "操作过于频繁，请稍后再试"


# --- the route table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One endpoint as openapi.json describes it."""

    path: str  # the Flask rule under /mp/v1, e.g. /work-orders/<int:work_order_id>
    method: str
    summary: str
    auth: str  # "none", "session" (bound or not), "bound"
    endpoint: str
    body: dict[str, Field] | None = None  # a JSON body's schema
    multipart: bool = False  # the body may also be multipart (报修 with photos)
    query: dict[str, str] = field(default_factory=dict)  # query parameter -> description
    response: str | None = None  # a named schema in openapi.SCHEMAS
    status: int = 200


ROUTES: list[Route] = []


def route(
    method: str,
    path: str,
    summary: str,
    *,
    auth: str = "bound",
    body: dict[str, Field] | None = None,
    multipart: bool = False,
    query: dict[str, str] | None = None,
    response: str | None = None,
    status: int = 200,
) -> Callable:
    """Register the view on the blueprint, behind the session check `auth` asks for, and note
    it in the route table."""

    def register(view: Callable) -> Callable:
        guarded = view if auth == "none" else mp_session(bound=auth == "bound")(view)
        mp_api.add_url_rule(path, endpoint=view.__name__, view_func=guarded, methods=[method])
        ROUTES.append(
            Route(
                path=path,
                method=method.upper(),
                summary=summary,
                auth=auth,
                endpoint=f"{mp_api.name}.{view.__name__}",
                body=body,
                multipart=multipart,
                query=dict(query or {}),
                response=response,
                status=status,
            )
        )
        return guarded

    return register


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
    return error_response(error.code or 500, code, message)


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
