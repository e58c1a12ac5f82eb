"""证照 (credentials): 设备操作证, 配置许可证 and 人员资质, the devices each covers, its files."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow


class CredentialKind(enum.StrEnum):
    OPERATION_CERTIFICATE = "operation_certificate"  # 设备操作证
    CONFIGURATION_LICENSE = "configuration_license"  # 配置许可证
    STAFF_QUALIFICATION = "staff_qualification"  # 人员资质


CREDENTIAL_KIND_LABELS = {
    CredentialKind.OPERATION_CERTIFICATE: "设备操作证",
    CredentialKind.CONFIGURATION_LICENSE: "配置许可证",
    CredentialKind.STAFF_QUALIFICATION: "人员资质",
}


class Gender(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


GENDER_LABELS = {Gender.MALE: "男", Gender.FEMALE: "女"}

DEFAULT_WARN_DAYS = 5
MAX_WARN_DAYS = 3650
DEFAULT_SEND_TIME = time(8, 0)


class Credential(db.Model):
    __tablename__ = "credentials"
    __table_args__ = (
        # NULL numbers never clash (SQLite and PostgreSQL alike), so no partial index is needed;
        # the operation checks first to answer 409 with a readable message.
        UniqueConstraint("institution_id", "kind", "number"),
        Index("ix_credentials_institution_kind_valid_until", "institution_id", "kind", "valid_until"),
        CheckConstraint(f"warn_days >= 0 AND warn_days <= {MAX_WARN_DAYS}", name="warn_days_range"),
        CheckConstraint("issued_on IS NULL OR valid_until >= issued_on", name="valid_after_issued"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False)
    kind: Mapped[CredentialKind] = mapped_column(string_enum(CredentialKind, 30), nullable=False)
    issuing_authority: Mapped[str | None] = mapped_column(String(100), nullable=True)  # 颁证单位
    number: Mapped[str | None] = mapped_column(String(50), nullable=True)  # 证件号
    holder_name: Mapped[str | None] = mapped_column(String(50), nullable=True)  # 姓名
    holder_gender: Mapped[Gender | None] = mapped_column(string_enum(Gender, 10), nullable=True)  # 性别
    holder_birth_month: Mapped[date | None] = mapped_column(Date, nullable=True)  # 出生年月 (first of the month)
    holder_title: Mapped[str | None] = mapped_column(String(50), nullable=True)  # 职称
    operable_devices_text: Mapped[str | None] = mapped_column(String(500), nullable=True)  # 可操作大型设备名称
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # 签发日期
    valid_until: Mapped[date] = mapped_column(Date, nullable=False)  # 有效期至, inclusive
    warn_days: Mapped[int] = mapped_column(nullable=False, default=DEFAULT_WARN_DAYS)  # 提前预警时间(天)
    # 发送时间: a wall-clock time in Asia/Shanghai (not UTC), like the guide's 08:00:00.
    send_time: Mapped[time] = mapped_column(Time, nullable=False, default=DEFAULT_SEND_TIME)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)  # 描述
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)  # 录入人
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)  # 修改人
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


class CredentialDevice(db.Model):
    """One device a credential covers (关联设备); a credential may cover many devices."""

    __tablename__ = "credential_devices"

    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True, index=True)


class CredentialAttachment(db.Model):
    """A scan or photo of the credential (操作证图片 / 文件)."""

    __tablename__ = "credential_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id"), nullable=False, index=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    # The bytes live in the database for now: simple (no second store to back up or configure),
    # transactional (a file exists exactly when its row does, rolled back with the request), and
    # bounded by the upload limit (10 MB, 10 per credential). Deferred: lists never load them.
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
