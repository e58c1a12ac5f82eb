"""扫码: what the mini-program shows after scanning a device's QR sticker (or typing its 唯一码).

The sticker encodes PUBLIC_BASE_URL + /d/<link_token> (console_api.links); WeChat opens the
mini-program with that link URL-encoded as `q`. A device is found only among those the caller
may see (operations.access.visible_devices): the own institution's, or a vendor's through an
active authorization. Anything else is 404 设备不存在, whichever reason.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from flask import current_app, jsonify

from console_api.http import current_actor
from console_api.route_table import request_query
from console_api.validation import Field
from miniprogram_api.http import route
from miniprogram_api.order_shapes import mp_rows
from models import Department, Device, Institution, Scope, db
from models.device import ARCHIVE_STATUS_LABELS
from models.work_order import DEVICE_CONDITION_LABELS
from operations.access import granted_scopes, visible_devices
from operations.errors import Conflict, InvalidInput, NotFound
from operations.work_orders import orders as work_orders

LINK_PATH = re.compile(r"/d/([A-Za-z0-9_-]{1,64})/?")
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
CODE_SCENE_PREFIX = "d="  # console_api.device_code_views writes it
UNIQUE_CODE = re.compile(r"[0-9A-Za-z-]{1,20}")
NOT_OURS = "不是本平台的设备二维码"


def parse_scan(raw: str) -> tuple[str, str]:
    """("link_token", token) or ("unique_code", code) from what was scanned or typed."""
    text = raw.strip()
    for _ in range(2):  # the mini-program may hand `q` on still encoded once
        if "%" not in text:
            break
        text = unquote(text).strip()
    if text.startswith(CODE_SCENE_PREFIX):  # the scene of a mini-program code (getwxacodeunlimit)
        token = text.removeprefix(CODE_SCENE_PREFIX)
        if not TOKEN.fullmatch(token):
            raise InvalidInput({"q": NOT_OURS})
        return "link_token", token
    if "://" in text:
        parts = urlsplit(text)
        base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
        match = LINK_PATH.fullmatch(parts.path.removeprefix(base.path.rstrip("/")))
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != base.netloc.lower() or match is None:
            raise InvalidInput({"q": NOT_OURS})
        return "link_token", match.group(1)
    if UNIQUE_CODE.fullmatch(text):
        return "unique_code", text
    raise InvalidInput({"q": "请扫描设备二维码或输入设备唯一码"})


def find_device(raw: str) -> Device:
    kind, value = parse_scan(raw)
    actor = current_actor()
    column = Device.link_token if kind == "link_token" else Device.unique_code
    found = list(db.session.scalars(visible_devices(actor).where(column == value).limit(2)))
    if not found:
        raise NotFound("设备不存在")
    if len(found) > 1:  # a vendor serving two hospitals whose 唯一码 coincide
        raise Conflict("多家医疗机构存在该唯一码，请扫描设备二维码")
    return found[0]


def device_card(device: Device) -> dict:
    actor = current_actor()
    scopes = granted_scopes(actor, device)
    department = db.session.get(Department, device.department_id)
    institution = db.session.get(Institution, device.institution_id)
    may_report = work_orders.may_report(actor, device)
    return {
        "id": device.id,
        "name": device.name,
        "unique_code": device.unique_code,
        "model": device.model,
        "institution_id": device.institution_id,
        "institution": institution.name if institution else None,
        "department_id": device.department_id,
        "department": department.name if department else None,
        "archive_status": device.archive_status.value,
        "archive_status_label": ARCHIVE_STATUS_LABELS[device.archive_status],
        "running_state": device.running_state.value,
        "running_state_label": DEVICE_CONDITION_LABELS[device.running_state],
        "scopes": [scope.value for scope in Scope if scope in scopes],
        "open_orders": mp_rows(work_orders.open_orders_of_device(actor, device.id)),
        "can_report": may_report,
        "device_token": device.link_token if may_report else None,
    }


SCAN_QUERY = {
    "q": Field(
        "str",
        required=True,
        max_length=1000,
        description="扫码得到的设备链接（可 URL 编码）、小程序码的 scene 或设备唯一码",
    )
}


@route("GET", "/scan", "扫码查看设备卡片及其未完成工单", query=SCAN_QUERY, response="DeviceCard", errors=(404, 409))
def scan():
    return jsonify(device_card(find_device(request_query()["q"])))


@route("GET", "/devices/<int:device_id>", "设备卡片（按设备 id）", response="DeviceCard")
def device_detail(device_id: int):
    device = db.session.scalar(visible_devices(current_actor()).where(Device.id == device_id))
    if device is None:
        raise NotFound("设备不存在")
    return jsonify(device_card(device))
