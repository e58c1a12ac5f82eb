"""Events: following (with a bind QR's scene), scanning a bind QR, unfollowing, menu clicks, and
the subscribe-message events wechatpy 1.8.18 does not parse.

A bind QR carries the scene `bind:<code>` (console_api.wechat_binding_views): scanned by someone
not yet following, it arrives as `subscribe` with EventKey `qrscene_bind:<code>`; by a follower,
as `SCAN` with EventKey `bind:<code>`. Both redeem the one-time code and bind the sender's
openid to the code's account.

Subscribe-message consents (subscribe_msg_popup_event / _change_event) are recorded in
SubscribeConsent under the openid the event names — on this webhook that is the
official-account openid, stored in the column named `miniprogram_openid`; (openid, template)
stays unique whichever app the openid belongs to, since openids differ per app.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app

from bot import commands, replies
from connections import redis as redis_connection
from connections.rate_limits import allow
from models import BindCodeChannel, ConsentStatus
from models.user import ROLE_LABELS
from operations.clock import now_utc
from operations.errors import NotFound
from operations.subscribe_consents import record_consent
from operations.wechat_accounts import bind_official_account, redeem_bind_code, set_following

log = logging.getLogger(__name__)

BIND_SCENE = "bind:"
QR_SCENE_PREFIX = "qrscene_"
BIND_ATTEMPTS = 10  # per openid per window
BIND_WINDOW_SECONDS = 600
CONSENT_EVENTS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
}
CONSENT_STATUSES = {status.value: status for status in ConsentStatus}


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
    if returning is not None and returning.is_active:
        return f"欢迎回来，{returning.display_name}！工单和预警将继续通过本公众号通知您。\n\n{replies.HELP}"
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


def _consent_items(block: Any) -> list[dict[str, Any]]:
    items = block.get("List") if isinstance(block, dict) else None
    if isinstance(items, dict):
        items = [items]
    return [item for item in items or [] if isinstance(item, dict)]


def record_consents(openid: str, event: str, message: dict[str, Any]) -> int:
    """accept / reject / ban per template (operations.subscribe_consents counts them); a change
    of settings to reject revokes what was accepted. Returns how many were recorded."""
    now = now_utc()
    recorded = 0
    for item in _consent_items(message.get(CONSENT_EVENTS[event])):
        template_id, status = item.get("TemplateId"), CONSENT_STATUSES.get(str(item.get("SubscribeStatusString")))
        if not isinstance(template_id, str) or not template_id or len(template_id) > 64 or status is None:
            continue
        record_consent(openid, template_id, status, now, settings_change=event == "subscribe_msg_change_event")
        recorded += 1
    return recorded


def on_consent(openid: str, message: dict[str, Any]) -> None:
    record_consents(openid, str(message.get("Event")).lower(), message)


def on_sent(openid: str, message: dict[str, Any]) -> None:
    """subscribe_msg_sent_event reports what WeChat did with a message we sent: logged only (the
    delivery's own answer already told the outbox)."""
    for item in _consent_items(message.get("SubscribeMsgSentEvent")):
        log.info("subscribe message to %s: %s %s", openid, item.get("TemplateId"), item.get("ErrorStatus"))


HANDLERS = {
    "subscribe": on_subscribe,
    "scan": on_scan,
    "unsubscribe": on_unsubscribe,
    "click": on_click,
    "subscribe_msg_popup_event": on_consent,
    "subscribe_msg_change_event": on_consent,
    "subscribe_msg_sent_event": on_sent,
}


def answer_event(openid: str, message: dict[str, Any]) -> str | None:
    """The reply to an event, or None (answer `success`). Unknown events are ignored."""
    event = message.get("Event")
    handler = HANDLERS.get(event.lower() if isinstance(event, str) else "")
    if handler is None:
        current_app.logger.info("official account: event %r ignored", event)
        return None
    return handler(openid, message)
