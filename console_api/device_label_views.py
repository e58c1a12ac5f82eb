"""二维码打印: device QR codes (PNG, SVG) and the printable label sheet."""

from __future__ import annotations

import re

from flask import Response

from console_api.device_labels import (
    PNG_DEFAULT_SIZE,
    PNG_MAX_SIZE,
    PNG_MIN_SIZE,
    Label,
    label_sheet_html,
    qr_png,
    qr_svg,
)
from console_api.http import current_actor, file_response
from console_api.links import device_link_url
from console_api.route_table import request_query
from console_api.routes import BINARY, PNG, route
from console_api.validation import Field
from models import Institution, db
from operations import devices
from operations.access import require_institution_staff
from operations.errors import InvalidInput

MAX_LABELS = 200
# A positive integer without leading zeros, at most 9 digits like a query's int (ids fit any database).
_ID = re.compile(r"[1-9]\d{0,8}")
# The code only encodes the never-changing link, so a browser may keep it; `private` because
# the answer depends on who asks (a vendor loses sight of the device when its authorization ends).
QR_CACHE_CONTROL = "private, max-age=3600"
PNG_QUERY = {
    "size": Field(
        "int", minimum=PNG_MIN_SIZE, maximum=PNG_MAX_SIZE, default=PNG_DEFAULT_SIZE, description="边长（像素）"
    )
}
LABELS_QUERY = {
    "ids": Field(
        "str",
        required=True,
        max_length=MAX_LABELS * 10,
        description=f"设备 id，英文逗号分隔，最多 {MAX_LABELS} 个",
        schema={"pattern": r"^[1-9][0-9]{0,8}(,[1-9][0-9]{0,8})*$"},
    )
}


def label_filename(device, extension: str, prefix: str = "device") -> str:
    # 唯一码 is [0-9A-Za-z-] by rule; filter anyway so the header can never be broken by it.
    safe_code = re.sub(r"[^0-9A-Za-z-]", "", device.unique_code) or str(device.id)
    return f"{prefix}-{safe_code}.{extension}"


@route("GET", "/devices/<int:device_id>/qrcode.png", "设备二维码（PNG）", query=PNG_QUERY, content=PNG)
def device_qrcode_png(device_id: int):
    size = request_query()["size"]
    device, _ = devices.get_device(current_actor(), device_id)
    return file_response(
        qr_png(device_link_url(device), size),
        "image/png",
        filename=label_filename(device, "png"),
        cache_control=QR_CACHE_CONTROL,
    )


@route("GET", "/devices/<int:device_id>/qrcode.svg", "设备二维码（SVG，仅下载）", content={"image/svg+xml": BINARY})
def device_qrcode_svg(device_id: int):
    device, _ = devices.get_device(current_actor(), device_id)
    return file_response(
        qr_svg(device_link_url(device)),
        "image/svg+xml",
        filename=label_filename(device, "svg"),
        cache_control=QR_CACHE_CONTROL,
    )


def parse_ids() -> list[int]:
    """`ids=1,2,3`: distinct positive integers in the order given, at most MAX_LABELS."""
    raw = request_query()["ids"]
    parts = raw.split(",")
    if not all(_ID.fullmatch(part) for part in parts):
        raise InvalidInput({"ids": "应为以英文逗号分隔的正整数，例如 1,2,3"})
    ids = list(dict.fromkeys(int(part) for part in parts))
    if len(ids) > MAX_LABELS:
        raise InvalidInput({"ids": f"一次最多打印 {MAX_LABELS} 个设备的标签"})
    return ids


@route(
    "GET",
    "/devices/labels",
    "二维码打印：所选设备的 A4 标签页（HTML）",
    query=LABELS_QUERY,
    content={"text/html": {"schema": {"type": "string"}}},
    errors=(404,),
)
def device_label_sheet():
    """The A4 label sheet for the chosen devices of the actor's institution, in the order given."""
    actor = current_actor()
    require_institution_staff(actor)
    ids = parse_ids()
    # One visibility check per id: any device the actor may not see fails the whole sheet (404).
    chosen = [devices.get_device(actor, device_id)[0] for device_id in ids]
    department_names = devices.department_names(actor.institution_id)
    institution = db.session.get(Institution, actor.institution_id).name
    labels = [
        Label(
            name=device.name,
            unique_code=device.unique_code,
            department=department_names.get(device.department_id, ""),
            institution=institution,
            url=device_link_url(device),
        )
        for device in chosen
    ]
    response = Response(label_sheet_html(labels), mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-cache"
    # The page holds archive text typed by people; it needs no script, so none may run.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
