"""设备档案 (device archive)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow
from models.work_order import DeviceCondition


class ArchiveStatus(enum.StrEnum):
    IN_ARCHIVE = "in_archive"
    SUSPENDED = "suspended"
    SCRAPPED = "scrapped"


ARCHIVE_STATUS_LABELS = {
    ArchiveStatus.IN_ARCHIVE: "在档",
    ArchiveStatus.SUSPENDED: "停用",
    ArchiveStatus.SCRAPPED: "报废",
}

# The columns a keyword search looks in; kept lower-cased in `search_text`.
SEARCHABLE_FIELDS = (
    "name",
    "unique_code",
    "model",
    "asset_code",
    "serial_number",
    "brand",
    "manufacturer",
    "udi",
    "category",
)


class Device(db.Model):
    __tablename__ = "devices"
    __table_args__ = (
        UniqueConstraint("institution_id", "unique_code"),
        Index("ix_devices_institution_department", "institution_id", "department_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False)
    unique_code: Mapped[str] = mapped_column(String(20), nullable=False)  # 唯一码
    # An unguessable, never-changing token: the QR sticker's link is built from it.
    link_token: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    archive_status: Mapped[ArchiveStatus] = mapped_column(
        string_enum(ArchiveStatus),
        nullable=False,
        default=ArchiveStatus.IN_ARCHIVE,
    )
    # 运行状态 (正常运行 / 限制使用 / 停用待修 / 建议报废), apart from 在档状态: set by the last completed
    # service report's 设备当前状态 or by the equipment manager (operations.device_running_state,
    # which keeps its periods in DeviceStatePeriod).
    running_state: Mapped[DeviceCondition] = mapped_column(
        string_enum(DeviceCondition), nullable=False, default=DeviceCondition.NORMAL, server_default="normal"
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)  # 设备名称
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)  # 所属科室
    category: Mapped[str | None] = mapped_column(String(50), nullable=True)  # 设备类型
    model: Mapped[str | None] = mapped_column(String(100), nullable=True)  # 规格型号
    asset_code: Mapped[str | None] = mapped_column(String(50), nullable=True)  # 设备编码
    unit: Mapped[str | None] = mapped_column(String(20), nullable=True)  # 单位
    brand: Mapped[str | None] = mapped_column(String(100), nullable=True)  # 设备品牌
    origin: Mapped[str | None] = mapped_column(String(50), nullable=True)  # 产地
    manufacturer: Mapped[str | None] = mapped_column(String(100), nullable=True)  # 生产厂家
    serial_number: Mapped[str | None] = mapped_column(String(100), nullable=True)  # 序列号
    warranty_type: Mapped[str | None] = mapped_column(String(50), nullable=True)  # 质保类型
    udi: Mapped[str | None] = mapped_column(String(100), nullable=True)  # UDI码
    manufactured_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # 生产日期
    warranty_ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # 质保到期日
    purchased_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # 购买日期
    installed_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # 安装日期
    metrology_method: Mapped[str | None] = mapped_column(String(50), nullable=True)  # 计量方式
    maintenance_method: Mapped[str | None] = mapped_column(String(50), nullable=True)  # 保养方式
    description: Mapped[str | None] = mapped_column(Text, nullable=True)  # 设备描述
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    def refresh_search_text(self) -> None:
        self.search_text = " ".join(
            str(value).lower() for field in SEARCHABLE_FIELDS if (value := getattr(self, field))
        )


class StateSource(enum.StrEnum):
    """What set a running state."""

    REPORT = "report"  # a completed service report's 设备当前状态
    MANUAL = "manual"  # the equipment manager, with a reason
    MIGRATION = "migration"  # read from the last report when the column was added


STATE_SOURCE_LABELS = {
    StateSource.REPORT: "服务报告",
    StateSource.MANUAL: "设备科设置",
    StateSource.MIGRATION: "历史报告",
}


class DeviceStatePeriod(db.Model):
    """One stretch of a device in one running state: from `started_at` until the next state began
    (`ended_at`; None while it lasts). Before its first period a device was 正常运行 since it was
    archived. Downtime is measured from these (operations.device_running_state)."""

    __tablename__ = "device_state_periods"
    __table_args__ = (Index("ix_device_state_periods_device_started", "device_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), nullable=False)
    state: Mapped[DeviceCondition] = mapped_column(string_enum(DeviceCondition), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    source: Mapped[StateSource] = mapped_column(string_enum(StateSource), nullable=False)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
