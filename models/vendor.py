"""服务商 (vendor) and the 邀约 (invitation) that lets an institution work with it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow


class Vendor(db.Model):
    __tablename__ = "vendors"
    __table_args__ = (Index("uq_vendors_credit_code", "credit_code", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    # 统一社会信用代码 (GB 32100-2015, 18 characters, check digit validated): how a vendor is known
    # on the platform. Vendors registered before codes were asked for have none until one is set.
    credit_code: Mapped[str | None] = mapped_column(String(18), nullable=True)
    contact_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"


INVITATION_STATUS_LABELS = {
    InvitationStatus.PENDING: "待接受",
    InvitationStatus.ACCEPTED: "已接受",
    InvitationStatus.DECLINED: "已拒绝",
    InvitationStatus.REVOKED: "已撤销",
}


class Invitation(db.Model):
    """One row per institution–vendor pair; re-inviting reuses it, so the pair has one status."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("institution_id", "vendor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False, index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), nullable=False, index=True)
    status: Mapped[InvitationStatus] = mapped_column(
        string_enum(InvitationStatus),
        nullable=False,
        default=InvitationStatus.PENDING,
    )
    message: Mapped[str | None] = mapped_column(String(200), nullable=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
