"""A device's 附件 (说明书, 合同, 验收资料, …) and its 转科记录 (department moves)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow


class AttachmentCategory(enum.StrEnum):
    MANUAL = "manual"  # 说明书
    CONTRACT = "contract"  # 合同
    ACCEPTANCE = "acceptance"  # 验收资料
    OTHER = "other"  # 其他


ATTACHMENT_CATEGORY_LABELS = {
    AttachmentCategory.MANUAL: "说明书",
    AttachmentCategory.CONTRACT: "合同",
    AttachmentCategory.ACCEPTANCE: "验收资料",
    AttachmentCategory.OTHER: "其他",
}


class DeviceAttachment(db.Model):
    """One file of the device's 附件 tab. The bytes live in the database as credential attachments'
    do (models.credential.CredentialAttachment: transactional, bounded by the upload limit)."""

    __tablename__ = "device_attachments"
    __table_args__ = (Index("ix_device_attachments_device", "device_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), nullable=False)
    category: Mapped[AttachmentCategory] = mapped_column(string_enum(AttachmentCategory), nullable=False)
    title: Mapped[str] = mapped_column(String(100), nullable=False)  # 标题
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)  # 备注
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)  # lists never load it
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class DeviceTransfer(db.Model):
    """转科: the device moved from one department to another on `moved_on` (the Asia/Shanghai
    calendar day the move took place, which may be earlier than the day it was entered). A device's
    history starts with its first move: its from_department is where it was before."""

    __tablename__ = "device_transfers"
    __table_args__ = (Index("ix_device_transfers_device", "device_id", "moved_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), nullable=False)
    from_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)
    to_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)
    moved_on: Mapped[date] = mapped_column(Date, nullable=False)  # 转科日期
    reason: Mapped[str] = mapped_column(String(200), nullable=False)  # 转科原因
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)  # 经办人
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
