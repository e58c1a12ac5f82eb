"""计量证书 of a 计量 order: attached by the engineer before completing (required then), filed with
the device's 计量 records on completion, its 有效期至 the plan's next 计量 date, and its 结论
deciding the report's 设备当前状态 (不合格: 停用待修; 限用: 限制使用).

The document passes the checks credential attachments pass (operations.uploads:
check_upload): JPG, PNG or PDF by its bytes, at most 10 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import undefer

from models import (
    CalibrationCertificate,
    CertificateConclusion,
    DeviceRecord,
    RecordKind,
    WorkOrder,
    WorkOrderKind,
    WorkOrderStatus,
    db,
)
from models.calibration_certificate import CERTIFICATE_CONCLUSION_LABELS
from models.work_order import WORK_ORDER_STATUS_LABELS, DeviceCondition
from operations.actors import Actor
from operations.clock import now_utc, to_local, today_local
from operations.errors import Conflict, InvalidInput, NotFound
from operations.uploads import Upload, check_upload
from operations.work_orders.access import require_assignee, visible_order

# While the engineer works the order (a rework may bring a corrected certificate).
ATTACH_STATUSES = frozenset(
    {
        WorkOrderStatus.ACCEPTED,
        WorkOrderStatus.DEPARTED,
        WorkOrderStatus.ON_SITE,
        WorkOrderStatus.DIAGNOSED,
        WorkOrderStatus.REWORK,
    }
)
# What a conclusion makes of the device's state after the service; 合格 leaves the engineer's choice.
FORCED_CONDITION = {
    CertificateConclusion.FAILED: DeviceCondition.OUT_OF_SERVICE,
    CertificateConclusion.RESTRICTED: DeviceCondition.LIMITED,
}
MAX_TEXT = 100
LOGGED = ("number", "calibrated_on", "valid_until", "conclusion", "issuer", "filename", "size")


@dataclass(frozen=True)
class CertificateFields:
    number: str | None
    calibrated_on: date | None
    valid_until: date | None
    conclusion: CertificateConclusion | None
    issuer: str | None


def _check(fields: CertificateFields) -> dict[str, str]:
    errors = {}
    if not fields.number:
        errors["number"] = "请填写证书编号"
    elif len(fields.number) > MAX_TEXT:
        errors["number"] = f"证书编号不能超过 {MAX_TEXT} 个字"
    if not fields.issuer:
        errors["issuer"] = "请填写发证机构"
    elif len(fields.issuer) > MAX_TEXT:
        errors["issuer"] = f"发证机构不能超过 {MAX_TEXT} 个字"
    if fields.conclusion is None:
        errors["conclusion"] = "请选择结论（合格 / 不合格 / 限用）"
    if fields.calibrated_on is None:
        errors["calibrated_on"] = "请填写检定/校准日期"
    elif fields.calibrated_on > today_local():
        errors["calibrated_on"] = "检定/校准日期不能晚于今天"
    elif fields.valid_until is not None and fields.valid_until <= fields.calibrated_on:
        errors["valid_until"] = "有效期至须晚于检定/校准日期"
    return errors


def certificate_of(work_order_id: int) -> CalibrationCertificate | None:
    return db.session.scalar(
        select(CalibrationCertificate).where(CalibrationCertificate.work_order_id == work_order_id)
    )


def attach(
    actor: Actor, work_order_id: int, upload: Upload | None, fields: CertificateFields
) -> CalibrationCertificate:
    """上传计量证书 (or replace it, fields and document together; the document may be left out
    to correct only the fields of one already attached)."""
    order = visible_order(actor, work_order_id, lock=True)
    require_assignee(actor, order)
    if order.kind is not WorkOrderKind.METROLOGY:
        raise Conflict("只有计量工单需要上传计量证书")
    if order.status not in ATTACH_STATUSES:
        raise Conflict(f"工单当前状态为「{WORK_ORDER_STATUS_LABELS[order.status]}」，不能上传计量证书")
    certificate = certificate_of(order.id)
    errors = _check(fields)
    checked = None
    if upload is None:
        if certificate is None:
            errors["file"] = "请上传证书文件（PDF 或图片）"
    else:
        try:
            checked = check_upload(upload)
        except InvalidInput as problem:
            errors |= problem.fields
    if errors:
        raise InvalidInput(errors)
    from operations.work_orders.flow import audit_order  # flow imports this module

    before = _logged(certificate)
    if certificate is None:
        certificate = CalibrationCertificate(
            work_order_id=order.id, institution_id=order.institution_id, device_id=order.device_id
        )
        db.session.add(certificate)
    certificate.number, certificate.issuer = fields.number, fields.issuer
    certificate.calibrated_on, certificate.valid_until = fields.calibrated_on, fields.valid_until
    certificate.conclusion = fields.conclusion
    if checked is not None:
        certificate.filename, certificate.content_type = checked.filename, checked.content_type
        certificate.size, certificate.data = checked.size, checked.data
    certificate.uploaded_by_id, certificate.uploaded_at = actor.user_id, now_utc()
    db.session.flush()
    after = _logged(certificate)
    audit_order(actor, "attach_certificate", order, {"certificate": [before, after]})
    return certificate


def _logged(certificate: CalibrationCertificate | None) -> dict[str, Any] | None:
    if certificate is None:
        return None
    return {key: _plain(getattr(certificate, key)) for key in LOGGED}


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, CertificateConclusion):
        return CERTIFICATE_CONCLUSION_LABELS[value]
    return value


def document(actor: Actor, work_order_id: int) -> CalibrationCertificate:
    """The certificate's file, for whoever may see the order."""
    order = visible_order(actor, work_order_id)
    certificate = db.session.scalar(
        select(CalibrationCertificate)
        .options(undefer(CalibrationCertificate.data))
        .where(CalibrationCertificate.work_order_id == order.id)
    )
    if certificate is None:
        raise NotFound("工单没有计量证书")
    return certificate


def for_completion(order: WorkOrder, errors: dict[str, str]) -> CalibrationCertificate | None:
    """A 计量 order's certificate, which completing requires (else an error on `certificate`)."""
    if order.kind is not WorkOrderKind.METROLOGY:
        return None
    certificate = certificate_of(order.id)
    if certificate is None:
        errors["certificate"] = "计量工单须先上传计量证书（证书编号、检定/校准日期、有效期至、结论、发证机构）"
    return certificate


def condition_after(certificate: CalibrationCertificate | None, chosen: DeviceCondition) -> DeviceCondition:
    return FORCED_CONDITION.get(certificate.conclusion, chosen) if certificate is not None else chosen


def report_json(certificate: CalibrationCertificate) -> dict[str, Any]:
    """The certificate as the service report freezes and prints it."""
    return {
        "number": certificate.number,
        "calibrated_on": certificate.calibrated_on.isoformat(),
        "valid_until": certificate.valid_until.isoformat() if certificate.valid_until else None,
        "conclusion": certificate.conclusion.value,
        "conclusion_label": CERTIFICATE_CONCLUSION_LABELS[certificate.conclusion],
        "issuer": certificate.issuer,
        "filename": certificate.filename,
    }


def valid_until_of(order: WorkOrder) -> date | None:
    certificate = certificate_of(order.id) if order.kind is WorkOrderKind.METROLOGY else None
    return certificate.valid_until if certificate is not None else None


def file_with_device(order: WorkOrder, now: datetime) -> DeviceRecord | None:
    """On completion: the certificate becomes (or, completed again after a rework, updates) a
    计量 record of the device holding the document. The order's own record (its signed report)
    is filed separately when the customer confirms (flow.archive)."""
    certificate = db.session.scalar(
        select(CalibrationCertificate)
        .options(undefer(CalibrationCertificate.data))
        .where(CalibrationCertificate.work_order_id == order.id)
    )
    if certificate is None:
        return None
    record = db.session.get(DeviceRecord, certificate.device_record_id) if certificate.device_record_id else None
    if record is None:
        record = DeviceRecord(
            institution_id=order.institution_id,
            device_id=order.device_id,
            kind=RecordKind.METROLOGY,
            created_by_id=order.assignee_id,
            created_at=now,
        )
        db.session.add(record)
    label = CERTIFICATE_CONCLUSION_LABELS[certificate.conclusion]
    record.performed_on = certificate.calibrated_on
    record.summary = f"{order.number} 计量证书 {certificate.number}（{label}）"[:200]
    valid = f"，有效期至 {certificate.valid_until.isoformat()}" if certificate.valid_until else ""
    record.details = f"发证机构：{certificate.issuer}{valid}；工单完成于 {to_local(now):%Y-%m-%d %H:%M}"
    record.performed_by = certificate.issuer[:100]
    record.document, record.document_name = certificate.data, certificate.filename
    record.document_type, record.document_size = certificate.content_type, certificate.size
    db.session.flush()
    certificate.device_record_id = record.id
    db.session.flush()
    return record


def by_records(record_ids: list[int]) -> dict[int, CalibrationCertificate]:
    """The certificates filed as these records (one query for a list)."""
    if not record_ids:
        return {}
    rows = db.session.scalars(
        select(CalibrationCertificate).where(CalibrationCertificate.device_record_id.in_(record_ids))
    )
    return {certificate.device_record_id: certificate for certificate in rows}
