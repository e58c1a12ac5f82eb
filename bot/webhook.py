"""The official account's webhook (`/wechat/official`): GET answers WeChat's URL check, POST
takes messages and events, in plain or safe (AES) mode.

What is checked before anything runs (signatures, body, safe mode, duplicates) is
webhooks.inbound's, shared with the mini-program's push; only a list (我的工单, 我的预警), which
changes nothing, is read while its duplicate check is on its way, and a duplicate's reply is
dropped. Then one command or event runs against the database (quick work only: every reply is a
few indexed queries and at most one step), and the edge commits; messages a step writes to the
outbox are enqueued after the commit. A domain error rolls back and is answered with its Chinese
message; a database connection the server had dropped runs the message once more on a new one;
any other error rolls back, is logged and answered `success`, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app
from sqlalchemy.exc import DBAPIError

from bot import commands, events, replies
from models import db
from operations.errors import DomainError
from webhooks.inbound import SUCCESS, Webhook, plain, receive

log = logging.getLogger(__name__)

official = Blueprint("wechat_official", __name__)


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
    if db.session.registry.has():  # else nothing used the session (a list read on the driver)
        db.session.commit()
    return text


def _run(message: dict[str, Any], *, again: bool = True) -> str | None:
    try:
        return answer(message)
    except DomainError as error:
        db.session.rollback()
        return commands.error_text(error)
    except DBAPIError as error:
        db.session.rollback()
        if error.connection_invalidated and again:
            # The server had dropped the pooled connection (a restart; the web goes without the
            # pre-ping) and the pool has replaced it: once more, then. A step whose commit had
            # reached the server is refused by its state the second time, never done twice.
            log.warning("official account: the database connection was gone; running the message again")
            return _run(message, again=False)
        log.exception("official account: %s from %s failed", message.get("MsgType"), message.get("FromUserName"))
        return None
    except Exception:
        db.session.rollback()
        log.exception("official account: %s from %s failed", message.get("MsgType"), message.get("FromUserName"))
        return None


def _only_reads(message: dict[str, Any]) -> bool:
    """A text naming a list (commands.READS_ONLY): it changes nothing, so a retry is answered the
    list again and only a replayed URL must not read (webhooks.inbound: in plain mode the URL's
    check is answered after the reads, a replay's reply dropped). Everything else waits for its
    duplicate check."""
    content = message.get("Content")
    return str(message.get("MsgType") or "").lower() == "text" and commands.only_reads(content)


@official.route("/wechat/official", methods=["GET", "POST"])
def webhook() -> Response:
    hook = Webhook.of(current_app.config, "official")
    push = receive(hook, only_reads=_only_reads)
    if isinstance(push, Response):
        return push
    try:
        text = _run(push.message)
    finally:
        first_time = push.first_time()  # a list was read while its duplicate check was on its way
    if not first_time or not text:
        return plain(SUCCESS)
    xml = replies.text_reply(push.openid, push.account, text)
    if push.safe:
        xml = hook.crypto().encrypt_message(xml, push.nonce, push.timestamp)
    return Response(xml, mimetype="application/xml")
