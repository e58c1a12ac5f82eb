"""操作日志 (audit log): one row per successful change, written in the change's own transaction."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow
from models.outbox import BigId


class Edge(enum.StrEnum):
    """Where a change came from."""

    PC = "pc"  # the PC console's API
    MINIPROGRAM = "miniprogram"
    OFFICIAL_ACCOUNT = "official_account"  # the 公众号 bot
    CLI = "cli"  # the platform operator
    SYSTEM = "system"  # the scheduler and the jobs


EDGE_LABELS = {
    Edge.PC: "电脑端",
    Edge.MINIPROGRAM: "小程序",
    Edge.OFFICIAL_ACCOUNT: "公众号",
    Edge.CLI: "平台运维",
    Edge.SYSTEM: "系统",
}


class AuditEntry(db.Model):
    """Who changed what, when, from where. `institution_id` and `vendor_id` say whose log shows the
    row (a vendor accepting an invitation is in both); `changes` maps each changed field to
    [before, after], secrets only marked as changed."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_institution_at", "institution_id", "occurred_at"),
        Index("ix_audit_log_vendor_at", "vendor_id", "occurred_at"),
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)  # None: system
    actor_name: Mapped[str] = mapped_column(String(50), nullable=False)  # as it was then
    edge: Mapped[Edge] = mapped_column(string_enum(Edge), nullable=False)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), nullable=True)
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), nullable=True)
    entity_type: Mapped[str] = mapped_column(String(40), nullable=False)  # device, user, work_order …
    entity_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    entity_label: Mapped[str | None] = mapped_column(String(100), nullable=True)  # a name a person knows
    action: Mapped[str] = mapped_column(String(40), nullable=False)  # create, update, deactivate, accept …
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
