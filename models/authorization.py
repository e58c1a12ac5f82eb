"""委外授权 (authorization): a device linked to a vendor for a period and a set of record kinds."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow


class Scope(enum.StrEnum):
    ARCHIVE = "archive"
    REPAIR = "repair"
    MAINTENANCE = "maintenance"
    METROLOGY = "metrology"


SCOPE_LABELS = {
    Scope.ARCHIVE: "档案资料",
    Scope.REPAIR: "维修记录",
    Scope.MAINTENANCE: "保养记录",
    Scope.METROLOGY: "计量记录",
}


class Authorization(db.Model):
    __tablename__ = "authorizations"
    __table_args__ = (
        Index("ix_authorizations_vendor_period", "vendor_id", "ends_on"),
        Index("ix_authorizations_device", "device_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False, index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), nullable=False)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)  # inclusive, Asia/Shanghai calendar day
    # One column per scope: the access check filters on them in SQL.
    scope_archive: Mapped[bool] = mapped_column(nullable=False, default=False)
    scope_repair: Mapped[bool] = mapped_column(nullable=False, default=False)
    scope_maintenance: Mapped[bool] = mapped_column(nullable=False, default=False)
    scope_metrology: Mapped[bool] = mapped_column(nullable=False, default=False)
    warn_enabled: Mapped[bool] = mapped_column(nullable=False, default=False)
    warn_days: Mapped[int | None] = mapped_column(nullable=True)
    # The vendor's contract: 服务时限 minutes that override the institution's policy for the orders
    # routed through this authorization (the same shape as its targets; None: no override).
    sla_targets: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @property
    def scopes(self) -> list[Scope]:
        return [scope for scope in Scope if getattr(self, f"scope_{scope.value}")]

    @scopes.setter
    def scopes(self, value: set[Scope] | list[Scope]) -> None:
        chosen = set(value)
        for scope in Scope:
            setattr(self, f"scope_{scope.value}", scope in chosen)

    def is_active_on(self, day: date) -> bool:
        return self.cancelled_at is None and self.starts_on <= day <= self.ends_on


class AuthorizationEventKind(enum.StrEnum):
    CREATED = "created"
    MODIFIED = "modified"
    CANCELLED = "cancelled"


class AuthorizationEvent(db.Model):
    """The history of one authorization: who did what, and the values before and after."""

    __tablename__ = "authorization_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    authorization_id: Mapped[int] = mapped_column(ForeignKey("authorizations.id"), nullable=False, index=True)
    kind: Mapped[AuthorizationEventKind] = mapped_column(
        string_enum(AuthorizationEventKind),
        nullable=False,
    )
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
