"""预警计划 (alert plans): daily reminders before a credential or an authorization expires."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow


class AlertSubject(enum.StrEnum):
    CREDENTIAL = "credential"  # 证照到期
    AUTHORIZATION = "authorization"  # 委外授权到期
    SERVICE_PLAN = "service_plan"  # 保养 / 计量逾期: an occurrence not done by its due date


class AlertPlanStatus(enum.StrEnum):
    ACTIVE = "active"  # waiting for its window, or reminding every day
    HANDLED = "handled"  # 已处理: someone acknowledged it; nothing more is sent
    EXPIRED = "expired"  # 已过期: the last notice went out
    CANCELLED = "cancelled"  # warnings switched off, or the authorization cancelled


ALERT_PLAN_STATUS_LABELS = {
    AlertPlanStatus.ACTIVE: "预警中",
    AlertPlanStatus.HANDLED: "已处理",
    AlertPlanStatus.EXPIRED: "已过期",
    AlertPlanStatus.CANCELLED: "已取消",
}


class ChannelName(enum.StrEnum):
    INBOX = "inbox"  # 电脑首页通知
    SMS = "sms"  # 短信通知
    WECHAT = "wechat"  # 微信通知


CHANNEL_LABELS = {ChannelName.INBOX: "电脑首页通知", ChannelName.SMS: "短信通知", ChannelName.WECHAT: "微信通知"}

MAX_TEMPLATE_LENGTH = 500
EXACTLY_ONE_SUBJECT = (
    "(CASE WHEN credential_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN authorization_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN service_plan_id IS NULL THEN 0 ELSE 1 END) = 1"
)


class AlertPlan(db.Model):
    """One plan per subject. `next_run_at` is the next send instant still owed (UTC), or None.

    The minute sweep reads only (status, next_run_at), so a plan costs nothing until it is due;
    `last_occurrence_on` is the Shanghai day the sweep last settled (sent, dropped, or nobody to
    tell), which makes re-planning after an edit never repeat a day. Neither is shown as is:
    what was sent is in the outbox, what was dropped in AlertDroppedDay.
    """

    __tablename__ = "alert_plans"
    __table_args__ = (
        CheckConstraint(EXACTLY_ONE_SUBJECT, name="exactly_one_subject"),
        CheckConstraint("warn_days >= 0", name="warn_days_not_negative"),
        Index("ix_alert_plans_status_next_run_at", "status", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False, index=True)
    subject: Mapped[AlertSubject] = mapped_column(string_enum(AlertSubject, 20), nullable=False)
    credential_id: Mapped[int | None] = mapped_column(ForeignKey("credentials.id"), nullable=True, unique=True)
    authorization_id: Mapped[int | None] = mapped_column(ForeignKey("authorizations.id"), nullable=True, unique=True)
    service_plan_id: Mapped[int | None] = mapped_column(ForeignKey("service_plans.id"), nullable=True, unique=True)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)  # 到期日, inclusive
    warn_days: Mapped[int] = mapped_column(nullable=False)
    send_time: Mapped[time] = mapped_column(Time, nullable=False)  # Asia/Shanghai wall clock
    channel_inbox: Mapped[bool] = mapped_column(nullable=False, default=True)
    channel_sms: Mapped[bool] = mapped_column(nullable=False, default=False)
    channel_wechat: Mapped[bool] = mapped_column(nullable=False, default=False)
    notify_related: Mapped[bool] = mapped_column(nullable=False, default=True)  # 发送给相关人员
    template: Mapped[str] = mapped_column(Text, nullable=False)  # 发送内容模板
    status: Mapped[AlertPlanStatus] = mapped_column(
        string_enum(AlertPlanStatus, 20), nullable=False, default=AlertPlanStatus.ACTIVE
    )
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_occurrence_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    handled_note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    @property
    def channels(self) -> list[ChannelName]:
        return [channel for channel in ChannelName if getattr(self, f"channel_{channel.value}")]

    @channels.setter
    def channels(self, value) -> None:
        chosen = set(value)
        for channel in ChannelName:
            setattr(self, f"channel_{channel.value}", channel in chosen)


class AlertPlanRecipient(db.Model):
    """发送给指定人员: an account chosen by hand, beside (or instead of) the 相关人员."""

    __tablename__ = "alert_plan_recipients"

    alert_plan_id: Mapped[int] = mapped_column(ForeignKey("alert_plans.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class AlertDroppedDay(db.Model):
    """An owed occurrence the sweep passed over without sending: it ran too late for an earlier
    day's reminder (the scheduler was down). Kept so the plan's 发送记录 shows the gap and why."""

    __tablename__ = "alert_dropped_days"
    __table_args__ = (UniqueConstraint("alert_plan_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_plan_id: Mapped[int] = mapped_column(ForeignKey("alert_plans.id"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)  # the occurrence's Shanghai day
    reason: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
