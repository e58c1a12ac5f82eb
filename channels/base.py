"""What every channel takes and gives back.

A channel gets a batch of `OutgoingMessage`s (plain values copied from delivery rows and the
recipient's contact details) and answers one `Outcome` per message, in order. It never raises
for a single message's trouble: a provider error becomes an outcome, so one bad number cannot
fail the batch. The outbox job records the outcomes; retries are the outbox's business.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# Message families: a topic's part before the first dot ("alert.reminder" -> "alert"). Each
# family has its own WeChat and SMS template, because an account registers one template per kind
# of notice in the WeChat and Aliyun consoles; the label names the family in reasons people read.
FAMILY_LABELS = {"alert": "预警", "work_order": "工单", "digest": "预警汇总"}


def family_of(topic: str) -> str:
    return topic.split(".", 1)[0]


def family_label(family: str) -> str:
    return FAMILY_LABELS.get(family, family)


@dataclass(frozen=True)
class ProviderTemplate:
    """One family's template at a provider: its id (WeChat template_id, Aliyun TemplateCode) and
    the template's field -> name of a value in `message.values`. Both are chosen in the
    provider's console, so they come from configuration."""

    id: str
    fields: Mapping[str, str] = field(default_factory=dict)


def templates_from_config(config: Mapping[str, Any], id_key: str, fields_key: str) -> dict[str, ProviderTemplate]:
    """The families whose template is configured; the keys name the settings with `{family}`
    in them, e.g. "WECHAT_{family}_TEMPLATE_ID" -> WECHAT_ALERT_TEMPLATE_ID."""
    templates = {}
    for family in FAMILY_LABELS:
        template_id = config.get(id_key.format(family=family.upper()))
        if template_id:
            fields = dict(config.get(fields_key.format(family=family.upper())) or {})
            templates[family] = ProviderTemplate(template_id, fields)
    return templates


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: int
    idempotency_key: str
    recipient_id: int
    topic: str
    title: str
    body: str
    # Channel-neutral values the WeChat and SMS templates map from configuration
    # (subject, kind, due_on, status, …), and "page": the mini-program page to open.
    values: dict[str, Any] = field(default_factory=dict)
    page: str | None = None
    phone: str | None = None
    wechat_openid: str | None = None  # the official account's: template messages
    wechat_miniprogram_openid: str | None = None  # the mini-program's: subscribe messages
    alert_plan_id: int | None = None
    work_order_id: int | None = None
    # It asks the person to act (operations.outbox.asks_to_act): past a quota it looks for another
    # way to them at once (a subscribe message) instead of waiting.
    asks_to_act: bool = False

    @property
    def family(self) -> str:
        return family_of(self.topic)


class OutcomeKind(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # transient: timeouts, 5xx, rate limits; the outbox backs off and tries again
    FAILED = "failed"  # permanent: the reason says why
    SKIPPED = "skipped"  # this person cannot be reached on this channel (no binding, not following)
    # The provider refuses the account itself (SMS balance used up, access key disabled, the server's
    # IP not whitelisted): no message can go on this channel until someone fixes it. The outbox holds
    # the delivery, and the channel's other messages with it, instead of failing them.
    HELD = "held"
    # The provider refused this message for a quota (Aliyun's flow control per number, WeChat's
    # daily template sends): it waits until the quota has room (jobs.quotas), not counted as an attempt.
    LIMITED = "limited"


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    provider_id: str | None = None
    reason: str | None = None
    # A retry whose request may have reached the provider all the same (the answer never came).
    unconfirmed: bool = False
    code: str | None = None  # a held or limited one's: the provider's code (isv.AMOUNT_NOT_ENOUGH, 45009, …)

    @classmethod
    def sent(cls, provider_id: str | None = None, reason: str | None = None) -> Outcome:
        """`reason`: a note on how it went out (e.g. as a subscribe message instead)."""
        return cls(OutcomeKind.SENT, provider_id=provider_id, reason=reason)

    @classmethod
    def retry(cls, reason: str, *, unconfirmed: bool = False) -> Outcome:
        return cls(OutcomeKind.RETRY, reason=reason, unconfirmed=unconfirmed)

    @classmethod
    def failed(cls, reason: str) -> Outcome:
        return cls(OutcomeKind.FAILED, reason=reason)

    @classmethod
    def skipped(cls, reason: str) -> Outcome:
        return cls(OutcomeKind.SKIPPED, reason=reason)

    @classmethod
    def held(cls, reason: str, code: str) -> Outcome:
        """`reason`: what is wrong with the account, short, for people (阿里云短信账户余额不足)."""
        return cls(OutcomeKind.HELD, reason=reason, code=code)

    @classmethod
    def limited(cls, reason: str, code: str) -> Outcome:
        return cls(OutcomeKind.LIMITED, reason=reason, code=code)


class Channel(Protocol):
    name: str

    def send(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        """One outcome per message, in the same order."""
        ...
