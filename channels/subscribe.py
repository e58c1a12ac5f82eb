"""Mini-program subscribe messages (订阅消息): how WeChat still reaches someone the official account
cannot (no official-account binding, or not following: 43004) but who uses the mini-program and
accepted the message family's subscribe template there.

Each family has one subscribe template (WECHAT_SUBSCRIBE_TEMPLATES, purpose = family) with its
fields (WECHAT_SUBSCRIBE_FIELDS), chosen in the mini-program's console. A one-time subscription
allows one message: the outbox job takes a consent (operations.subscribe_consents.use_consent)
before the WeChat channel sends, because the channel holds no database session; this module only
builds the request and says what WeChat's answer means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channels.base import Outcome, OutcomeKind, OutgoingMessage, ProviderTemplate
from channels.providers import clipped, template_value

SUBSCRIBE_SEND = "message/subscribe/send"  # relative to {base}/cgi-bin/
PROVIDER_PREFIX = "subscribe:"  # deliveries.provider_id of a subscribe message: subscribe:<msgid>
REFUSED = 43101  # the person has no subscription left for the template (or switched it off)

# A family without a subscribe template of its own -> the family whose template it goes on.
SHARED_TEMPLATES = {"digest": "alert"}

SENT_AS_SUBSCRIBE = "公众号无法送达，已作为小程序订阅消息发送"
REFUSED_REASON = "用户未订阅或已拒收小程序订阅消息 (43101)"
SUBSCRIBE_FAILED = "小程序订阅消息未送达"


@dataclass(frozen=True)
class SubscribeSettings:
    app_id: str | None
    app_secret: str | None
    templates: Mapping[str, ProviderTemplate]  # family -> subscribe template
    miniprogram_state: str = "formal"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SubscribeSettings:
        ids = config.get("WECHAT_SUBSCRIBE_TEMPLATES") or {}
        fields = config.get("WECHAT_SUBSCRIBE_FIELDS") or {}
        templates = {
            str(family): ProviderTemplate(str(template_id), dict(fields.get(family) or {}))
            for family, template_id in ids.items()
            if template_id
        }
        # A digest of reminders goes on the alert template the person subscribed to (one consent
        # for the lot), unless it has its own: its values carry the alert template's names.
        for family, instead in SHARED_TEMPLATES.items():
            if family not in templates and instead in templates:
                templates[family] = templates[instead]
        return cls(
            app_id=config.get("WECHAT_MINIPROGRAM_APP_ID"),
            app_secret=config.get("WECHAT_MINIPROGRAM_APP_SECRET"),
            templates=templates,
            miniprogram_state=config.get("WECHAT_SUBSCRIBE_MINIPROGRAM_STATE") or "formal",
        )

    @property
    def usable(self) -> bool:
        return bool(self.app_id and self.app_secret and self.templates)


def subscribe_message(
    message: OutgoingMessage, template: ProviderTemplate, miniprogram_state: str, field_limit
) -> dict[str, Any]:
    """The JSON body of /cgi-bin/message/subscribe/send: the same values and page as the
    official-account template message, to the person's mini-program openid."""
    body: dict[str, Any] = {
        "touser": message.wechat_miniprogram_openid,
        "template_id": template.id,
        "data": {
            name: {"value": clipped(template_value(message, source), field_limit(name))}
            for name, source in template.fields.items()
        },
        "miniprogram_state": miniprogram_state,
    }
    page = message.page or message.values.get("page")
    if page:
        body["page"] = page
    return body


def refused(outcome: Outcome) -> bool:
    """WeChat answered 43101: the person has no subscription to this template left."""
    return outcome.kind is OutcomeKind.SKIPPED and outcome.reason == REFUSED_REASON


def instead_of(unreachable: Outcome, sent: Outcome) -> Outcome:
    """The delivery's outcome when the official account could not reach the person (`unreachable`)
    and the subscribe message sent instead had the outcome `sent`."""
    if sent.kind is OutcomeKind.SENT:
        return Outcome.sent(f"{PROVIDER_PREFIX}{sent.provider_id or ''}", SENT_AS_SUBSCRIBE)
    if sent.kind is OutcomeKind.RETRY:  # the whole delivery is tried again later
        return Outcome.retry(f"{SUBSCRIBE_FAILED}：{sent.reason}")
    # Refused or failed for good: the delivery ends as the official account left it, with both
    # reasons, and the SMS fallback (when the message has one) takes over.
    return Outcome(unreachable.kind, reason=f"{unreachable.reason}；{SUBSCRIBE_FAILED}：{sent.reason}")
