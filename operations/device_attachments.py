"""A device's 附件: 说明书, 合同, 验收资料 and other papers, one category, title and note per file.

Who reads them: whoever may see the device (operations.access.visible_device) — the hospital's
staff, and a vendor whose authorization for the device is in force today, whatever its scopes (an
engineer needs the manual to repair, maintain or calibrate). Only the equipment manager uploads
and deletes, and each is logged on the device. The files pass the checks every stored document
passes (operations.uploads).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from models import AttachmentCategory, Device, DeviceAttachment, db
from operations.access import require_manager, visible_device
from operations.actors import Actor
from operations.errors import InvalidInput, NotFound
from operations.uploads import Upload, check_upload, log_file

MAX_PER_DEVICE = 50
MAX_TITLE, MAX_NOTE = 100, 500


def _label(device: Device) -> str:
    return f"{device.unique_code} {device.name}"


def attachment_summary(attachment: DeviceAttachment) -> dict[str, Any]:
    """What the 操作日志 keeps of a file (not its bytes)."""
    return {
        "id": attachment.id,
        "category": attachment.category.value,
        "title": attachment.title,
        "filename": attachment.filename,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }


def add_attachment(
    actor: Actor,
    device_id: int,
    upload: Upload,
    *,
    category: AttachmentCategory,
    title: str | None = None,
    note: str | None = None,
) -> DeviceAttachment:
    """上传: a JPG, PNG or PDF of at most 10 MB, at most 50 per device; the title defaults to the
    file's name without its extension."""
    require_manager(actor)
    device, _ = visible_device(actor, device_id)
    # Serializes concurrent uploads to one device on PostgreSQL (the per-device limit).
    db.session.execute(select(Device.id).where(Device.id == device.id).with_for_update())
    checked = check_upload(upload)
    title = (title or "").strip() or checked.filename.rpartition(".")[0][:MAX_TITLE]
    count = db.session.scalar(
        select(func.count()).select_from(DeviceAttachment).where(DeviceAttachment.device_id == device.id)
    )
    if count >= MAX_PER_DEVICE:
        raise InvalidInput({"file": f"每台设备最多 {MAX_PER_DEVICE} 个附件，请先删除不再需要的"})
    attachment = DeviceAttachment(
        institution_id=device.institution_id,
        device_id=device.id,
        category=category,
        title=title,
        note=(note or "").strip() or None,
        **checked.columns(),
        created_by_id=actor.user_id,
    )
    db.session.add(attachment)
    db.session.flush()
    log_file(actor, "device", device.id, _label(device), attachment_summary(attachment), added=True)
    return attachment


def list_attachments(
    actor: Actor, device_id: int, category: AttachmentCategory | None = None
) -> list[DeviceAttachment]:
    """The device's files, by category (说明书 first) then newest first, without their bytes."""
    device, _ = visible_device(actor, device_id)
    query = select(DeviceAttachment).where(DeviceAttachment.device_id == device.id)
    if category is not None:
        query = query.where(DeviceAttachment.category == category)
    found = list(db.session.scalars(query.order_by(DeviceAttachment.id.desc())))
    order = {category: index for index, category in enumerate(AttachmentCategory)}
    return sorted(found, key=lambda attachment: order[attachment.category])


def _own_attachment(actor: Actor, device_id: int, attachment_id: int, *, with_data: bool = False) -> DeviceAttachment:
    device, _ = visible_device(actor, device_id)
    query = select(DeviceAttachment).where(
        DeviceAttachment.id == attachment_id, DeviceAttachment.device_id == device.id
    )
    if with_data:
        query = query.options(undefer(DeviceAttachment.data))
    attachment = db.session.scalar(query)
    if attachment is None:
        raise NotFound("附件不存在")
    return attachment


def get_attachment(actor: Actor, device_id: int, attachment_id: int) -> DeviceAttachment:
    """The file with its bytes (download), with the same reach as the list."""
    return _own_attachment(actor, device_id, attachment_id, with_data=True)


def delete_attachment(actor: Actor, device_id: int, attachment_id: int) -> None:
    require_manager(actor)
    attachment = _own_attachment(actor, device_id, attachment_id)
    device = db.session.get(Device, attachment.device_id)
    log_file(actor, "device", device.id, _label(device), attachment_summary(attachment), added=False)
    db.session.delete(attachment)
    db.session.flush()
