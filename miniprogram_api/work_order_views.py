"""工单 in the mini-program: the clinician reports (JSON, or multipart with photos), follows and
confirms / rejects / rates; the engineer works the queue step by step and reads the device's
records within the authorization's scopes.

The bodies, their parsing and the answers' shapes are the PC API's (console_api.work_order_views
and work_order_serializers); the rules are the operations'. Only the photo URLs differ: they
point at this API, which the mini-program's session may fetch.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, jsonify, request, url_for

from console_api.certificate_views import UPLOAD as CERTIFICATE_UPLOAD
from console_api.certificate_views import attach_from_request
from console_api.http import commit, current_actor, file_response
from console_api.route_table import Upload as Multipart
from console_api.route_table import request_body, request_query
from console_api.routes import FILE_PART, INLINE_QUERY, ONE_FILE, PICTURES
from console_api.serializers import device_record_json
from console_api.validation import Field
from console_api.work_order_serializers import (
    photo_json,
    sign_off_json,
    signature_filename,
    work_order_part_json,
)
from console_api.work_order_views import (
    COMPLETE_SCHEMA,
    CREATE_SCHEMA,
    DEPART_SCHEMA,
    DIAGNOSE_SCHEMA,
    ETA_SCHEMA,
    IDEMPOTENCY_NOTE,
    LIST_QUERY,
    NOTE,
    PART_SCHEMA,
    RATE_SCHEMA,
    REASON,
    REPORT_UPLOAD,
    detail_payload,
    list_filters,
    report_once,
)
from miniprogram_api.http import route
from miniprogram_api.order_shapes import mp_rows, with_planned_fields
from miniprogram_api.scan import parse_scan
from models import RecordKind, WorkOrder, WorkOrderKind, WorkOrderSignOff
from models.work_order import work_order_number
from operations import device_records
from operations.clock import LOCAL_TZ
from operations.credentials import Upload
from operations.errors import InvalidInput
from operations.service_plans import raising
from operations.service_plans.plans import PLANNED_KINDS
from operations.work_orders import dispatch, flow, on_site, parts, parts_wait, photo_links
from operations.work_orders import orders as work_orders
from operations.work_orders.orders import MAX_PHOTO_BYTES

BASE = "/work-orders"
ORDER = "/work-orders/<int:work_order_id>"


def detail(order: WorkOrder) -> dict:
    """工单详情 as the PC API shapes it, with photo links into this API."""
    actor = current_actor()
    payload = with_planned_fields(actor, order, detail_payload(actor, order))
    if on_site.may_sign_off(actor, order):  # the mini-program's own step: 客户签字 on this phone
        payload["actions"].append("sign_off")
    for photo in payload["photos"]:
        photo["url"] = photo_url(order.id, photo["id"])
    return payload


def photo_url(work_order_id: int, photo_id: int) -> str:
    """A photo's signed link into this API, good for 10 minutes: `<image>` sends no bearer header
    (the PC's link needs the PC's sign-in)."""
    token = photo_links.photo_token(work_order_id, photo_id, current_app.config["SECRET_KEY"])
    return url_for("miniprogram_api.signed_work_order_photo", token=token)


def answer(order: WorkOrder, status: int = 200):
    """Commit the step, then the order as it now stands (with the caller's next `actions`)."""
    commit()
    return jsonify(detail(order)), status


# --- 报修 and reading -------------------------------------------------------------------------


@route(
    "POST",
    BASE,
    f"报修：设备用 device_id、unique_code 或二维码的 device_token 指定；可 multipart 上传照片。{IDEMPOTENCY_NOTE}",
    body=CREATE_SCHEMA,
    upload=REPORT_UPLOAD,
    response="WorkOrderDetail",
    status=201,
)
def create_work_order():
    order, created = report_once(current_actor())
    return answer(order, 201 if created else 200)


@route("GET", BASE, "工单列表（mine=reported 为我报修的）", query=LIST_QUERY, response="WorkOrderPage")
def list_work_orders():
    query = request_query()
    page = work_orders.list_orders(
        current_actor(), page=query["page"], per_page=query["per_page"], **list_filters(query)
    )
    return jsonify({"items": mp_rows(page.items), "total": page.total, "page": page.page, "per_page": page.per_page})


@route("GET", f"{BASE}/queue", "工程师的待办工单：派给我的，或等我方接单的（紧急优先）", response="WorkOrderList")
def work_order_queue():
    return jsonify({"items": mp_rows(work_orders.queue_of(current_actor()))})


@route(
    "GET",
    f"{BASE}/to-confirm",
    "待我确认：已完成、等我确认的工单（我报修的，计划工单中我是科室联系人的；计划没有联系人时为设备科）",
    response="WorkOrderList",
)
def work_orders_to_confirm():
    return jsonify({"items": mp_rows(work_orders.to_confirm_of(current_actor()))})


PLANNED_QUERY = {
    "kind": Field("enum", enum=WorkOrderKind, required=True, description="maintenance（保养）或 metrology（计量）"),
    "raised": Field(
        "str",
        required=True,
        max_length=12,
        description="生成工单的那一分钟（北京时间 YYYYMMDDHHMM），汇总消息的页面链接给出",
        schema={"pattern": r"^\d{12}$"},
    ),
}


@route(
    "GET",
    f"{BASE}/planned",
    "计划工单汇总消息（今日新增保养 / 计量工单 N 张）打开的列表：那一分钟按计划生成的、我能看到的工单",
    query=PLANNED_QUERY,
    response="WorkOrderList",
)
def planned_work_orders():
    query = request_query()
    kind = query["kind"]
    if kind not in PLANNED_KINDS:
        raise InvalidInput({"kind": "计划工单的类型须为保养（maintenance）或计量（metrology）"})
    raised = query["raised"].strip()
    try:
        if not (len(raised) == 12 and raised.isascii() and raised.isdigit()):
            raise ValueError(raised)
        minute = datetime.strptime(raised, "%Y%m%d%H%M").replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise InvalidInput({"raised": "应为 YYYYMMDDHHMM 格式的时间（北京时间）"}) from None
    return jsonify({"items": mp_rows(raising.raised_together(current_actor(), kind, minute))})


@route("GET", ORDER, "工单详情（含时间线和当前可执行的操作 actions）", response="WorkOrderDetail")
def work_order_detail(work_order_id: int):
    return jsonify(detail(work_orders.get_order(current_actor(), work_order_id)))


@route(
    "GET",
    f"{ORDER}/photos/<int:photo_id>",
    "工单照片（图片文件；?inline=1 在浏览器中打开）",
    query=INLINE_QUERY,
    content=PICTURES,
)
def work_order_photo(work_order_id: int, photo_id: int):
    photo = work_orders.get_photo(current_actor(), work_order_id, photo_id)
    extension = "png" if photo.content_type == "image/png" else "jpg"
    filename = f"{work_order_number(work_order_id)}-{photo.id}.{extension}"
    return file_response(photo.data, photo.content_type, filename=filename)


@route(
    "GET",
    "/photo-links/<token>",
    "工单照片（签名链接，10 分钟内有效，供 <image> 显示；链接由工单详情和上传照片的答复给出）",
    auth="none",
    content=PICTURES,
)
def signed_work_order_photo(token: str):
    photo = photo_links.photo_by_token(token[:500], current_app.config["SECRET_KEY"])
    extension = "png" if photo.content_type == "image/png" else "jpg"
    filename = f"{work_order_number(photo.work_order_id)}-{photo.id}.{extension}"
    # The link is the permission: a shared cache must not keep the picture past it.
    return file_response(photo.data, photo.content_type, filename=filename, cache_control="private, max-age=600")


@route(
    "POST",
    f"{ORDER}/photos",
    "补充照片（multipart 字段 file，JPG/PNG，不超过 5 MB）",
    upload=ONE_FILE,
    response="Photo",
    status=201,
    errors=(409,),
)
def add_work_order_photo(work_order_id: int):
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput({"file": "请上传照片"})
    data = upload.stream.read(MAX_PHOTO_BYTES + 1)
    photo = work_orders.add_photo(current_actor(), work_order_id, Upload(upload.filename or "", upload.mimetype, data))
    commit()
    return jsonify(photo_json(photo) | {"url": photo_url(photo.work_order_id, photo.id)}), 201


# --- the clinician's steps ---------------------------------------------------------------------


@route(
    "POST",
    f"{ORDER}/confirm",
    "报修人确认维修完成（服务报告签收）",
    body=NOTE,
    body_required=False,
    response="WorkOrderDetail",
    errors=(409,),
)
def confirm_work_order(work_order_id: int):
    return answer(flow.confirm(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    f"{ORDER}/reject",
    "报修人驳回：未修好，退回工程师",
    body=REASON,
    response="WorkOrderDetail",
    errors=(409,),
)
def reject_work_order(work_order_id: int):
    return answer(flow.reject(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    f"{ORDER}/rate",
    "满意度评价（1–5 分）",
    body=RATE_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def rate_work_order(work_order_id: int):
    return answer(flow.rate(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    f"{ORDER}/cancel",
    "撤销工单（报修人或设备科）",
    body=REASON,
    response="WorkOrderDetail",
    errors=(409,),
)
def cancel_work_order(work_order_id: int):
    return answer(flow.cancel(current_actor(), work_order_id, **request_body()))


# --- the engineer's steps ----------------------------------------------------------------------


@route("POST", f"{ORDER}/accept", "工程师接单", body={}, body_required=False, response="WorkOrderDetail", errors=(409,))
def accept_work_order(work_order_id: int):
    request_body()
    return answer(flow.accept(current_actor(), work_order_id))


@route(
    "POST",
    f"{ORDER}/depart",
    "工程师出发（可同时给出预计到场时间）",
    body=DEPART_SCHEMA,
    body_required=False,
    response="WorkOrderDetail",
    errors=(409,),
)
def depart_work_order(work_order_id: int):
    return answer(flow.depart(current_actor(), work_order_id, **request_body()))


ARRIVE_SCHEMA = {
    "q": Field("str", max_length=1000, description="到场时扫描设备二维码得到的内容（链接或小程序码 scene）"),
    "reason": Field("str", max_length=500, description="没有二维码可扫时：未扫码的原因（时间线显示「未扫码到场」）"),
}


@route(
    "POST",
    f"{ORDER}/arrive",
    "工程师到场：扫描本工单设备的二维码（q），或填写未扫码的原因（reason）",
    body=ARRIVE_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def arrive_work_order(work_order_id: int):
    body = request_body()
    token = None
    if body.get("q"):
        kind, value = parse_scan(body["q"])
        if kind != "link_token":  # a typed 唯一码 proves nobody stood at the device
            raise InvalidInput({"q": "请扫描设备上的二维码"})
        token = value
    return answer(on_site.arrive(current_actor(), work_order_id, scanned_token=token, reason=body.get("reason")))


@route(
    "POST",
    f"{ORDER}/eta",
    "预计到场时间（出发前与客户确认）",
    body=ETA_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def set_work_order_eta(work_order_id: int):
    return answer(dispatch.set_eta(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    f"{ORDER}/diagnose",
    "故障诊断",
    body=DIAGNOSE_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def diagnose_work_order(work_order_id: int):
    return answer(flow.diagnose(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    f"{ORDER}/wait-parts",
    "待备件：等待备件（完成时限暂停），填写原因",
    body=REASON,
    response="WorkOrderDetail",
    errors=(409,),
)
def wait_parts_work_order(work_order_id: int):
    return answer(parts_wait.wait_for_parts(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    f"{ORDER}/parts-arrived",
    "备件到货：回到等待前的步骤",
    body=NOTE,
    body_required=False,
    response="WorkOrderDetail",
    errors=(409,),
)
def parts_arrived_work_order(work_order_id: int):
    return answer(parts_wait.parts_arrived(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    f"{ORDER}/complete",
    "维修完成，提交服务报告",
    body=COMPLETE_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def complete_work_order(work_order_id: int):
    return answer(flow.complete(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    f"{ORDER}/certificate",
    "上传计量证书（wx.uploadFile：file 为证书 PDF 或图片，formData 为证书编号等字段；计量工单完成前必须上传）",
    upload=CERTIFICATE_UPLOAD,
    response="Certificate",
    status=201,
    errors=(409,),
)
def attach_work_order_certificate(work_order_id: int):
    return attach_from_request(work_order_id)


@route(
    "POST",
    f"{ORDER}/parts",
    "登记更换的备件（型号、序列号）",
    body=PART_SCHEMA,
    response="Part",
    status=201,
    errors=(409,),
)
def add_work_order_part(work_order_id: int):
    part = parts.add_part(current_actor(), work_order_id, **request_body())
    commit()
    return jsonify(work_order_part_json(part)), 201


RECORD_KINDS = "<any(repair, maintenance, metrology):kind>"


@route(
    "GET",
    f"/devices/<int:device_id>/records/{RECORD_KINDS}",
    "设备的维修 / 保养 / 计量记录（服务商仅限授权范围）",
    response="RecordList",
)
def list_device_records(device_id: int, kind: str):
    records = device_records.list_device_records(current_actor(), device_id, RecordKind(kind))
    return jsonify({"items": [device_record_json(record) for record in records]})


# --- 客户签字 -----------------------------------------------------------------------------------

SIGN_OFF_UPLOAD = Multipart(
    {"file": FILE_PART, "signer_name": {"type": "string", "maxLength": 50, "description": "签字人姓名"}},
    required=("file", "signer_name"),
)


def signed_sign_off_json(record: WorkOrderSignOff) -> dict:
    """A sign-off with its signature as a signed link into this API (`<image>` sends no bearer)."""
    token = photo_links.signature_token(record.work_order_id, record.id, current_app.config["SECRET_KEY"])
    return sign_off_json(record, url_for("miniprogram_api.signed_signature", token=token))


@route(
    "POST",
    f"{ORDER}/sign-offs",
    "客户签字（multipart：file 为签名 PNG，signer_name 为签字人姓名）：在工程师手机上，"
    "签字人为报修联系人且填写本人姓名时即确认工单；报修人在本人手机上签字即确认工单",
    upload=SIGN_OFF_UPLOAD,
    response="SignOff",
    status=201,
    errors=(409,),
)
def sign_off_work_order(work_order_id: int):
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput({"file": "请先签名"})
    data = upload.stream.read(on_site.MAX_SIGNATURE_BYTES + 1)
    record = on_site.sign_off(
        current_actor(),
        work_order_id,
        signer_name=request.form.get("signer_name", ""),
        signature=Upload(upload.filename or "", upload.mimetype, data),
    )
    commit()
    return jsonify(signed_sign_off_json(record)), 201


@route("GET", f"{ORDER}/sign-offs", "工单的客户签字记录", response="SignOffList")
def list_work_order_sign_offs(work_order_id: int):
    records = on_site.sign_offs_of(current_actor(), work_order_id)
    return jsonify({"items": [signed_sign_off_json(record) for record in records]})


@route(
    "GET",
    "/signature-links/<token>",
    "客户签名图片（签名链接，10 分钟内有效，供 <image> 显示；链接由签字记录给出）",
    auth="none",
    content={"image/png": PICTURES["image/png"]},
)
def signed_signature(token: str):
    record = photo_links.signature_by_token(token[:500], current_app.config["SECRET_KEY"])
    return file_response(
        record.image, record.content_type, filename=signature_filename(record), cache_control="private, max-age=600"
    )
