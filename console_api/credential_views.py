"""证照管理: the 设备操作证 / 配置许可证 / 人员资质 lists, the form, a device's tabs, attachments."""

from __future__ import annotations

import re

from flask import current_app, jsonify, request

from console_api import api
from console_api.alert_views import alert_errors_under, alert_plans_of, alert_settings
from console_api.credential_serializers import attachment_json, credential_json, credential_row_json
from console_api.http import commit, current_actor, file_response, signed_in
from console_api.validation import Field, parse_body, query_enum, query_int, query_str
from models import AlertPlan, CredentialKind, Gender, User, db
from models.credential import DEFAULT_SEND_TIME, DEFAULT_WARN_DAYS, MAX_WARN_DAYS
from operations import credentials, devices
from operations.access import require_institution_staff
from operations.credentials import EDITABLE_FIELDS, MAX_ATTACHMENT_BYTES, MAX_DEVICES, Upload
from operations.errors import InvalidInput

FIELDS_SCHEMA = {
    "issuing_authority": Field("str", max_length=100),
    "number": Field("str", max_length=50),
    "holder_name": Field("str", max_length=50),
    "holder_gender": Field("enum", enum=Gender),
    "holder_birth_month": Field("month"),
    "holder_title": Field("str", max_length=50),
    "operable_devices_text": Field("str", max_length=500),
    "issued_on": Field("date"),
    "valid_until": Field("date", required=True),
    "warn_days": Field("int", minimum=0, maximum=MAX_WARN_DAYS, nullable=False),
    "send_time": Field("time", nullable=False),
    "description": Field("str", max_length=2000),
}
DEVICE_IDS = Field("int_list", max_items=MAX_DEVICES)
ALERT = Field("object")  # 人员通知; see console_api.alert_views.alert_settings
CREATE_SCHEMA = {
    "kind": Field("enum", required=True, enum=CredentialKind),
    "device_ids": DEVICE_IDS,
    "alert": ALERT,
    **FIELDS_SCHEMA,
}
# PUT sends the whole form again: what it leaves out is cleared (warn_days / send_time: defaults).
UPDATE_SCHEMA = {"kind": Field("enum", enum=CredentialKind), "device_ids": DEVICE_IDS, "alert": ALERT, **FIELDS_SCHEMA}
FORM_DEFAULTS = {"warn_days": DEFAULT_WARN_DAYS, "send_time": DEFAULT_SEND_TIME}


def form_fields(body: dict) -> dict:
    return {name: body.get(name, FORM_DEFAULTS.get(name)) for name in EDITABLE_FIELDS}


def payloads(items) -> list[dict]:
    """Full credentials (form, devices, files, 录入人 / 修改人) with a handful of queries."""
    if not items:
        return []
    ids = [credential.id for credential in items]
    covered = credentials.covered_devices(ids)
    files = credentials.attachments_of(ids)
    departments = devices.department_names(items[0].institution_id)
    user_ids = {credential.created_by_id for credential in items} | {
        credential.updated_by_id for credential in items if credential.updated_by_id
    }
    names = dict(db.session.execute(db.select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    plans = alert_plans_of(AlertPlan.credential_id, ids)
    return [
        credential_json(c, covered[c.id], departments, files[c.id], names) | {"alert": plans.get(c.id)} for c in items
    ]


@api.get("/credentials")
@signed_in
def list_credentials():
    """设备操作证管理 / 设备配置许可证管理 / 人员资质管理: one list per `kind`."""
    actor = current_actor()
    require_institution_staff(actor)
    kind = query_enum("kind", CredentialKind)
    if kind is None:
        raise InvalidInput({"kind": "必填"})
    config = current_app.config
    per_page = query_int("per_page", config["DEFAULT_PAGE_SIZE"], maximum=config["MAX_PAGE_SIZE"])
    page = credentials.list_credentials(
        actor,
        kind=kind,
        page=query_int("page", 1),
        per_page=per_page,
        keyword=query_str("q", max_length=100),
        department_id=query_int("department_id"),
        category=query_str("category", max_length=50),
    )
    covered = credentials.covered_devices([credential.id for credential in page.items])
    departments = devices.department_names(actor.institution_id)
    return jsonify(
        {
            "items": [credential_row_json(c, covered[c.id], departments) for c in page.items],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
        }
    )


@api.post("/credentials")
@signed_in
def create_credential():
    """新增: from 证照管理 (one or more devices) or a device's tab (device_ids = [that device])."""
    body = parse_body(CREATE_SCHEMA)
    with alert_errors_under():
        credential = credentials.create_credential(
            current_actor(),
            body["kind"],
            form_fields(body),
            body.get("device_ids") or [],
            alert=alert_settings(body.get("alert"), allow_send_time=False),
        )
    commit()
    return jsonify(payloads([credential])[0]), 201


@api.get("/credentials/<int:credential_id>")
@signed_in
def credential_detail(credential_id: int):
    return jsonify(payloads([credentials.get_credential(current_actor(), credential_id)])[0])


@api.put("/credentials/<int:credential_id>")
@signed_in
def update_credential(credential_id: int):
    """修改: the whole form again, devices included."""
    body = parse_body(UPDATE_SCHEMA)
    with alert_errors_under():
        credential = credentials.update_credential(
            current_actor(),
            credential_id,
            form_fields(body),
            body.get("device_ids") or [],
            kind=body.get("kind"),
            alert=alert_settings(body.get("alert"), allow_send_time=False),
        )
    commit()
    return jsonify(payloads([credential])[0])


@api.delete("/credentials/<int:credential_id>")
@signed_in
def delete_credential(credential_id: int):
    credentials.delete_credential(current_actor(), credential_id)
    commit()
    return "", 204


@api.get("/devices/<int:device_id>/credentials")
@signed_in
def device_credentials(device_id: int):
    """A device's 操作证 / 配置许可证 tab (`kind`; every kind without it)."""
    actor = current_actor()
    require_institution_staff(actor)
    kind = query_enum("kind", CredentialKind)
    return jsonify({"items": payloads(credentials.credentials_of_device(actor, device_id, kind))})


@api.get("/credentials/<int:credential_id>/attachments")
@signed_in
def list_attachments(credential_id: int):
    found = credentials.list_attachments(current_actor(), credential_id)
    return jsonify({"items": [attachment_json(attachment) for attachment in found]})


@api.post("/credentials/<int:credential_id>/attachments")
@signed_in
def add_attachment(credential_id: int):
    """上传: multipart `file`, a JPG, PNG or PDF of at most 10 MB."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput({"file": "请上传文件"})
    # One byte past the limit is enough to refuse it; never hold more than that.
    data = upload.stream.read(MAX_ATTACHMENT_BYTES + 1)
    attachment = credentials.add_attachment(
        current_actor(), credential_id, Upload(upload.filename or "", upload.mimetype, data)
    )
    commit()
    return jsonify(attachment_json(attachment)), 201


def _ascii_filename(filename: str, attachment_id: int) -> str:
    """The plain filename= for clients that ignore filename*; the real name travels there."""
    stem, dot, extension = filename.rpartition(".")
    safe_extension = re.sub(r"[^A-Za-z0-9]", "", extension) if dot else ""
    safe_stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem if dot else filename).strip("._") or f"attachment-{attachment_id}"
    return f"{safe_stem}.{safe_extension}" if safe_extension else safe_stem


@api.get("/credentials/<int:credential_id>/attachments/<int:attachment_id>")
@signed_in
def download_attachment(credential_id: int, attachment_id: int):
    """The file as a download; `?inline=1` shows it in a tab (all attachments are PDF, JPG or PNG)."""
    attachment = credentials.get_attachment(current_actor(), credential_id, attachment_id)
    # Cleaned again on the way out: rows stored before the rule was tightened are named by it too.
    filename = credentials.clean_filename(attachment.filename, attachment.content_type)
    return file_response(
        attachment.data,
        attachment.content_type,
        filename=filename,
        ascii_filename=_ascii_filename(filename, attachment.id),
    )


@api.delete("/credentials/<int:credential_id>/attachments/<int:attachment_id>")
@signed_in
def delete_attachment(credential_id: int, attachment_id: int):
    credentials.delete_attachment(current_actor(), credential_id, attachment_id)
    commit()
    return "", 204
