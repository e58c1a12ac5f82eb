"""计量证书 (calibration certificate) of a 计量 work order: the document the metrology body issued
(PDF or image) with its 证书编号, 检定/校准日期, 有效期至, 结论 and 发证机构.

The engineer attaches it before completing the order (a 计量 order cannot be completed without
one). On completion it is filed with the device's 计量 records (`device_record_id`, a DeviceRecord
of kind metrology holding the document), and its 有效期至 sets the plan's next 计量 date.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow


class CertificateConclusion(enum.StrEnum):
    PASSED = "passed"  # 合格
    FAILED = "failed"  # 不合格: the device is 停用待修 until repaired
    RESTRICTED = "restricted"  # 限用: the device may be used within limits (限制使用)


CERTIFICATE_CONCLUSION_LABELS = {
    CertificateConclusion.PASSED: "合格",
    CertificateConclusion.FAILED: "不合格",
    CertificateConclusion.RESTRICTED: "限用",
}


class CalibrationCertificate(db.Model):
    __tablename__ = "calibration_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One per order: uploading again (a corrected scan, during rework) replaces it.
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), nullable=False, index=True)
    number: Mapped[str] = mapped_column(String(100), nullable=False)  # 证书编号
    calibrated_on: Mapped[date] = mapped_column(Date, nullable=False)  # 检定/校准日期
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)  # 有效期至
    conclusion: Mapped[CertificateConclusion] = mapped_column(string_enum(CertificateConclusion), nullable=False)
    issuer: Mapped[str] = mapped_column(String(100), nullable=False)  # 发证机构
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(50), nullable=False)
    size: Mapped[int] = mapped_column(nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    # The device's 计量 record it was filed as, once the order was completed.
    device_record_id: Mapped[int | None] = mapped_column(ForeignKey("device_records.id"), nullable=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
