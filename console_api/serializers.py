"""JSON shapes of the PC API. Dates are ISO strings; moments are shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import datetime

from flask import url_for

from console_api.http import current_actor
from models import Authorization, AuthorizationEvent, Device, DeviceRecord, Invitation, Scope, User, Vendor
from models.authorization import SCOPE_LABELS
from models.device import ARCHIVE_STATUS_LABELS
from models.device_record import RECORD_KIND_LABELS
from models.user import ROLE_LABELS
from models.vendor import INVITATION_STATUS_LABELS
from models.work_order import DEVICE_CONDITION_LABELS
from operations import vendors
from operations.authorizations import STATE_LABELS, state_of
from operations.clock import display
from operations.devices import EDITABLE_FIELDS

DATE_FIELDS = ("manufactured_on", "warranty_ends_on", "purchased_on", "installed_on")
# The 档案资料 a vendor sees only with the archive scope: every form field but the identity ones.
ARCHIVE_FIELDS = tuple(
    field for field in EDITABLE_FIELDS if field not in (*DATE_FIELDS, "name", "department_id", "archive_status")
)


def moment(value: datetime | None) -> str | None:
    return display(value)


def user_json(user: User) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "role_label": ROLE_LABELS[user.role],
        "institution_id": user.institution_id,
        "vendor_id": user.vendor_id,
    }


def running_state_json(device: Device) -> dict:
    """运行状态, shown on every view of a device (停用待修 as a red banner)."""
    return {
        "running_state": device.running_state.value,
        "running_state_label": DEVICE_CONDITION_LABELS[device.running_state],
    }


def device_summary_json(device: Device, departments: dict[int, str], vendors: list[str]) -> dict:
    """A row of the archive lists (查询设备档案, 已委外 / 未委外设备)."""
    return {
        "id": device.id,
        "unique_code": device.unique_code,
        "name": device.name,
        "archive_status": device.archive_status.value,
        "archive_status_label": ARCHIVE_STATUS_LABELS[device.archive_status],
        **running_state_json(device),
        "department_id": device.department_id,
        "department": departments.get(device.department_id),
        "category": device.category,
        "model": device.model,
        "asset_code": device.asset_code,
        "unit": device.unit,
        "origin": device.origin,
        "serial_number": device.serial_number,
        "vendors": vendors,
    }


def device_detail_json(device: Device, department: str | None, scopes: frozenset[Scope], link_url: str) -> dict:
    """档案详情. Archive fields only for those whose scopes include 档案资料."""
    body = {
        "id": device.id,
        "unique_code": device.unique_code,
        "name": device.name,
        "department_id": device.department_id,
        "department": department,
        "archive_status": device.archive_status.value,
        "archive_status_label": ARCHIVE_STATUS_LABELS[device.archive_status],
        **running_state_json(device),
        "link_url": link_url,
        "scopes": [scope.value for scope in Scope if scope in scopes],
    }
    if Scope.ARCHIVE in scopes:
        body.update({field: getattr(device, field) for field in ARCHIVE_FIELDS})
        body.update(
            {field: (value.isoformat() if (value := getattr(device, field)) else None) for field in DATE_FIELDS}
        )
        body["created_at"] = moment(device.created_at)
        body["updated_at"] = moment(device.updated_at)
    return body


def vendor_json(vendor: Vendor, contact_visible: bool | None = None) -> dict:
    """A vendor; its contact (null otherwise) only for its own people and the hospitals it serves
    (operations.vendors.contact_visible_to), decided for the signed-in caller unless given."""
    if contact_visible is None:
        contact_visible = vendors.contact_visible_to(current_actor(), vendor.id)
    return {
        "id": vendor.id,
        "name": vendor.name,
        "contact_name": vendor.contact_name if contact_visible else None,
        "contact_phone": vendor.contact_phone if contact_visible else None,
        "credit_code": vendor.credit_code,
    }


def invitation_json(invitation: Invitation, vendor: Vendor, institution_name: str) -> dict:
    return {
        "id": invitation.id,
        "institution_id": invitation.institution_id,
        "institution": institution_name,
        "vendor": vendor_json(vendor),
        "status": invitation.status.value,
        "status_label": INVITATION_STATUS_LABELS[invitation.status],
        "message": invitation.message,
        "invited_at": moment(invitation.invited_at),
        "responded_at": moment(invitation.responded_at),
    }


def authorization_json(authorization: Authorization, device: Device | None, vendor_name: str) -> dict:
    """An authorization; `device` None where the caller may not see it (a vendor's ended ones)."""
    state = state_of(authorization)
    return {
        "id": authorization.id,
        "device_id": device.id if device else None,
        "device_name": device.name if device else None,
        "unique_code": device.unique_code if device else None,
        "vendor_id": authorization.vendor_id,
        "vendor": vendor_name,
        "starts_on": authorization.starts_on.isoformat(),
        "ends_on": authorization.ends_on.isoformat(),
        "scopes": [scope.value for scope in authorization.scopes],
        "scope_labels": "；".join(SCOPE_LABELS[scope] for scope in authorization.scopes),
        "warn_enabled": authorization.warn_enabled,
        "warn_days": authorization.warn_days,
        "state": state.value,
        "state_label": STATE_LABELS[state],
        "created_at": moment(authorization.created_at),
        "cancelled_at": moment(authorization.cancelled_at),
    }


def authorization_event_json(event: AuthorizationEvent, actor_name: str) -> dict:
    return {
        "id": event.id,
        "kind": event.kind.value,
        "actor": actor_name,
        "at": moment(event.at),
        "before": event.before,
        "after": event.after,
        "note": event.note,
    }


def device_record_json(record: DeviceRecord) -> dict:
    return {
        "id": record.id,
        "kind": record.kind.value,
        "kind_label": RECORD_KIND_LABELS[record.kind],
        "performed_on": record.performed_on.isoformat(),
        "summary": record.summary,
        "details": record.details,
        "performed_by": record.performed_by,
        "created_at": moment(record.created_at),
    }


def record_with_document_json(record: DeviceRecord) -> dict:
    """A record on the PC, with its document (the signed service report) when it has one."""
    document = None
    if record.document_size is not None:
        url = url_for(
            "console_api.record_document", device_id=record.device_id, kind=record.kind.value, record_id=record.id
        )
        document = {"name": record.document_name, "content_type": record.document_type, "size": record.document_size}
        document["url"] = url
    return device_record_json(record) | {"work_order_id": record.work_order_id, "document": document}
