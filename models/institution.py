"""医疗机构 (institution, the tenant), its 科室 (departments) and its 设备类型 list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, utcnow

# 汇总提醒's threshold per institution: its default and the range it may be set to.
DEFAULT_DIGEST_THRESHOLD = 3
DIGEST_THRESHOLD_MIN, DIGEST_THRESHOLD_MAX = 1, 50


class Institution(db.Model):
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    # The last 唯一码 number handed out; bumped atomically so codes stay gap-free per institution.
    last_device_number: Mapped[int] = mapped_column(nullable=False, default=0)
    # Deactivated by the platform operator: its reminders and pushes stop and vendors lose access;
    # nothing is deleted, and reactivation brings all of it back.
    is_active: Mapped[bool] = mapped_column(nullable=False, default=True, server_default=true())
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # 汇总提醒: a person due more than this many reminders at one send time on one channel (SMS,
    # WeChat) gets one digest there instead (operations.alerts.digests); the inbox keeps each.
    alert_digest_threshold: Mapped[int] = mapped_column(
        nullable=False, default=DEFAULT_DIGEST_THRESHOLD, server_default=str(DEFAULT_DIGEST_THRESHOLD)
    )
    # 服务时限 (SLA) policy: the minutes set by the manager, over the defaults
    # (operations.work_orders.sla_policy); None: the defaults.
    sla_policy: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class Department(db.Model):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("institution_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(30), nullable=True)  # 科室电话 (landline / extension)
    sort_order: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")  # 排序, ascending
    # A deactivated department keeps its history but takes no new devices or people.
    is_active: Mapped[bool] = mapped_column(nullable=False, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class DeviceType(db.Model):
    """设备类型: an institution's list of device categories. Devices and engineer skills carry the
    name (a skill matches a device of any hospital by name); renaming or merging an entry renames
    it on the institution's devices and skills in the same transaction."""

    __tablename__ = "device_types"
    __table_args__ = (UniqueConstraint("institution_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    sort_order: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
    # 检查项模板: the items a planned order of a device of this type carries unless its plan has
    # its own (operations.service_plans.checklists).
    checklist: Mapped[list | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
