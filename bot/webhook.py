"""The official account's webhook (`/wechat/official`): GET answers WeChat's URL check, POST
takes messages and events, in plain or safe (AES) mode.

Order of checks, each answered before the next runs:
1. the request signature (sha1 of token, timestamp, nonce; constant time) and a timestamp within
   5 minutes of now (a replay carries an old one): 403;
2. the body: at most 64 KB (413), UTF-8 XML without DOCTYPE / ENTITY declarations (400);
3. safe mode: msg_signature over the Encrypt field (403), then decryption (400) and the inner
   XML checked like the body;
4. duplicates (WeChat retries a callback it got no answer to within 5 s, three times): MsgId for
   messages, FromUserName + CreateTime (+ Event) for events, SET NX with a TTL in Redis; a
   duplicate is answered `success` and nothing runs again.

Then one command or event runs against the database (quick work only: every reply is a few
indexed queries and at most one step), and the edge commits; messages a step writes to the
outbox are enqueued after the commit. A domain error rolls back and is answered with its Chinese
message; any other error rolls back, is logged and answered `success`, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, request
from redis.exceptions import RedisError
from wechatpy.crypto import WeChatCrypto
from werkzeug.exceptions import RequestEntityTooLarge

from bot import commands, events, replies
from bot.security import (
    MAX_BODY_BYTES,
    BadRequest,
    check_message_signature,
    check_request_signature,
    parse_xml,
    timestamp_is_fresh,
)
from connections import redis as redis_connection
from models import db
from operations.clock import now_utc
from operations.errors import DomainError

log = logging.getLogger(__name__)

official = Blueprint("wechat_official", __name__)

SUCCESS = "success"
DEDUPE_PREFIX = "weixiu:wechat:seen:"
DEDUPE_SECONDS = 600  # WeChat's three retries come within a minute


def _plain(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _first_time(message: dict[str, Any], signature: str, nonce: str) -> bool:
    """False for a callback already taken: a retry (same MsgId; same sender, time, event and key),
    or a replay of a signed URL (the plain-mode signature does not cover the body, so a URL seen
    once must not carry a second body). Without Redis every callback counts as new (the steps are
    conditional updates: a repeat is refused by the state, not done twice)."""
    msg_id = message.get("MsgId")
    if isinstance(msg_id, str) and msg_id:
        key = f"msg:{msg_id}"
    else:
        key = (
            f"event:{message.get('FromUserName')}:{message.get('CreateTime')}:{message.get('Event')}"
            f":{message.get('EventKey')}"
        )
    try:
        redis = redis_connection.redis()
        with redis.pipeline() as pipe:
            pipe.set(f"{DEDUPE_PREFIX}url:{signature}:{nonce}", 1, nx=True, ex=DEDUPE_SECONDS)
            pipe.set(f"{DEDUPE_PREFIX}{key}", 1, nx=True, ex=DEDUPE_SECONDS)
            fresh_url, fresh_message = pipe.execute()
        return bool(fresh_url) and bool(fresh_message)
    except (RedisError, RuntimeError) as error:
        log.warning("webhook dedupe unavailable, handling the callback anyway: %s", error)
        return True


def answer(message: dict[str, Any]) -> str | None:
    """The reply text to one message or event (None: answer `success`). Commits what it did."""
    openid = message.get("FromUserName")
    kind = str(message.get("MsgType") or "").lower()
    if kind == "text":
        content = message.get("Content")
        text = commands.answer_text(openid, content if isinstance(content, str) else "")
    elif kind == "event":
        text = events.answer_event(openid, message)
    else:  # images, voice, locations, links …: say what the bot understands
        text = replies.HELP
    db.session.commit()
    return text


def _run(message: dict[str, Any]) -> str | None:
    try:
        return answer(message)
    except DomainError as error:
        db.session.rollback()
        return commands.error_text(error)
    except Exception:
        db.session.rollback()
        log.exception("official account: %s from %s failed", message.get("MsgType"), message.get("FromUserName"))
        return None


def _crypto() -> WeChatCrypto:
    config = current_app.config
    return WeChatCrypto(
        config["WECHAT_OFFICIAL_TOKEN"], config["WECHAT_OFFICIAL_ENCODING_AES_KEY"], config["WECHAT_OFFICIAL_APP_ID"]
    )


@official.route("/wechat/official", methods=["GET", "POST"])
def webhook() -> Response:
    token = current_app.config.get("WECHAT_OFFICIAL_TOKEN")
    if not token:
        return _plain("official account webhook is not configured", 404)
    args = request.args
    timestamp, nonce = args.get("timestamp"), args.get("nonce")
    if not check_request_signature(token, args.get("signature"), timestamp, nonce) or not timestamp_is_fresh(
        timestamp, now_utc().timestamp()
    ):
        return _plain("invalid signature", 403)
    if request.method == "GET":
        return _plain(args.get("echostr", ""))

    request.max_content_length = MAX_BODY_BYTES
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _plain("body too large", 413)
    encrypt_type = (args.get("encrypt_type") or "raw").lower()
    if encrypt_type not in ("raw", "aes"):
        return _plain("unknown encrypt_type", 400)
    safe = encrypt_type == "aes"
    if not safe and current_app.config.get("WECHAT_OFFICIAL_ENCODING_AES_KEY"):
        # With a key the account runs in safe mode: only a body under msg_signature is WeChat's.
        return _plain("safe mode required", 403)
    try:
        message = parse_xml(body)
        if safe:
            encrypted = message.get("Encrypt")
            if not isinstance(encrypted, str) or not encrypted:
                raise BadRequest("safe mode without Encrypt")
            msg_signature = args.get("msg_signature")
            if not check_message_signature(token, msg_signature, timestamp, nonce, encrypted):
                return _plain("invalid msg_signature", 403)
            if not current_app.config.get("WECHAT_OFFICIAL_ENCODING_AES_KEY"):
                raise BadRequest("safe mode is not configured")
            try:
                inner = _crypto().decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
            except Exception as error:  # bad padding, base64, app id …: all mean a bad body
                raise BadRequest(f"cannot decrypt: {type(error).__name__}") from None
            message = parse_xml(inner)
    except BadRequest as error:
        log.info("official account: bad request: %s", error.reason)
        return _plain(error.reason, error.status)
    openid, account = message.get("FromUserName"), message.get("ToUserName")
    if not isinstance(openid, str) or not openid or len(openid) > 64 or not isinstance(account, str):
        return _plain("FromUserName and ToUserName are required", 400)

    if not _first_time(message, args.get("signature", ""), nonce or ""):
        return _plain(SUCCESS)
    text = _run(message)
    if not text:
        return _plain(SUCCESS)
    xml = replies.text_reply(openid, account, text)
    if safe:
        xml = _crypto().encrypt_message(xml, nonce, timestamp)
    return Response(xml, mimetype="application/xml")
