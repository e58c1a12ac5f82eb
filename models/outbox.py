"""The outbox: every message to a person is a delivery row before anything is sent."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
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


DELIVERY_STATUS_LABELS = {
    DeliveryStatus.PENDING: "待发送",
    DeliveryStatus.SENT: "已发送",
    DeliveryStatus.FAILED: "发送失败",
    DeliveryStatus.SKIPPED: "未发送",
}


class Delivery(db.Model):
    """One message to one person on one channel.

    `idempotency_key` is unique: whoever decides to notify (a sweep run twice, a retried request)
    inserts with ON CONFLICT DO NOTHING, so a message exists once however often it is decided.
    A worker claims a row (attempts + 1, claimed_until) before sending it, so a job enqueued twice
    sends once; the relay re-enqueues rows still pending once their claim or enqueue has lapsed.
    """

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), nullable=True, index=True)
    channel: Mapped[ChannelName] = mapped_column(string_enum(ChannelName, 10), nullable=False)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    alert_plan_id: Mapped[int | None] = mapped_column(ForeignKey("alert_plans.id"), nullable=True, index=True)
    topic: Mapped[str] = mapped_column(String(40), nullable=False)  # alert.reminder, alert.expired, …
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # Channel-neutral values (subject, due date, status, …) that the WeChat and SMS templates map
    # from configuration, and the mini-program page to open.
    payload: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(
        string_enum(DeliveryStatus, 10), nullable=False, default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(100), nullable=True)  # msgid, BizId, inbox id
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
