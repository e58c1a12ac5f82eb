"""JSON shapes of 证照管理. Dates are ISO strings, 出生年月 is YYYY-MM, 发送时间 is HH:MM:SS
(Asia/Shanghai wall clock); moments are shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import date

from console_api.serializers import moment
from models import Credential, CredentialAttachment, Device
from models.credential import CREDENTIAL_KIND_LABELS, GENDER_LABELS
from operations.uploads import clean_filename

LIST_SEPARATOR = "、"


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _distinct(values) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


def covered_device_json(device: Device, departments: dict[int, str]) -> dict:
    return {
        "id": device.id,
        "name": device.name,
        "unique_code": device.unique_code,
        "category": device.category,
        "department_id": device.department_id,
        "department": departments.get(device.department_id),
        "model": device.model,
        "asset_code": device.asset_code,
        "unit": device.unit,
    }


def credential_row_json(credential: Credential, devices: list[Device], departments: dict[int, str]) -> dict:
    """A row of a 证照管理 list: 设备名称, 证件号, 有效期, 设备类型, 所属科室, 预警提前量, 发送时间, 单位.

    Columns about devices join the covered devices' values (distinct, in 唯一码 order).
    """
    return {
        "id": credential.id,
        "kind": credential.kind.value,
        "kind_label": CREDENTIAL_KIND_LABELS[credential.kind],
        "device_ids": [device.id for device in devices],
        "device_names": LIST_SEPARATOR.join(device.name for device in devices),
        "unique_codes": LIST_SEPARATOR.join(device.unique_code for device in devices),
        "number": credential.number,
        "holder_name": credential.holder_name,
        "valid_until": credential.valid_until.isoformat(),
        "categories": LIST_SEPARATOR.join(_distinct(device.category for device in devices)),
        "departments": LIST_SEPARATOR.join(_distinct(departments.get(device.department_id) for device in devices)),
        "warn_days": credential.warn_days,
        "send_time": credential.send_time.isoformat(timespec="seconds"),
        "units": LIST_SEPARATOR.join(_distinct(device.unit for device in devices)),
        "issuing_authority": credential.issuing_authority,
    }


def attachment_json(attachment: CredentialAttachment) -> dict:
    return {
        "id": attachment.id,
        "filename": clean_filename(attachment.filename, attachment.content_type),
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "url": f"/api/v1/credentials/{attachment.credential_id}/attachments/{attachment.id}",
        "created_at": moment(attachment.created_at),
    }


def credential_json(
    credential: Credential,
    devices: list[Device],
    departments: dict[int, str],
    attachments: list[CredentialAttachment],
    user_names: dict[int, str],
) -> dict:
    """The 基础设置 form with its devices, files, 录入人 and 修改人."""
    gender = credential.holder_gender
    birth_month = credential.holder_birth_month
    return {
        "id": credential.id,
        "kind": credential.kind.value,
        "kind_label": CREDENTIAL_KIND_LABELS[credential.kind],
        "devices": [covered_device_json(device, departments) for device in devices],
        "issuing_authority": credential.issuing_authority,
        "number": credential.number,
        "holder_name": credential.holder_name,
        "holder_gender": gender.value if gender else None,
        "holder_gender_label": GENDER_LABELS[gender] if gender else None,
        "holder_birth_month": f"{birth_month.year:04d}-{birth_month.month:02d}" if birth_month else None,
        "holder_title": credential.holder_title,
        "operable_devices_text": credential.operable_devices_text,
        "issued_on": _iso(credential.issued_on),
        "valid_until": credential.valid_until.isoformat(),
        "warn_days": credential.warn_days,
        "send_time": credential.send_time.isoformat(timespec="seconds"),
        "description": credential.description,
        "attachments": [attachment_json(attachment) for attachment in attachments],
        "created_by_id": credential.created_by_id,
        "created_by": user_names.get(credential.created_by_id),
        "updated_by_id": credential.updated_by_id,
        "updated_by": user_names.get(credential.updated_by_id) if credential.updated_by_id else None,
        "created_at": moment(credential.created_at),
        "updated_at": moment(credential.updated_at),
    }
