"""Subscribe-message events, as both apps push them: a popup answered
(subscribe_msg_popup_event), a template switched in the settings (subscribe_msg_change_event),
a message sent (subscribe_msg_sent_event). wechatpy 1.8.18 does not parse them.

In XML the answers sit under the event's element (`<SubscribeMsgPopupEvent><List>…`); in JSON
(the mini-program may push JSON) under a top-level `List`. Either way `List` is an object for
one template and an array for several. What the answers count for is
operations.subscribe_consents', per app: the same template answered in the mini-program and
in the official account are two consents.
"""

from __future__ import annotations

import logging
from typing import Any

from models import ConsentStatus, WeChatApp
from operations.clock import now_utc
from operations.subscribe_consents import record_consent

log = logging.getLogger(__name__)

POPUP, CHANGE, SENT = "subscribe_msg_popup_event", "subscribe_msg_change_event", "subscribe_msg_sent_event"
ELEMENTS = {POPUP: "SubscribeMsgPopupEvent", CHANGE: "SubscribeMsgChangeEvent", SENT: "SubscribeMsgSentEvent"}
EVENTS = frozenset(ELEMENTS)
STATUSES = {status.value: status for status in ConsentStatus}
MAX_TEMPLATE_ID_CHARS = 64


def items(message: dict[str, Any], event: str) -> list[dict[str, Any]]:
    """The event's List entries, whichever format and however many."""
    block = message.get(ELEMENTS[event], message)
    entries = block.get("List") if isinstance(block, dict) else block
    if isinstance(entries, dict):
        entries = [entries]
    return [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []


def handle(app: WeChatApp, openid: str, message: dict[str, Any]) -> bool:
    """Record (popup, change) or log (sent) a subscribe-message event of `app` from `openid`;
    False when the message is no such event. Each answer is accept / reject / ban for one
    template; a change to reject takes away what was accepted. Entries that are not an answer
    (no template, an unknown status) are skipped."""
    event = str(message.get("Event") or "").lower()
    if str(message.get("MsgType") or "").lower() != "event" or event not in EVENTS:
        return False
    if event == SENT:  # what WeChat did with a message we sent: the send's own answer told the outbox
        for entry in items(message, event):
            log.info(
                "%s subscribe message to %s: %s %s", app, openid, entry.get("TemplateId"), entry.get("ErrorStatus")
            )
        return True
    now = now_utc()
    for entry in items(message, event):
        template_id, status = entry.get("TemplateId"), STATUSES.get(str(entry.get("SubscribeStatusString")))
        if not isinstance(template_id, str) or not 0 < len(template_id) <= MAX_TEMPLATE_ID_CHARS or status is None:
            continue
        record_consent(app, openid, template_id, status, now, settings_change=event == CHANGE)
    return True
