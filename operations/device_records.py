"""维修 / 保养 / 计量 records of a device, readable by vendors only within their scope."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import undefer

from models import DeviceRecord, RecordKind, Role, Scope, db
from models.device_record import RECORD_KIND_LABELS
from operations import audit
from operations.access import require_institution_staff, require_scope, visible_device
from operations.actors import Actor
from operations.errors import NotFound

RECORD_WRITERS = frozenset({Role.EQUIPMENT_MANAGER, Role.INSTITUTION_ENGINEER})


def add_device_record(
    actor: Actor,
    device_id: int,
    *,
    kind: RecordKind,
    performed_on: date,
    summary: str,
    details: str | None = None,
    performed_by: str | None = None,
) -> DeviceRecord:
    """Enter a record by hand (history from paper, an outside metrology certificate)."""
    require_institution_staff(actor, RECORD_WRITERS)
    device, _ = visible_device(actor, device_id)
    record = DeviceRecord(
        institution_id=device.institution_id,
        device_id=device.id,
        kind=kind,
        performed_on=performed_on,
        summary=summary,
        details=details,
        performed_by=performed_by,
        created_by_id=actor.user_id,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        actor,
        "create",
        "device_record",
        record.id,
        label=f"{device.unique_code} {device.name} {RECORD_KIND_LABELS[kind]}",
        changes=audit.created(record, ("device_id", "kind", "performed_on", "summary", "details", "performed_by")),
    )
    return record


def list_device_records(actor: Actor, device_id: int, kind: RecordKind) -> list[DeviceRecord]:
    device, scopes = visible_device(actor, device_id)
    require_scope(scopes, Scope(kind.value), RECORD_KIND_LABELS[kind])
    return list(
        db.session.scalars(
            select(DeviceRecord)
            .where(DeviceRecord.device_id == device.id, DeviceRecord.kind == kind)
            .order_by(DeviceRecord.performed_on.desc(), DeviceRecord.id.desc())
        )
    )


def record_document(actor: Actor, device_id: int, kind: RecordKind, record_id: int) -> DeviceRecord:
    """A record's document (the signed service report), with the same reach as the list."""
    device, scopes = visible_device(actor, device_id)
    require_scope(scopes, Scope(kind.value), RECORD_KIND_LABELS[kind])
    record = db.session.scalar(
        select(DeviceRecord)
        .options(undefer(DeviceRecord.document))
        .where(DeviceRecord.id == record_id, DeviceRecord.device_id == device.id, DeviceRecord.kind == kind)
    )
    if record is None or record.document is None:
        raise NotFound("记录没有附件")
    return record
