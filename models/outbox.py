"""The outbox: every message to a person is a delivery row before anything is sent."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.alert_plan import ChannelName
from models.db import UTCDateTime, db, string_enum, utcnow

# 64-bit on PostgreSQL (a busy group writes millions a year); SQLite's rowid alias must be INTEGER.
BigId = BigInteger().with_variant(Integer, "sqlite")


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting to be sent, or to be retried at next_attempt_at
    SENT = "sent"
    FAILED = "failed"  # for good: the reason says why (bad number, retries used up, …)
    SKIPPED = "skipped"  # not sendable to this person on this channel (no binding, not following, …)
    # No longer true when its turn came (the order accepted, the alert handled, its day passed): not
    # sent, the reason says why (operations.stale_notices). Nothing of it reached the person.
    WITHDRAWN = "withdrawn"


DELIVERY_STATUS_LABELS = {
    DeliveryStatus.PENDING: "待发送",
    DeliveryStatus.SENT: "已发送",
    DeliveryStatus.FAILED: "发送失败",
    DeliveryStatus.SKIPPED: "未发送",
    DeliveryStatus.WITHDRAWN: "已撤回",
}


class OutboxMessage(db.Model):
    """What was decided to tell people, rendered once: one message fans out into a delivery per
    recipient and channel. `key` names the decision (alert:<plan>:<yyyymmdd>), so deciding twice
    finds the same message."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    alert_plan_id: Mapped[int | None] = mapped_column(ForeignKey("alert_plans.id"), nullable=True, index=True)
    occurrence_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # an alert's day (Shanghai)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), nullable=True, index=True)
    topic: Mapped[str] = mapped_column(String(40), nullable=False)  # alert.reminder, work_order.accepted, …
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # Channel-neutral values (subject, due date, status, …) that the WeChat and SMS templates map
    # from configuration.
    payload: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class Delivery(db.Model):
    """One message to one person on one channel.

    Unique per (message, recipient, channel) — for an alert that is plan + day + recipient +
    channel — and written with ON CONFLICT DO NOTHING, so a delivery exists once however often it
    is decided. The row is narrow on purpose (the content lives on the message): a morning sweep
    writes hundreds of thousands. A worker claims a row (attempts + 1, claimed_until) before
    sending it and keeps the claim alive while its job runs, so a job enqueued twice sends once;
    the relay re-enqueues rows still pending once their claim or enqueue has lapsed.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "recipient_id", "channel"),
        # Only rows still to send: the relay's scan stays small however long the history grows.
        Index(
            "ix_deliveries_pending",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # The reminders a pending digest carries: what its send job recounts (a few per person).
        Index(
            "ix_deliveries_digest_id",
            "digest_id",
            postgresql_where=text("status = 'pending' AND digest_id IS NOT NULL"),
            sqlite_where=text("status = 'pending' AND digest_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No FOREIGN KEY constraints on these two, on purpose: the one statement that writes
    # deliveries (operations.outbox.fan_out) selects them from outbox_messages and users, and
    # neither table ever loses a row, so a per-row check would re-prove the join at a quarter of
    # the morning sweep's cost. Queries join them explicitly.
    message_id: Mapped[int] = mapped_column(BigId, nullable=False)
    recipient_id: Mapped[int] = mapped_column(nullable=False)
    channel: Mapped[ChannelName] = mapped_column(string_enum(ChannelName, 10), nullable=False)
    status: Mapped[DeliveryStatus] = mapped_column(
        string_enum(DeliveryStatus, 10), nullable=False, default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A WeChat send whose outcome is unknown (claimed by a job that died, or answered by a read
    # time-out) since this moment: past WeChat's 10-minute client_msg_id window a resend is a
    # second message (operations.outbox.claim).
    unconfirmed_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(100), nullable=True)  # msgid, BizId, inbox id
    # 汇总提醒: the digest delivery that carries this reminder on its channel (operations.alerts.
    # digests). The reminder is not sent on its own; it ends as its digest ends, or is left out of
    # it (withdrawn) when its alert was handled first.
    digest_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


def idempotency_key(message_key: str, recipient_id: int, channel: str) -> str:
    """The delivery's name outside: WeChat's client_msg_id and Aliyun's OutId carry it."""
    return f"{message_key}:{recipient_id}:{channel}"


class ChannelCondition(enum.StrEnum):
    UP = "up"
    DOWN = "down"  # the provider refuses the account itself: deliveries on the channel are held


CHANNEL_CONDITION_LABELS = {ChannelCondition.UP: "正常", ChannelCondition.DOWN: "暂停"}


class ChannelState(db.Model):
    """A provider's state as the send jobs found it: down while it refuses the account itself (SMS
    balance used up, access key disabled, the server's IP not on WeChat's whitelist). Held
    deliveries wait until `until`, when the next attempt probes the provider again; a call that
    goes through puts the channel back up (operations.channel_states). One row per provider, written
    on each change only: nothing per message."""

    __tablename__ = "channel_states"

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)  # sms, wechat
    state: Mapped[ChannelCondition] = mapped_column(
        string_enum(ChannelCondition, 10), nullable=False, default=ChannelCondition.UP
    )
    since: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)  # in this state since
    until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # down: the next probe
    failures: Mapped[int] = mapped_column(nullable=False, default=0)  # refusals in a row (the probe's backoff)
    reason: Mapped[str | None] = mapped_column(String(100), nullable=True)  # short, for people
    code: Mapped[str | None] = mapped_column(String(60), nullable=True)  # the provider's error code
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
