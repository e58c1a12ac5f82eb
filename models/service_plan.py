"""保养计划 / 计量计划 (service plans): a device's preventive maintenance or metrology, every so
many days or months, raised as a work order a lead time before each due date.

An *occurrence* is one due date of a plan; the order raised for it carries the plan and that date
(WorkOrder.service_plan_id, plan_due_on: unique together, so an occurrence is raised once). The
minute sweep reads only (status, next_run_at): the instant the next occurrence is raised.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow


class IntervalUnit(enum.StrEnum):
    DAY = "day"
    MONTH = "month"


INTERVAL_UNIT_LABELS = {IntervalUnit.DAY: "天", IntervalUnit.MONTH: "个月"}


class PlanAnchor(enum.StrEnum):
    """What the next due date counts from."""

    SCHEDULE = "schedule"  # the previous due date: a fixed calendar (保养's default)
    COMPLETION = "completion"  # the previous occurrence's completion, or its certificate's 有效期至 (计量's)


PLAN_ANCHOR_LABELS = {PlanAnchor.SCHEDULE: "按计划日期", PlanAnchor.COMPLETION: "按完成日期"}


class ServicePlanStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"  # 已结束: ended by hand, or its device was scrapped; its history stays


SERVICE_PLAN_STATUS_LABELS = {ServicePlanStatus.ACTIVE: "执行中", ServicePlanStatus.ENDED: "已结束"}


class ServicePlan(db.Model):
    __tablename__ = "service_plans"
    __table_args__ = (
        CheckConstraint("interval_count >= 1", name="interval_positive"),
        CheckConstraint("lead_days >= 0", name="lead_days_not_negative"),
        CheckConstraint("anchor_day >= 1 AND anchor_day <= 31", name="anchor_day_in_month"),
        Index("ix_service_plans_status_next_run_at", "status", "next_run_at"),
        Index("ix_service_plans_device", "device_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False, index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # WorkOrderKind: maintenance / metrology
    interval_count: Mapped[int] = mapped_column(nullable=False)
    interval_unit: Mapped[IntervalUnit] = mapped_column(string_enum(IntervalUnit), nullable=False)
    lead_days: Mapped[int] = mapped_column(nullable=False)  # 提前天数: raised this many days before the due date
    anchor: Mapped[PlanAnchor] = mapped_column(string_enum(PlanAnchor), nullable=False)
    # The day of month month intervals keep (01-31 → 02-28 → 03-31): the first due date's, or the
    # day the completion series restarted from.
    anchor_day: Mapped[int] = mapped_column(nullable=False)
    checklist: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # items copied to each order
    # 科室联系人: None means the institution's equipment managers.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[ServicePlanStatus] = mapped_column(
        string_enum(ServicePlanStatus), nullable=False, default=ServicePlanStatus.ACTIVE
    )
    # The next occurrence not raised yet; None while a completion plan waits for its open occurrence.
    next_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # when it is raised
    last_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # the latest occurrence raised
    # What next_due_on counts from (the previous due date, or a completion date), so an edited
    # interval is applied to the same base; None when the due date was given as such (the first
    # one, a certificate's 有效期至, a date moved by hand).
    counted_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_reason: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
