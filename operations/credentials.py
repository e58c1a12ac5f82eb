"""证照管理: 设备操作证, 配置许可证 and 人员资质, entered from 证照管理 or from a device's tabs.

One operation serves both entry paths of the guide: the 证照管理 list (关联设备 picks one or
more devices, a batch entry) and a device's 操作证 / 配置许可证 tab (the same credential with
that one device). The equipment office (manager and in-house engineers) reads credentials, only
the equipment manager writes them; clinicians and vendors never see them (证照管理 is not their
menu). Every credential has an alert plan (预警计划), kept in step here.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from models import Credential, CredentialAttachment, CredentialDevice, CredentialKind, Device, Role, db
from models.credential import CREDENTIAL_KIND_LABELS, DEFAULT_SEND_TIME, DEFAULT_WARN_DAYS, MAX_WARN_DAYS
from models.db import utcnow
from operations import audit
from operations.access import INSTITUTION_STAFF, require_institution_staff, require_manager
from operations.actors import Actor
from operations.alerts.plans import (
    NotifySettings,
    drop_credential_plan,
    plan_credential,
    settings_snapshot,
    subject_plan,
)
from operations.clock import today_local
from operations.errors import Conflict, InvalidInput, NotFound
from operations.paging import Page, escape_like, paginate

# Who reads 证照管理: the equipment office, not clinicians (their console is 工单 and 首页通知).
READERS = INSTITUTION_STAFF - {Role.CLINICIAN}

# Fields of the 基础设置 form.
EDITABLE_FIELDS = (
    "issuing_authority",
    "number",
    "holder_name",
    "holder_gender",
    "holder_birth_month",
    "holder_title",
    "operable_devices_text",
    "issued_on",
    "valid_until",
    "warn_days",
    "send_time",
    "description",
)
# These kinds are about devices: they cover at least one. 人员资质 may stand alone.
DEVICE_KINDS = frozenset({CredentialKind.OPERATION_CERTIFICATE, CredentialKind.CONFIGURATION_LICENSE})
MAX_DEVICES = 500

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
# What the file's first bytes must be, per allowed type: the declared type alone proves nothing.
FILE_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
TYPE_LABELS = "JPG、PNG、PDF"
# Browsers and tools send these when they do not know; the bytes decide then.
UNKNOWN_DECLARED_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_FILENAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\"\\/]")


@dataclass(frozen=True)
class Upload:
    filename: str
    declared_type: str | None
    data: bytes


def _own_credential(actor: Actor, credential_id: int, *, lock: bool = False) -> Credential:
    query = select(Credential).where(Credential.id == credential_id)
    if lock:
        # Serializes concurrent attachment uploads on PostgreSQL (the per-credential limit).
        query = query.with_for_update()
    credential = db.session.scalar(query)
    if credential is None or credential.institution_id != actor.institution_id:
        raise NotFound("证照不存在")
    return credential


def _own_device(actor: Actor, device_id: int) -> Device:
    device = db.session.get(Device, device_id)
    if device is None or device.institution_id != actor.institution_id:
        raise NotFound("设备不存在")
    return device


def _chosen_devices(actor: Actor, kind: CredentialKind, device_ids: list[int]) -> list[Device]:
    """The devices picked under 关联设备, each the actor institution's; unknown ones are a field error."""
    ids = list(dict.fromkeys(device_ids))
    if kind in DEVICE_KINDS and not ids:
        raise InvalidInput({"device_ids": "请至少选择一台设备"})
    if len(ids) > MAX_DEVICES:
        raise InvalidInput({"device_ids": f"一次最多关联 {MAX_DEVICES} 台设备"})
    # Ids no table can hold are simply not found (PostgreSQL would refuse them as parameters).
    candidates = [device_id for device_id in ids if 0 < device_id < 2**31]
    found: dict[int, Device] = {}
    if candidates:
        query = select(Device).where(Device.id.in_(candidates), Device.institution_id == actor.institution_id)
        found = {device.id: device for device in db.session.scalars(query)}
    missing = [str(device_id) for device_id in ids if device_id not in found]
    if missing:
        # Another institution's device reads the same as one that does not exist.
        raise InvalidInput({"device_ids": f"设备不存在：{', '.join(missing)}"})
    return [found[device_id] for device_id in ids]


def _check_fields(credential: Credential, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput({name: "不支持的字段" for name in sorted(unknown)})
    merged = {name: fields.get(name, getattr(credential, name)) for name in EDITABLE_FIELDS}
    errors = {}
    if merged["valid_until"] is None:
        errors["valid_until"] = "必填"
    elif merged["issued_on"] is not None and merged["valid_until"] < merged["issued_on"]:
        errors["valid_until"] = "有效期至不能早于签发日期"
    if merged["warn_days"] is None or not 0 <= merged["warn_days"] <= MAX_WARN_DAYS:
        errors["warn_days"] = f"提前预警时间应在 0 到 {MAX_WARN_DAYS} 天之间"
    if merged["send_time"] is None:
        errors["send_time"] = "必填"
    if merged["holder_birth_month"] is not None and merged["holder_birth_month"] > today_local():
        errors["holder_birth_month"] = "出生年月不能晚于今天"
    if errors:
        raise InvalidInput(errors)


def _number_taken(institution_id: int, kind: CredentialKind, number: str, exclude_id: int | None) -> bool:
    query = select(Credential.id).where(
        Credential.institution_id == institution_id, Credential.kind == kind, Credential.number == number
    )
    if exclude_id is not None:
        query = query.where(Credential.id != exclude_id)
    with db.session.no_autoflush:  # the pending change itself must not hit the constraint first
        return db.session.scalar(query.limit(1)) is not None


def _check_number(credential: Credential) -> None:
    if credential.number and _number_taken(
        credential.institution_id, credential.kind, credential.number, credential.id
    ):
        raise Conflict(f"证件号已存在：{credential.number}")


def _flush_credential(credential: Credential) -> None:
    """Flush; a concurrent writer that took the same 证件号 first is a 409 too, not a 500."""
    try:
        db.session.flush()
    except IntegrityError as error:
        text = str(error.orig)
        if "uq_credentials_institution_id_kind_number" in text or "credentials.number" in text:
            raise Conflict(f"证件号已存在：{credential.number}") from None
        raise


def _set_devices(credential: Credential, devices: list[Device]) -> None:
    wanted = {device.id for device in devices}
    current = set(
        db.session.scalars(select(CredentialDevice.device_id).where(CredentialDevice.credential_id == credential.id))
    )
    if current - wanted:
        db.session.execute(
            delete(CredentialDevice).where(
                CredentialDevice.credential_id == credential.id,
                CredentialDevice.device_id.in_(current - wanted),
            )
        )
    for device in devices:
        if device.id not in current:
            db.session.add(CredentialDevice(credential_id=credential.id, device_id=device.id))


def check_new_credential(actor: Actor, kind: CredentialKind, fields: dict[str, Any]) -> None:
    """The checks `create_credential` makes of a credential's own fields (not of its devices),
    writing nothing: a form that saves it with a new device reports both at once."""
    require_manager(actor)
    credential = Credential(institution_id=actor.institution_id, kind=kind)
    fields = {"warn_days": DEFAULT_WARN_DAYS, "send_time": DEFAULT_SEND_TIME, **fields}
    _check_fields(credential, fields)
    number = fields.get("number")
    if number and _number_taken(actor.institution_id, kind, number, None):
        # On the device's form a taken 证件号 is one more field to correct, as before the change.
        raise InvalidInput({"number": f"证件号已存在：{number}"})


def create_credential(
    actor: Actor,
    kind: CredentialKind,
    fields: dict[str, Any],
    device_ids: list[int],
    alert: NotifySettings | None = None,
) -> Credential:
    """新增: one credential covering the chosen devices (one device when entered from its tab),
    with its alert plan (人员通知: `alert`, or the defaults)."""
    require_manager(actor)
    credential = Credential(
        institution_id=actor.institution_id,
        kind=kind,
        created_by_id=actor.user_id,
        updated_by_id=actor.user_id,
    )
    fields = {"warn_days": DEFAULT_WARN_DAYS, "send_time": DEFAULT_SEND_TIME, **fields}
    _check_fields(credential, fields)
    devices = _chosen_devices(actor, kind, device_ids)
    for name, value in fields.items():
        setattr(credential, name, value)
    _check_number(credential)
    db.session.add(credential)
    _flush_credential(credential)
    _set_devices(credential, devices)
    db.session.flush()
    plan = plan_credential(credential, alert)
    after = _logged(credential) | settings_snapshot(plan, "alert_")
    audit.record(
        actor, "create", "credential", credential.id, label=_label(credential), changes=audit.difference({}, after)
    )
    return credential


def _label(credential: Credential) -> str:
    return f"{CREDENTIAL_KIND_LABELS[credential.kind]} {credential.number or credential.holder_name or credential.id}"


def _logged(credential: Credential) -> dict[str, Any]:
    """What the 操作日志 compares of a credential: its fields and the devices it covers."""
    return audit.snapshot(credential, ("kind", *EDITABLE_FIELDS)) | {
        "device_ids": sorted(
            db.session.scalars(
                select(CredentialDevice.device_id).where(CredentialDevice.credential_id == credential.id)
            )
        )
    }


def update_credential(
    actor: Actor,
    credential_id: int,
    fields: dict[str, Any],
    device_ids: list[int] | None = None,
    *,
    kind: CredentialKind | None = None,
    alert: NotifySettings | None = None,
) -> Credential:
    """修改: the fields given (all of them for a full form) and, unless None, the device set.

    The kind is fixed; `kind`, when given, must be the credential's own. The alert plan follows
    the new dates; `alert`, when given, replaces its 人员通知 settings.
    """
    require_manager(actor)
    credential = _own_credential(actor, credential_id)
    if kind is not None and kind != credential.kind:
        raise InvalidInput({"kind": "证照类别不能修改"})
    _check_fields(credential, fields)
    devices = _chosen_devices(actor, credential.kind, device_ids) if device_ids is not None else None
    before = _logged(credential) | settings_snapshot(subject_plan(credential_id=credential.id), "alert_")
    for name, value in fields.items():
        setattr(credential, name, value)
    credential.updated_by_id = actor.user_id
    credential.updated_at = utcnow()
    _check_number(credential)
    _flush_credential(credential)
    if devices is not None:
        _set_devices(credential, devices)
        db.session.flush()
    plan = plan_credential(credential, alert)
    changes = audit.difference(before, _logged(credential) | settings_snapshot(plan, "alert_"))
    if changes:
        audit.record(actor, "update", "credential", credential.id, label=_label(credential), changes=changes)
    return credential


def get_credential(actor: Actor, credential_id: int) -> Credential:
    require_institution_staff(actor, READERS)
    return _own_credential(actor, credential_id)


def delete_credential(actor: Actor, credential_id: int) -> None:
    """删除: the credential, its device links and its files."""
    require_manager(actor)
    credential = _own_credential(actor, credential_id)
    audit.record(
        actor,
        "delete",
        "credential",
        credential.id,
        label=_label(credential),
        changes=audit.difference(_logged(credential), {}),
    )
    drop_credential_plan(credential.id)
    db.session.execute(delete(CredentialAttachment).where(CredentialAttachment.credential_id == credential.id))
    db.session.execute(delete(CredentialDevice).where(CredentialDevice.credential_id == credential.id))
    db.session.delete(credential)
    db.session.flush()


def _covering_device(*conditions):
    return (
        select(CredentialDevice.credential_id)
        .join(Device, Device.id == CredentialDevice.device_id)
        .where(CredentialDevice.credential_id == Credential.id, *conditions)
        .exists()
    )


def list_credentials(
    actor: Actor,
    *,
    kind: CredentialKind,
    page: int,
    per_page: int,
    keyword: str | None = None,
    department_id: int | None = None,
    category: str | None = None,
) -> Page:
    """One page of a kind's list, newest first; a page past the end raises NotFound.

    The keyword matches 证件号, 姓名, or the name or 唯一码 of a covered device; 所属科室 and
    设备类型 keep credentials covering a device of that department and type (the same device).
    """
    require_institution_staff(actor, READERS)
    query = select(Credential).where(Credential.institution_id == actor.institution_id, Credential.kind == kind)
    if keyword:
        pattern = f"%{escape_like(keyword.lower())}%"
        query = query.where(
            or_(
                func.lower(Credential.number).like(pattern, escape="\\"),
                func.lower(Credential.holder_name).like(pattern, escape="\\"),
                _covering_device(
                    or_(
                        func.lower(Device.name).like(pattern, escape="\\"),
                        func.lower(Device.unique_code).like(pattern, escape="\\"),
                    )
                ),
            )
        )
    device_conditions = []
    if department_id is not None:
        device_conditions.append(Device.department_id == department_id)
    if category is not None:
        device_conditions.append(Device.category == category)
    if device_conditions:
        query = query.where(_covering_device(*device_conditions))
    return paginate(query, Credential.id.desc(), page=page, per_page=per_page)


def credentials_of_device(actor: Actor, device_id: int, kind: CredentialKind | None = None) -> list[Credential]:
    """A device's 操作证 / 配置许可证 tab: the credentials of that kind covering it, newest first."""
    require_institution_staff(actor, READERS)
    device = _own_device(actor, device_id)
    query = (
        select(Credential)
        .join(CredentialDevice, CredentialDevice.credential_id == Credential.id)
        .where(CredentialDevice.device_id == device.id)
    )
    if kind is not None:
        query = query.where(Credential.kind == kind)
    return list(db.session.scalars(query.order_by(Credential.id.desc())))


def covered_devices(credential_ids: list[int]) -> dict[int, list[Device]]:
    """The devices each credential covers, in 唯一码 order (one query for a whole page)."""
    if not credential_ids:
        return {}
    rows = db.session.execute(
        select(CredentialDevice.credential_id, Device)
        .join(Device, Device.id == CredentialDevice.device_id)
        .where(CredentialDevice.credential_id.in_(credential_ids))
        .order_by(Device.unique_code, Device.id)
    )
    covered: dict[int, list[Device]] = {credential_id: [] for credential_id in credential_ids}
    for credential_id, device in rows:
        covered[credential_id].append(device)
    return covered


# --- attachments -----------------------------------------------------------------------------


def sniff_type(data: bytes) -> str | None:
    """The allowed type the bytes really are, or None."""
    for content_type, signatures in FILE_SIGNATURES.items():
        if data.startswith(signatures):
            return content_type
    return None


# The extension a stored file is named with, per detected type (the first is added when missing).
EXTENSIONS = {"image/jpeg": ("jpg", "jpeg"), "image/png": ("png",), "application/pdf": ("pdf",)}


def clean_filename(filename: str | None, content_type: str) -> str:
    """The name a stored file is listed and downloaded under: the last path part, without control
    or format characters (bidi overrides would show "cod.exe" as "exe.doc"), quotes or slashes,
    at most 255 characters, and ending in the extension of the type its bytes are."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cc", "Cf"))
    name = _FILENAME_FORBIDDEN.sub("", name).strip().lstrip(".").rstrip(". ")
    extensions = EXTENSIONS[content_type]
    stem, dot, extension = name.rpartition(".")
    if not (dot and stem and extension.lower() in extensions):
        name = f"{name or '附件'}.{extensions[0]}"
        stem, _, extension = name.rpartition(".")
    if len(name) > 255:
        name = f"{stem[: 255 - len(extension) - 1]}.{extension}"
    return name


def checked_document(upload: Upload) -> str:
    """The type of an uploaded document (a scan or a PDF: JPG, PNG or PDF of at most 10 MB) as its
    bytes say, else 422 on `file`: the checks every stored document passes (credential
    attachments, calibration certificates)."""
    data = upload.data
    if not data:
        raise InvalidInput({"file": "文件为空"})
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput({"file": f"文件不能超过 {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB"})
    content_type = sniff_type(data)
    if content_type is None:
        raise InvalidInput({"file": f"仅支持 {TYPE_LABELS} 文件"})
    declared = (upload.declared_type or "").lower()
    if declared not in UNKNOWN_DECLARED_TYPES and declared != content_type:
        raise InvalidInput({"file": f"文件内容与声明的类型（{declared}）不符"})
    return content_type


def add_attachment(actor: Actor, credential_id: int, upload: Upload) -> CredentialAttachment:
    """上传: a JPG, PNG or PDF of at most 10 MB, at most 10 per credential."""
    require_manager(actor)
    credential = _own_credential(actor, credential_id, lock=True)
    data = upload.data
    content_type = checked_document(upload)
    count = db.session.scalar(
        select(func.count())
        .select_from(CredentialAttachment)
        .where(CredentialAttachment.credential_id == credential.id)
    )
    if count >= MAX_ATTACHMENTS:
        raise InvalidInput({"file": f"每个证照最多 {MAX_ATTACHMENTS} 个附件"})
    attachment = CredentialAttachment(
        credential_id=credential.id,
        filename=clean_filename(upload.filename, content_type),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_by_id=actor.user_id,
    )
    db.session.add(attachment)
    db.session.flush()
    audit.record(
        actor,
        "add_attachment",
        "credential",
        credential.id,
        label=_label(credential),
        changes={"attachment": [None, _attachment_json(attachment)]},
    )
    return attachment


def _attachment_json(attachment: CredentialAttachment) -> dict[str, Any]:
    return {"id": attachment.id, "filename": attachment.filename, "size": attachment.size, "sha256": attachment.sha256}


def list_attachments(actor: Actor, credential_id: int) -> list[CredentialAttachment]:
    require_institution_staff(actor, READERS)
    credential = _own_credential(actor, credential_id)
    return attachments_of([credential.id]).get(credential.id, [])


def attachments_of(credential_ids: list[int]) -> dict[int, list[CredentialAttachment]]:
    """Each credential's attachments, oldest first, without their bytes."""
    found: dict[int, list[CredentialAttachment]] = {credential_id: [] for credential_id in credential_ids}
    if credential_ids:
        for attachment in db.session.scalars(
            select(CredentialAttachment)
            .where(CredentialAttachment.credential_id.in_(credential_ids))
            .order_by(CredentialAttachment.id)
        ):
            found[attachment.credential_id].append(attachment)
    return found


def _own_attachment(actor: Actor, credential_id: int, attachment_id: int) -> CredentialAttachment:
    credential = _own_credential(actor, credential_id)
    attachment = db.session.get(CredentialAttachment, attachment_id)
    if attachment is None or attachment.credential_id != credential.id:
        raise NotFound("附件不存在")
    return attachment


def get_attachment(actor: Actor, credential_id: int, attachment_id: int) -> CredentialAttachment:
    """The attachment with its bytes (download)."""
    require_institution_staff(actor, READERS)
    return _own_attachment(actor, credential_id, attachment_id)


def delete_attachment(actor: Actor, credential_id: int, attachment_id: int) -> None:
    require_manager(actor)
    attachment = _own_attachment(actor, credential_id, attachment_id)
    credential = db.session.get(Credential, attachment.credential_id)
    audit.record(
        actor,
        "remove_attachment",
        "credential",
        credential.id,
        label=_label(credential),
        changes={"attachment": [_attachment_json(attachment), None]},
    )
    db.session.delete(attachment)
    db.session.flush()
