"""工单 in the mini-program: the clinician reports (JSON, or multipart with photos), follows and
confirms / rejects / rates; the engineer works the queue step by step and reads the device's
records within the authorization's scopes.

The bodies, their parsing and the answers' shapes are the PC API's (console_api.work_order_views
and work_order_serializers); the rules are the operations'. Only the photo URLs differ: they
point at this API, which the mini-program's session may fetch.
"""

from __future__ import annotations

from flask import jsonify, request, url_for

from console_api.http import commit, current_actor, file_response
from console_api.route_table import request_body, request_query
from console_api.routes import INLINE_QUERY, ONE_FILE, PICTURES
from console_api.serializers import device_record_json
from console_api.work_order_serializers import photo_json, work_order_part_json
from console_api.work_order_views import (
    COMPLETE_SCHEMA,
    CREATE_SCHEMA,
    DEPART_SCHEMA,
    DIAGNOSE_SCHEMA,
    LIST_QUERY,
    NOTE,
    PART_SCHEMA,
    RATE_SCHEMA,
    REASON,
    REPORT_UPLOAD,
    detail_payload,
    list_filters,
    report_from_request,
    rows,
)
from miniprogram_api.http import route
from models import RecordKind, WorkOrder
from models.work_order import work_order_number
from operations import device_records
from operations.credentials import Upload
from operations.errors import InvalidInput
from operations.work_orders import flow
from operations.work_orders import orders as work_orders
from operations.work_orders.orders import MAX_PHOTO_BYTES

BASE = "/work-orders"
ORDER = "/work-orders/<int:work_order_id>"


def detail(order: WorkOrder) -> dict:
    """工单详情 as the PC API shapes it, with photo links into this API."""
    payload = detail_payload(current_actor(), order)
    for photo in payload["photos"]:
        photo["url"] = photo_url(order.id, photo["id"])
    return payload


def photo_url(work_order_id: int, photo_id: int) -> str:
    """A photo's link into this API (the PC's needs the PC's sign-in)."""
    return url_for("miniprogram_api.work_order_photo", work_order_id=work_order_id, photo_id=photo_id)


def answer(order: WorkOrder, status: int = 200):
    """Commit the step, then the order as it now stands (with the caller's next `actions`)."""
    commit()
    return jsonify(detail(order)), status


# --- 报修 and reading -------------------------------------------------------------------------


@route(
    "POST",
    BASE,
    "报修：设备用 device_id、unique_code 或二维码的 device_token 指定；可 multipart 上传照片",
    body=CREATE_SCHEMA,
    upload=REPORT_UPLOAD,
    response="WorkOrderDetail",
    status=201,
)
def create_work_order():
    return answer(report_from_request(current_actor()), 201)


@route("GET", BASE, "工单列表（mine=reported 为我报修的）", query=LIST_QUERY, response="WorkOrderPage")
def list_work_orders():
    query = request_query()
    page = work_orders.list_orders(
        current_actor(), page=query["page"], per_page=query["per_page"], **list_filters(query)
    )
    return jsonify({"items": rows(page.items), "total": page.total, "page": page.page, "per_page": page.per_page})


@route("GET", f"{BASE}/queue", "工程师的待办工单：派给我的，或等我方接单的（紧急优先）", response="WorkOrderList")
def work_order_queue():
    return jsonify({"items": rows(work_orders.queue_of(current_actor()))})


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


@route(
    "POST",
    f"{ORDER}/arrive",
    "工程师到场",
    body=NOTE,
    body_required=False,
    response="WorkOrderDetail",
    errors=(409,),
)
def arrive_work_order(work_order_id: int):
    return answer(flow.arrive(current_actor(), work_order_id, **request_body()))


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
    f"{ORDER}/parts",
    "登记更换的备件（型号、序列号）",
    body=PART_SCHEMA,
    response="Part",
    status=201,
    errors=(409,),
)
def add_work_order_part(work_order_id: int):
    part = flow.add_part(current_actor(), work_order_id, **request_body())
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
