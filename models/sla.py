"""服务时限 (SLA): the deadlines of one work order and what became of them.

An order gets one deadline per clock (响应 = accepted, 到场 = arrived, 完成 = completed), counted
in calendar minutes from the report, from the policy in force when it was reported (the vendor's
authorization, else the institution's, else the defaults: operations.work_orders.sla_policy).
The row keeps the moments the minute sweep acts at (80 % warning, the deadline, the managers'
turn) and stamps each when it acted, so a stage is taken once however many sweeps run.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum


class DeadlineKind(enum.StrEnum):
    RESPONSE = "response"  # 响应: someone accepted the order
    ARRIVAL = "arrival"  # 到场
    COMPLETION = "completion"  # 完成: the service report submitted


DEADLINE_KIND_LABELS = {DeadlineKind.RESPONSE: "响应", DeadlineKind.ARRIVAL: "到场", DeadlineKind.COMPLETION: "完成"}


class DeadlineOutcome(enum.StrEnum):
    MET = "met"
    MISSED = "missed"
    VOID = "void"  # the order was cancelled before the step: counts neither way


DEADLINE_OUTCOME_LABELS = {DeadlineOutcome.MET: "达标", DeadlineOutcome.MISSED: "超时", DeadlineOutcome.VOID: "不计"}


class WorkOrderDeadline(db.Model):
    __tablename__ = "work_order_deadlines"
    __table_args__ = (
        UniqueConstraint("work_order_id", "kind", name="uq_work_order_deadlines_order_kind"),
        # The sweep reads the open deadlines by the next moment it acts at.
        Index(
            "ix_work_order_deadlines_open_warn",
            "warn_at",
            postgresql_where=text("outcome IS NULL AND warned_at IS NULL"),
            sqlite_where=text("outcome IS NULL AND warned_at IS NULL"),
        ),
        Index(
            "ix_work_order_deadlines_open_due",
            "due_at",
            postgresql_where=text("outcome IS NULL"),
            sqlite_where=text("outcome IS NULL"),
        ),
        Index(
            "ix_work_order_deadlines_unescalated",
            "escalate_at",
            postgresql_where=text("escalated_at IS NULL AND outcome = 'missed'"),
            sqlite_where=text("escalated_at IS NULL AND outcome = 'missed'"),
        ),
        Index("ix_work_order_deadlines_institution_due", "institution_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False)
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), nullable=True)  # as routed
    kind: Mapped[DeadlineKind] = mapped_column(string_enum(DeadlineKind), nullable=False)
    minutes: Mapped[int] = mapped_column(nullable=False)  # the policy's figure
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)  # moved by 待备件 pauses
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)  # 80 % of the time
    escalate_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)  # the managers' turn
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # while 待备件
    paused_minutes: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
    outcome: Mapped[DeadlineOutcome | None] = mapped_column(string_enum(DeadlineOutcome), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # the step's time
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # dispatcher told
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # managers told
