"""Service records on a device (维修 / 保养 / 计量), what a vendor sees only within its scope."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow


class RecordKind(enum.StrEnum):
    REPAIR = "repair"
    MAINTENANCE = "maintenance"
    METROLOGY = "metrology"


RECORD_KIND_LABELS = {
    RecordKind.REPAIR: "维修记录",
    RecordKind.MAINTENANCE: "保养记录",
    RecordKind.METROLOGY: "计量记录",
}


class DeviceRecord(db.Model):
    __tablename__ = "device_records"
    __table_args__ = (Index("ix_device_records_device_kind", "device_id", "kind", "performed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), nullable=False)
    kind: Mapped[RecordKind] = mapped_column(
        string_enum(RecordKind),
        nullable=False,
    )
    performed_on: Mapped[date] = mapped_column(Date, nullable=False)
    summary: Mapped[str] = mapped_column(String(200), nullable=False)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    performed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Set when the record was archived from a work order (资料归档, once the customer confirmed it).
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.id"), nullable=True, unique=True, index=True
    )
    # Its document: the signed service report (PDF) filed with it. Deferred: lists never load it.
    document_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    document_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    document_size: Mapped[int | None] = mapped_column(nullable=True)
    document: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
