"""What every JSON view shares: the error envelope, the signed-in actor, the transaction."""

from __future__ import annotations

import contextlib
import hmac
import re
import secrets
from collections.abc import Callable
from functools import wraps
from urllib.parse import quote

from flask import Flask, Response, current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException

from models import Edge, User, db
from operations.accounts import MOBILE_TAKEN, USERNAME_TAKEN, user_for_token
from operations.actors import Actor
from operations.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, RowErrors
from operations.uploads import Upload

STATUS_BY_ERROR = {
    InvalidInput: (422, "invalid_input"),
    RowErrors: (422, "invalid_rows"),
    NotFound: (404, "not_found"),
    PermissionDenied: (403, "forbidden"),
    Conflict: (409, "conflict"),
}

HTTP_MESSAGES = {
    400: "请求格式错误",
    401: "请先登录",
    403: "无权执行此操作",
    404: "资源不存在",
    405: "不支持的请求方法",
    413: "上传内容过大",
    415: "不支持的内容类型",
}


def error_response(status: int, code: str, message: str, **extra):
    return jsonify({"error": {"code": code, "message": message, **extra}}), status


def handle_domain_error(error: DomainError):
    db.session.rollback()
    status, code = STATUS_BY_ERROR.get(type(error), (400, "bad_request"))
    extra = {}
    if isinstance(error, InvalidInput) or (isinstance(error, Conflict) and error.fields):
        extra["fields"] = error.fields
    if isinstance(error, RowErrors):
        extra["rows"] = error.rows
    return error_response(status, code, error.message, **extra)


class Refused(Exception):
    """The edge's own refusal (too many attempts, a guard that cannot answer): its status, code,
    Chinese message and any headers (Retry-After)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def handle_refusal(error: Refused):
    db.session.rollback()
    response, status = error_response(error.status, error.code, error.message)
    response.headers.update(error.headers)
    return response, status


def http_error_response(error: HTTPException, code: str, message: str):
    """The envelope for an HTTP error, keeping the headers it carries (Allow on a 405)."""
    response, status = error_response(error.code or 500, code, message)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def handle_http_error(error: HTTPException):
    db.session.rollback()
    if not request.path.startswith(("/api/", "/mp/")):  # the JSON APIs answer JSON, even a 404
        return error
    message = HTTP_MESSAGES.get(error.code, error.name)
    return http_error_response(error, error.name.lower().replace(" ", "_"), message)


def handle_unexpected_error(error: Exception):
    db.session.rollback()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "服务器内部错误，请稍后重试")


BUSY = "服务繁忙，请稍后重试"


def handle_database_unavailable(error: Exception):
    """No database connection to be had (the pool waited in vain, the server refused one: too many
    clients, restarting): the request changed nothing and may be retried, so 503 with Retry-After,
    not a 500 that reads as a bug. A live stream's browser then reconnects, the console's polling
    keeps going."""
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    current_app.logger.warning("database unavailable on %s %s: %s", request.method, request.path, error)
    response, status = error_response(503, "unavailable", BUSY)
    response.headers["Retry-After"] = "5"
    return response, status


# The unique indexes behind "one username on the platform" and "one active account per mobile", as
# each database names them in its error: the operations check first (operations.accounts), and these
# catch two requests that both passed the check at once.
_ACCOUNT_UNIQUES = (
    (("uq_users_active_phone", "users.phone"), MOBILE_TAKEN),
    (("uq_users_username", "users.username"), USERNAME_TAKEN),
)


def handle_integrity_error(error: IntegrityError):
    """A unique index the account rules rely on refused a write: the same 409 the operation's own
    check gives (and the transaction rolled back whole); any other one is unexpected."""
    db.session.rollback()
    text = str(error.orig)
    for names, message in _ACCOUNT_UNIQUES:
        if any(name in text for name in names):
            return error_response(409, "conflict", message)
    return handle_unexpected_error(error)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(PoolTimeout, handle_database_unavailable)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(Refused, handle_refusal)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)


def current_actor() -> Actor:
    return g.actor


# The browser's sign-in (the PC console): an HttpOnly cookie carrying the same signed token as the
# bearer one, so a link opened in a tab (a label sheet, an export, an attachment) is signed in too.
# A cookie rides along on requests other sites make, so every unsafe request it authenticates must
# also echo the readable csrf_token cookie in X-CSRF-Token (double submit): another site can make
# the browser send the cookies but can neither read nor set them.
SESSION_COOKIE = "weixiu_session"
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FAILED = "页面已过期，请刷新"


def set_session_cookies(response: Response, token: str) -> Response:
    """Sign the browser in: the session cookie (HttpOnly) and a fresh CSRF cookie (readable by the
    page's script, which echoes it), both for the configured lifetime; Secure in production."""
    settings = {
        "max_age": current_app.config["SESSION_COOKIE_MAX_AGE_SECONDS"],
        "path": "/",
        "secure": current_app.config["SESSION_COOKIE_SECURE"],
        "samesite": "Lax",
    }
    response.set_cookie(SESSION_COOKIE, token, httponly=True, **settings)
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(32), httponly=False, **settings)
    return response


def clear_session_cookies(response: Response) -> Response:
    secure = current_app.config["SESSION_COOKIE_SECURE"]
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="Lax")
    return response


def csrf_intact() -> bool:
    """An unsafe request echoes the csrf_token cookie in X-CSRF-Token (compared in constant time)."""
    if request.method in SAFE_METHODS:
        return True
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), header.encode())


def signed_in(view: Callable) -> Callable:
    """Resolve `Authorization: Bearer <token>` (other clients) or else the session cookie (the
    browser, with the CSRF check on unsafe methods) to an Actor in `g.actor`, or answer 401/403.
    Both carry the same token, so token_version, deactivation and the institution's state end a
    cookie session exactly as they end a bearer one."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return error_response(401, "unauthorized", "请先登录")
            max_age = current_app.config["TOKEN_MAX_AGE_SECONDS"]
        else:
            token = request.cookies.get(SESSION_COOKIE, "")
            if not token:
                return error_response(401, "unauthorized", "请先登录")
            max_age = current_app.config["SESSION_COOKIE_MAX_AGE_SECONDS"]
        try:
            user = user_for_token(token.strip(), current_app.config["SECRET_KEY"], max_age)
        except NotFound as expired:
            return error_response(401, "unauthorized", expired.message)
        if not header and not csrf_intact():  # before the view: nothing is read or changed
            return error_response(403, "csrf_failed", CSRF_FAILED)
        g.user = user
        g.actor = Actor.of(user, Edge.PC)
        return view(*args, **kwargs)

    return wrapper


def client_ip() -> str:
    """The caller's address (behind a proxy, as PROXY_HOPS lets ProxyFix report it)."""
    return request.remote_addr or "unknown"


def current_user() -> User:
    return g.user


def commit():
    """The edge owns the transaction: one commit after the operation succeeded."""
    db.session.commit()


# Types a browser may show in a tab (?inline=1); anything else only downloads. An SVG or an HTML
# file shown inline could run script under our origin.
INLINE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})


def bounded_upload(file: FileStorage, limit: int) -> Upload:
    """A multipart file part read to at most one byte past `limit`: enough for the operation to
    refuse it as too large, without ever holding more than that."""
    return Upload(file.filename or "", file.mimetype, file.stream.read(limit + 1))


def ascii_fallback(filename: str, file_id: int) -> str:
    """The plain filename= for clients that ignore filename*; the real name travels there."""
    stem, dot, extension = filename.rpartition(".")
    safe_extension = re.sub(r"[^A-Za-z0-9]", "", extension) if dot else ""
    safe_stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem if dot else filename).strip("._") or f"attachment-{file_id}"
    return f"{safe_stem}.{safe_extension}" if safe_extension else safe_stem


def file_response(
    body: bytes | str,
    mimetype: str,
    *,
    filename: str,
    ascii_filename: str | None = None,
    cache_control: str = "private, no-store",
) -> Response:
    """A download: `attachment` unless the request asks `?inline=1` for a PDF, JPEG or PNG. A
    non-ASCII name travels in RFC 5987's filename*; `ascii_filename` is for the rare client that
    ignores it (werkzeug's own fallback would drop every Chinese letter). The file is sandboxed
    either way: nothing in it runs with our origin's rights."""
    inline = request.args.get("inline") == "1" and mimetype in INLINE_TYPES
    disposition = "inline" if inline else "attachment"
    fallback = ascii_filename or filename
    header = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = header
    response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response
