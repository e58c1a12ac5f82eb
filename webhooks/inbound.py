"""A push from WeChat (服务器配置 / 消息推送) as both webhooks take it: the official account's
(`/wechat/official`, bot/) and the mini-program's (`/wechat/miniprogram`, miniprogram_api/).

Order of checks, each answered before the next runs:
1. a token is configured (else 404); the request signature (sha1 of token, timestamp, nonce;
   constant time) and a timestamp within 5 minutes of now (a replay carries an old one): 403.
   A GET is WeChat's URL check, answered with its echostr;
2. the body: at most 64 KB (413), UTF-8 XML without DOCTYPE / ENTITY declarations, or a JSON
   object where the app pushes JSON (400). An app with an EncodingAESKey takes safe mode only
   (403): only a body under msg_signature is WeChat's;
3. safe mode: msg_signature over the whole Encrypt field (403), then decryption (400) and the
   inner message checked like a body;
4. the message's text fields clipped (security.clipped); FromUserName and ToUserName (400);
5. duplicates (WeChat retries a push it got no answer to within 5 s, three times): MsgId for
   messages; for events, which have no id, the whole message — a retry repeats it exactly, while
   two answers to two popups in the same second differ. SET NX with a TTL in Redis; a duplicate
   is answered `success` and nothing runs again. A push the caller names as only reading (the
   official account's lists) is the exception: it changes nothing, so a retry is answered the
   list again (WeChat shows the answer to the last try: `success` would show nothing), and only
   a replayed URL must not read. In plain mode its URL is checked: the check is sent before the
   reads and its answer read after them (Push.first_time), so the two round trips overlap, and a
   replay's reads are discarded. In safe mode it takes no check at all: msg_signature covers the
   body, so a replayed URL carries the same message, whose list is encrypted for WeChat alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, request
from redis import ConnectionPool
from redis.exceptions import RedisError
from werkzeug.exceptions import RequestEntityTooLarge

from connections import redis as redis_connection
from operations.clock import now_utc
from webhooks.crypto import WebhookCrypto, webhook_crypto
from webhooks.security import (
    MAX_BODY_BYTES,
    BadRequest,
    check_message_signature,
    check_request_signature,
    clipped,
    parse_body,
    timestamp_is_fresh,
)

log = logging.getLogger(__name__)

SUCCESS = "success"
DEDUPE_PREFIX = "weixiu:wechat:seen:"
DEDUPE_SECONDS = 600  # WeChat's three retries come within a minute
MAX_OPENID_CHARS = 64


@dataclass(frozen=True)
class Webhook:
    """One app's push settings: the token that signs WeChat's calls and, in safe mode, the
    43-character EncodingAESKey."""

    name: str  # "official" or "miniprogram": in logs and in the duplicate keys
    token: str | None
    aes_key: str | None
    app_id: str | None
    json_allowed: bool = False  # the mini-program may push JSON; the official account pushes XML

    @classmethod
    def of(cls, config: Mapping[str, Any], name: str, *, json_allowed: bool = False) -> Webhook:
        """The app's settings WECHAT_<NAME>_TOKEN, _ENCODING_AES_KEY and _APP_ID."""
        prefix = f"WECHAT_{name.upper()}_"
        return cls(
            name,
            config.get(f"{prefix}TOKEN"),
            config.get(f"{prefix}ENCODING_AES_KEY"),
            config.get(f"{prefix}APP_ID"),
            json_allowed,
        )

    def crypto(self) -> WebhookCrypto:
        return webhook_crypto(self.token, self.aes_key, self.app_id)


@dataclass(frozen=True)
class Push:
    """A new message or event, checked, and what a passive reply needs to be encrypted. One that
    only reads may still be a duplicate: answer it only if `first_time()`."""

    message: dict[str, Any]
    openid: str
    account: str
    safe: bool
    timestamp: str
    nonce: str
    pending: _PendingCheck | None = None  # the duplicate check, sent and not read yet

    def first_time(self) -> bool:
        return self.pending is None or self.pending.first_time()


def plain(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def receive(webhook: Webhook, only_reads: Callable[[dict[str, Any]], bool] | None = None) -> Push | Response:
    """The current request as a new push to act on, or the answer that ends it here (a refusal,
    the URL check, a duplicate). A message `only_reads` names comes back before its duplicate
    check is answered: the caller reads, then answers only if `push.first_time()`."""
    if not webhook.token:
        return plain(f"{webhook.name} webhook is not configured", 404)
    args = request.args
    timestamp, nonce, signature = args.get("timestamp"), args.get("nonce"), args.get("signature")
    if not check_request_signature(webhook.token, signature, timestamp, nonce) or not timestamp_is_fresh(
        timestamp, now_utc().timestamp()
    ):
        return plain("invalid signature", 403)
    if request.method == "GET":
        return plain(args.get("echostr", ""))

    request.max_content_length = MAX_BODY_BYTES
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return plain("body too large", 413)
    encrypt_type = (args.get("encrypt_type") or "raw").lower()
    if encrypt_type not in ("raw", "aes"):
        return plain("unknown encrypt_type", 400)
    safe = encrypt_type == "aes"
    if not safe and webhook.aes_key:
        return plain("safe mode required", 403)
    try:
        message = parse_body(body, json_allowed=webhook.json_allowed)
        if safe:
            encrypted = message.get("Encrypt")
            if not isinstance(encrypted, str) or not encrypted:
                raise BadRequest("safe mode without Encrypt")
            msg_signature = args.get("msg_signature")
            if not check_message_signature(webhook.token, msg_signature, timestamp, nonce, encrypted):
                return plain("invalid msg_signature", 403)
            if not webhook.aes_key:
                raise BadRequest("safe mode is not configured")
            try:
                inner = webhook.crypto().decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
            except Exception as error:  # bad padding, base64, app id …: all mean a bad body
                raise BadRequest(f"cannot decrypt: {type(error).__name__}") from None
            message = parse_body(inner, json_allowed=webhook.json_allowed)
    except BadRequest as error:
        log.info("%s webhook: bad request: %s", webhook.name, error.reason)
        return plain(error.reason, error.status)
    message = clipped(message)
    openid, account = message.get("FromUserName"), message.get("ToUserName")
    if not isinstance(openid, str) or not openid or len(openid) > MAX_OPENID_CHARS or not isinstance(account, str):
        return plain("FromUserName and ToUserName are required", 400)
    if only_reads is not None and only_reads(message):
        pending = None if safe else _PendingCheck.sent(webhook, _url_key(webhook, signature, nonce))
        return Push(message, openid, account, safe, timestamp, nonce, pending)
    if not _first_time(webhook, message, signature, nonce):
        return plain(SUCCESS)
    return Push(message, openid, account, safe, timestamp, nonce)


def _message_key(message: dict[str, Any]) -> str:
    msg_id = message.get("MsgId")
    if isinstance(msg_id, str) and msg_id:
        return f"msg:{msg_id}"
    payload = json.dumps(message, sort_keys=True)  # ASCII: a nested lone surrogate cannot break the encoding
    return f"event:{hashlib.sha256(payload.encode()).hexdigest()}"


def _url_key(webhook: Webhook, signature: str, nonce: str) -> str:
    return f"{DEDUPE_PREFIX}{webhook.name}:url:{signature}:{nonce}"


def _dedupe_keys(webhook: Webhook, message: dict[str, Any], signature: str, nonce: str) -> tuple[str, str]:
    return _url_key(webhook, signature, nonce), f"{DEDUPE_PREFIX}{webhook.name}:{_message_key(message)}"


def _first_time(webhook: Webhook, message: dict[str, Any], signature: str, nonce: str) -> bool:
    """False for a push already taken: a retry (the same MsgId; the same event), or a replay of a
    signed URL (the plain-mode signature does not cover the body, so a URL seen once must not
    carry a second body). Without Redis every push counts as new (the steps are conditional
    updates: a repeat is refused by the state, not done twice)."""
    url_key, message_key = _dedupe_keys(webhook, message, signature, nonce)
    try:
        redis = redis_connection.redis()
        with redis.pipeline() as pipe:
            pipe.set(url_key, 1, nx=True, ex=DEDUPE_SECONDS)
            pipe.set(message_key, 1, nx=True, ex=DEDUPE_SECONDS)
            fresh_url, fresh_message = pipe.execute()
        return bool(fresh_url) and bool(fresh_message)
    except (RedisError, RuntimeError) as error:
        _dedupe_unavailable(webhook, error)
        return True


def _dedupe_unavailable(webhook: Webhook, error: Exception) -> None:
    log.warning("%s webhook: dedupe unavailable, handling the push anyway: %s", webhook.name, error)


def _bulk(text: str) -> bytes:
    data = text.encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


_SET_NX = b"*6\r\n$3\r\nSET\r\n%s$1\r\n1\r\n$2\r\nNX\r\n$2\r\nEX\r\n" + _bulk(str(DEDUPE_SECONDS))


def _set_if_new(key: str) -> bytes:
    """SET key 1 NX EX DEDUPE_SECONDS in Redis's protocol: the bytes redis-py's pack_commands
    makes of it, without its general packing (a fifth of the check's Python)."""
    return _SET_NX % _bulk(key)


class _PendingCheck:
    """A list's URL check (SET NX of the URL's key) written to a connection of the request's Redis
    pool, its reply read later: Redis answers while the database does. The connection goes back to
    the pool once it is read (or is closed, on any error)."""

    def __init__(self, webhook: Webhook) -> None:
        self.webhook = webhook
        self.pool: ConnectionPool | None = None
        self.connection: Any = None
        self.fresh: bool | None = None  # once read

    @classmethod
    def sent(cls, webhook: Webhook, key: str) -> _PendingCheck:
        check = cls(webhook)
        try:
            check.pool = redis_connection.redis().connection_pool
            check.connection = check.pool.get_connection()
            check.connection.send_packed_command([_set_if_new(key)])
        except (RedisError, RuntimeError, OSError) as error:
            check.failed(error)
        return check

    def first_time(self) -> bool:
        if self.fresh is None:
            try:
                self.fresh = self.connection.read_response() is not None  # OK, or nil when the key was there
                self.pool.release(self.connection)
            except (RedisError, OSError, ValueError, TypeError) as error:
                self.failed(error)
            except BaseException:  # the request is being killed: the reply is never read
                self.failed(None)
                raise
        return self.fresh

    def failed(self, error: Exception | None) -> None:
        """As _first_time without Redis: the push counts as new; the connection is not reused."""
        if self.connection is not None:
            self.connection.disconnect()
            self.pool.release(self.connection)
        if error is not None:
            _dedupe_unavailable(self.webhook, error)
        self.fresh = True
