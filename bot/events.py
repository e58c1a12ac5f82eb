"""Events: following (with a bind QR's scene), scanning a bind QR, unfollowing, menu clicks, and
the subscribe-message events (服务号订阅通知).

A bind QR carries the scene `bind:<code>` (console_api.wechat_binding_views): scanned by someone
not yet following, it arrives as `subscribe` with EventKey `qrscene_bind:<code>`; by a follower,
as `SCAN` with EventKey `bind:<code>`. Both redeem the one-time code and bind the sender's
openid to the code's account.

Someone who bound their account in the mini-program and then follows the account needs no bind
QR when both apps are bound to one 开放平台 account: the follow event carries no unionid, so once
the webhook has answered, a job looks it up (user/info, jobs.followers) and links the follower to
the account whose mini-program identity has it. WeChat is never asked while it waits for us.

Subscribe-message events on this webhook are the official account's (服务号订阅通知, sent with
subscribe/bizsend) and are recorded as its consents (webhooks.consents): the mini-program's
subscribe messages never spend them.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from bot import commands, replies
from connections import redis as redis_connection
from connections.rate_limits import allow
from models import BindCodeChannel, WeChatApp
from models.user import ROLE_LABELS
from operations.clock import now_utc
from operations.errors import NotFound
from operations.wechat_accounts import bind_official_account, look_up_after_commit, redeem_bind_code, set_following
from webhooks import consents

BIND_SCENE = "bind:"
QR_SCENE_PREFIX = "qrscene_"
BIND_ATTEMPTS = 10  # per openid per window
BIND_WINDOW_SECONDS = 600


def bind(openid: str, code: str) -> str:
    if not allow(redis_connection.redis(), f"bot:bind:{openid}", BIND_ATTEMPTS, BIND_WINDOW_SECONDS):
        return replies.BIND_LIMITED
    try:
        user = redeem_bind_code(code, BindCodeChannel.OFFICIAL_ACCOUNT, now_utc())
    except NotFound:
        return replies.BIND_FAILED
    bind_official_account(user, openid)
    return (
        f"绑定成功：{user.display_name}（{ROLE_LABELS[user.role]}）。工单和预警将通过本公众号通知您。\n\n{replies.HELP}"
    )


def _bind_scene(event_key: Any) -> str | None:
    key = event_key if isinstance(event_key, str) else ""
    if key.startswith(QR_SCENE_PREFIX):
        key = key[len(QR_SCENE_PREFIX) :]
    return key[len(BIND_SCENE) :] if key.startswith(BIND_SCENE) else None


def on_subscribe(openid: str, message: dict[str, Any]) -> str:
    returning = set_following(openid, True)  # someone bound who follows again is reachable again
    code = _bind_scene(message.get("EventKey"))
    if code is not None:
        return bind(openid, code)
    if returning is not None:
        if not returning.is_active:
            return replies.WELCOME
        return f"欢迎回来，{returning.display_name}！工单和预警将继续通过本公众号通知您。\n\n{replies.HELP}"
    look_up_after_commit(openid)  # bound in the mini-program? (jobs.followers, once this is answered)
    return replies.WELCOME


def on_scan(openid: str, message: dict[str, Any]) -> str | None:
    code = _bind_scene(message.get("EventKey"))
    return bind(openid, code) if code is not None else None


def on_unsubscribe(openid: str, message: dict[str, Any]) -> None:
    """Messages that may fall back go by SMS from now on (the outbox treats not-following like
    unbound); the binding stays for when they follow again. No reply can reach them."""
    set_following(openid, False)


def on_click(openid: str, message: dict[str, Any]) -> str:
    key = message.get("EventKey")
    return commands.answer_click(openid, key if isinstance(key, str) else "")


def on_consent(openid: str, message: dict[str, Any]) -> None:
    consents.handle(WeChatApp.OFFICIAL_ACCOUNT, openid, message)


HANDLERS = {
    "subscribe": on_subscribe,
    "scan": on_scan,
    "unsubscribe": on_unsubscribe,
    "click": on_click,
    **dict.fromkeys(consents.EVENTS, on_consent),
}


def answer_event(openid: str, message: dict[str, Any]) -> str | None:
    """The reply to an event, or None (answer `success`). Unknown events are ignored."""
    event = message.get("Event")
    handler = HANDLERS.get(event.lower() if isinstance(event, str) else "")
    if handler is None:
        current_app.logger.info("official account: event %r ignored", event)
        return None
    return handler(openid, message)
