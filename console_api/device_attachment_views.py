"""A device's 附件 tab: list, upload (multipart: file, category, title, note), download, delete."""

from __future__ import annotations

from collections.abc import Callable

from flask import jsonify, request

from console_api.http import ascii_fallback, bounded_upload, commit, current_actor, file_response
from console_api.route_table import Upload as Multipart
from console_api.route_table import request_query
from console_api.routes import DOCUMENTS, FILE_PART, INLINE_QUERY, route
from console_api.serializers import moment
from console_api.validation import Field, parse_fields
from models import ATTACHMENT_CATEGORY_LABELS, AttachmentCategory, DeviceAttachment, User, db
from operations import device_attachments
from operations.device_attachments import MAX_NOTE, MAX_TITLE
from operations.errors import InvalidInput
from operations.uploads import MAX_ATTACHMENT_BYTES, clean_filename

CATEGORY = Field(
    "enum", enum=AttachmentCategory, description="manual 说明书、contract 合同、acceptance 验收资料、other 其他"
)
FORM_SCHEMA = {
    "category": Field("enum", required=True, enum=AttachmentCategory),
    "title": Field("str", max_length=MAX_TITLE),
    "note": Field("str", max_length=MAX_NOTE),
}
UPLOAD = Multipart(
    {
        "file": {**FILE_PART, "description": "JPG、PNG 或 PDF，不超过 10 MB；每台设备最多 50 个"},
        "category": {"type": "string", "enum": [category.value for category in AttachmentCategory]},
        "title": {"type": "string", "maxLength": MAX_TITLE, "description": "标题；不填时取文件名"},
        "note": {"type": "string", "maxLength": MAX_NOTE, "description": "备注"},
    },
    required=("file", "category"),
)
ONE = "/devices/<int:device_id>/attachments/<int:attachment_id>"


def attachment_json(attachment: DeviceAttachment, url: str, uploaders: dict[int, str]) -> dict:
    return {
        "id": attachment.id,
        "category": attachment.category.value,
        "category_label": ATTACHMENT_CATEGORY_LABELS[attachment.category],
        "title": attachment.title,
        "note": attachment.note,
        "filename": clean_filename(attachment.filename, attachment.content_type),
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": url,
        "created_by": uploaders.get(attachment.created_by_id),
        "created_at": moment(attachment.created_at),
    }


def attachments_json(found: list[DeviceAttachment], url_of: Callable[[DeviceAttachment], str]) -> list[dict]:
    """The list's rows, with who uploaded each (one query for the page)."""
    ids = {attachment.created_by_id for attachment in found}
    uploaders = dict(db.session.execute(db.select(User.id, User.display_name).where(User.id.in_(ids))).all())
    return [attachment_json(attachment, url_of(attachment), uploaders) for attachment in found]


def attachment_list(device_id: int, url_of: Callable[[DeviceAttachment], str]):
    """The 附件 list answer (?category= filters), on the PC or the phone with its own links."""
    found = device_attachments.list_attachments(current_actor(), device_id, request_query()["category"])
    return jsonify({"items": attachments_json(found, url_of)})


def pc_url(attachment: DeviceAttachment) -> str:
    return f"/api/v1/devices/{attachment.device_id}/attachments/{attachment.id}"


def attachment_download(attachment: DeviceAttachment):
    filename = clean_filename(attachment.filename, attachment.content_type)
    return file_response(
        attachment.data,
        attachment.content_type,
        filename=filename,
        ascii_filename=ascii_fallback(filename, attachment.id),
    )


@route(
    "GET",
    "/devices/<int:device_id>/attachments",
    "设备的附件（说明书、合同、验收资料等；服务商在授权期内可查看）",
    query={"category": CATEGORY},
    response="DeviceAttachmentList",
)
def list_device_attachments(device_id: int):
    return attachment_list(device_id, pc_url)


@route(
    "POST",
    "/devices/<int:device_id>/attachments",
    "上传设备附件（JPG、PNG、PDF，不超过 10 MB）",
    upload=UPLOAD,
    response="DeviceAttachment",
    status=201,
)
def add_device_attachment(device_id: int):
    # A nameless part (a client bug) is refused by name "" like any unknown field: werkzeug gives None.
    form = {name or "": value for name, value in request.form.items()}
    upload = request.files.get("file")
    errors: dict[str, str] = {} if upload is not None else {"file": "请上传文件"}
    try:
        fields = parse_fields(form, FORM_SCHEMA)
    except InvalidInput as error:
        raise InvalidInput(errors | error.fields) from None
    if errors:
        raise InvalidInput(errors)
    attachment = device_attachments.add_attachment(
        current_actor(), device_id, bounded_upload(upload, MAX_ATTACHMENT_BYTES), **fields
    )
    commit()
    return jsonify(attachments_json([attachment], pc_url)[0]), 201


@route("GET", ONE, "下载设备附件（?inline=1 在浏览器中打开）", query=INLINE_QUERY, content=DOCUMENTS)
def download_device_attachment(device_id: int, attachment_id: int):
    return attachment_download(device_attachments.get_attachment(current_actor(), device_id, attachment_id))


@route("DELETE", ONE, "删除设备附件", status=204)
def delete_device_attachment(device_id: int, attachment_id: int):
    device_attachments.delete_attachment(current_actor(), device_id, attachment_id)
    commit()
    return "", 204
