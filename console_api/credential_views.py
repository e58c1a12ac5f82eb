"""证照管理: the 设备操作证 / 配置许可证 / 人员资质 lists, the form, a device's tabs, attachments."""

from __future__ import annotations

from flask import jsonify, request

from console_api.alert_views import ALERT_FIELD, alert_errors_under, alert_plans_of, alert_settings
from console_api.credential_serializers import attachment_json, credential_json, credential_row_json
from console_api.http import ascii_fallback, bounded_upload, commit, current_actor, file_response
from console_api.route_table import request_body, request_query
from console_api.routes import DOCUMENTS, INLINE_QUERY, ONE_FILE, paging, route
from console_api.validation import Field
from models import AlertPlan, CredentialKind, Gender, User, db
from models.credential import DEFAULT_SEND_TIME, DEFAULT_WARN_DAYS, MAX_WARN_DAYS
from operations import credentials, devices
from operations.access import require_institution_staff
from operations.credentials import EDITABLE_FIELDS, MAX_DEVICES
from operations.errors import InvalidInput
from operations.uploads import MAX_ATTACHMENT_BYTES, clean_filename

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
CREATE_SCHEMA = {
    "kind": Field("enum", required=True, enum=CredentialKind),
    "device_ids": DEVICE_IDS,
    "alert": ALERT_FIELD,
    **FIELDS_SCHEMA,
}
# PUT sends the whole form again: what it leaves out is cleared (warn_days / send_time: defaults).
UPDATE_SCHEMA = {
    "kind": Field("enum", enum=CredentialKind),
    "device_ids": DEVICE_IDS,
    "alert": ALERT_FIELD,
    **FIELDS_SCHEMA,
}
LIST_QUERY = {
    "kind": Field("enum", required=True, enum=CredentialKind, description="设备操作证、配置许可证或人员资质"),
    "q": Field("str", max_length=100, description="证件号、持证人、设备名称关键字"),
    "department_id": Field("int", minimum=1),
    "category": Field("str", max_length=50, description="设备类型"),
    **paging(),
}
TAB_QUERY = {"kind": Field("enum", enum=CredentialKind, description="不给出时为全部证照")}
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


@route("GET", "/credentials", "证照列表（按种类）", query=LIST_QUERY, response="CredentialPage")
def list_credentials():
    """设备操作证管理 / 设备配置许可证管理 / 人员资质管理: one list per `kind`."""
    actor = current_actor()
    require_institution_staff(actor, credentials.READERS)
    query = request_query()
    page = credentials.list_credentials(
        actor,
        kind=query["kind"],
        page=query["page"],
        per_page=query["per_page"],
        keyword=query["q"],
        department_id=query["department_id"],
        category=query["category"],
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


@route("POST", "/credentials", "新增证照", body=CREATE_SCHEMA, response="Credential", status=201, errors=(409,))
def create_credential():
    """新增: from 证照管理 (one or more devices) or a device's tab (device_ids = [that device])."""
    body = request_body()
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


@route("GET", "/credentials/<int:credential_id>", "证照详情", response="Credential")
def credential_detail(credential_id: int):
    return jsonify(payloads([credentials.get_credential(current_actor(), credential_id)])[0])


@route(
    "PUT",
    "/credentials/<int:credential_id>",
    "修改证照（整张表单）",
    body=UPDATE_SCHEMA,
    response="Credential",
    errors=(409,),
)
def update_credential(credential_id: int):
    """修改: the whole form again, devices included."""
    body = request_body()
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


@route("DELETE", "/credentials/<int:credential_id>", "删除证照", status=204)
def delete_credential(credential_id: int):
    credentials.delete_credential(current_actor(), credential_id)
    commit()
    return "", 204


@route("GET", "/devices/<int:device_id>/credentials", "设备的证照页", query=TAB_QUERY, response="CredentialList")
def device_credentials(device_id: int):
    """A device's 操作证 / 配置许可证 tab (`kind`; every kind without it)."""
    actor = current_actor()
    require_institution_staff(actor, credentials.READERS)
    kind = request_query()["kind"]
    return jsonify({"items": payloads(credentials.credentials_of_device(actor, device_id, kind))})


@route("GET", "/credentials/<int:credential_id>/attachments", "证照附件列表", response="AttachmentList")
def list_attachments(credential_id: int):
    found = credentials.list_attachments(current_actor(), credential_id)
    return jsonify({"items": [attachment_json(attachment) for attachment in found]})


@route(
    "POST",
    "/credentials/<int:credential_id>/attachments",
    "上传附件（JPG、PNG、PDF，不超过 10 MB）",
    upload=ONE_FILE,
    response="Attachment",
    status=201,
)
def add_attachment(credential_id: int):
    """上传: multipart `file`, a JPG, PNG or PDF of at most 10 MB."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput({"file": "请上传文件"})
    attachment = credentials.add_attachment(
        current_actor(), credential_id, bounded_upload(upload, MAX_ATTACHMENT_BYTES)
    )
    commit()
    return jsonify(attachment_json(attachment)), 201


@route(
    "GET",
    "/credentials/<int:credential_id>/attachments/<int:attachment_id>",
    "下载附件（?inline=1 在浏览器中打开）",
    query=INLINE_QUERY,
    content=DOCUMENTS,
)
def download_attachment(credential_id: int, attachment_id: int):
    """The file as a download; `?inline=1` shows it in a tab (all attachments are PDF, JPG or PNG)."""
    attachment = credentials.get_attachment(current_actor(), credential_id, attachment_id)
    # Cleaned again on the way out: rows stored before the rule was tightened are named by it too.
    filename = clean_filename(attachment.filename, attachment.content_type)
    return file_response(
        attachment.data,
        attachment.content_type,
        filename=filename,
        ascii_filename=ascii_fallback(filename, attachment.id),
    )


@route("DELETE", "/credentials/<int:credential_id>/attachments/<int:attachment_id>", "删除附件", status=204)
def delete_attachment(credential_id: int, attachment_id: int):
    credentials.delete_attachment(current_actor(), credential_id, attachment_id)
    commit()
    return "", 204
