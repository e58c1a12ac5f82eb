"""工单: 报修 (with photos), the lists and the engineer's queue, the detail with its timeline and
the steps of the after-sales SOP, parts, photos, dispatch, and the polling feed.

Every step is one operation (operations.work_orders.flow / work_order_dispatch): the view parses
the body, calls it, commits, and answers the order's detail again, with the `actions` the caller
may take now so the page shows the right buttons. Notices go out through the outbox after the
commit; nothing here sends anything. The live feed for the PC page is in work_order_stream.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from flask import jsonify, request
from sqlalchemy import select

from console_api.checklist_schema import RESULTS
from console_api.http import commit, current_actor, file_response
from console_api.route_table import Upload as Multipart
from console_api.route_table import request_body, request_query
from console_api.routes import BINARY, FILE_PART, INLINE_QUERY, ONE_FILE, PICTURES, paging, route
from console_api.serializers import moment, record_with_document_json
from console_api.validation import (
    CONTROL_CHARS,
    Field,
    decode_json_object,
    json_body,
    parse_fields,
)
from console_api.work_order_serializers import (
    People,
    candidate_json,
    event_json,
    order_detail_json,
    order_row_json,
    photo_json,
    sign_off_json,
    signature_filename,
    work_order_part_json,
)
from models import (
    Department,
    User,
    Vendor,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderKind,
    WorkOrderPart,
    WorkOrderStatus,
    db,
)
from models.work_order import (
    OPEN_STATUSES,
    WORK_ORDER_STATUS_LABELS,
    DeviceCondition,
    FaultFrequency,
    FaultLevel,
    PartOrigin,
    ReplacedPartFate,
    Urgency,
    work_order_number,
)
from operations import devices
from operations.access import require_institution_staff
from operations.actors import Actor
from operations.credentials import Upload
from operations.errors import Conflict, InvalidInput
from operations.work_orders import dispatch, flow, on_site, parts, parts_wait, report_pdf, sla
from operations.work_orders import orders as work_orders
from operations.work_orders.access import device_seen_by, is_dispatcher_for, is_requester, is_worker_for
from operations.work_orders.flow import PART_STATUSES, STEPS, allowed_steps
from operations.work_orders.orders import CONTACT_KINDS, MAX_CONTACTS, MAX_PHOTO_BYTES, MAX_PHOTOS

S = WorkOrderStatus
FEED_LIMIT = 200
RATING = {"minimum": 1, "maximum": 5}


class OrderField(Field):
    """The list shape a work-order body has beyond the shared kinds."""

    def _parse_contact_methods(self, value: Any) -> list[work_orders.ContactMethod]:
        """[{kind: mobile|landline|wechat|email, value}], at most five."""
        if not isinstance(value, list) or any(not isinstance(item, dict) for item in value):
            raise ValueError("应为联系方式列表，每项包含 kind 和 value")
        if len(value) > self.max_items:
            raise ValueError(f"最多 {self.max_items} 种联系方式")
        methods = []
        for item in value:
            if set(item) - {"kind", "value"}:
                raise ValueError("每项只能包含 kind 和 value")
            if not isinstance(item.get("kind"), str) or item["kind"] not in CONTACT_KINDS:
                raise ValueError(f"联系方式类型应为 {'、'.join(CONTACT_KINDS)} 之一")
            text = item.get("value")
            if not isinstance(text, str) or len(text.strip()) > 100:
                raise ValueError("联系方式应为不超过 100 个字符的文本")
            if CONTROL_CHARS.search(text):
                raise ValueError("联系方式包含不允许的控制字符")
            methods.append(work_orders.ContactMethod(item["kind"], text.strip()))
        return methods


DEVICE_KEYS = ("device_id", "unique_code", "device_token")
CREATE_SCHEMA = {
    "device_id": Field("int", minimum=1),
    "unique_code": Field("str", max_length=20),
    "device_token": Field("str", max_length=64),
    "kind": Field("enum", enum=WorkOrderKind, nullable=False),
    "urgency": Field("enum", enum=Urgency, nullable=False),
    "contact_name": Field("str", max_length=50),
    "contact_methods": OrderField("contact_methods", max_items=MAX_CONTACTS),
    "department_id": Field("int", minimum=1),
    "fault_description": Field("str", max_length=2000),
    "fault_occurred_at": Field("datetime"),
    "fault_frequency": Field("enum", enum=FaultFrequency),
    "error_message": Field("str", max_length=200),
    "recent_changes": Field("str", max_length=500),
    "expected_outcome": Field("str", max_length=500),
    "expected_by": Field("datetime"),
}
NOTE = {"note": Field("str", max_length=500)}
REASON = {"reason": Field("str", required=True, max_length=500)}
DIAGNOSE_SCHEMA = {
    "diagnosis": Field("str", required=True, max_length=2000),
    "fault_level": Field("enum", enum=FaultLevel),
}
COMPLETE_SCHEMA = {
    "work_done": Field("str", required=True, max_length=4000),
    "test_result": Field("str", required=True, max_length=500),
    "test_passed": Field("bool", required=True),
    "device_condition": Field("enum", required=True, enum=DeviceCondition),
    "diagnosis": Field("str", max_length=2000),
    "checklist": RESULTS,
}
RATE_SCHEMA = {
    "rating": Field("int", required=True, **RATING),
    "response": Field("int", **RATING),
    "skill": Field("int", **RATING),
    "attitude": Field("int", **RATING),
    "comment": Field("str", max_length=500),
}
FOLLOW_UP_SCHEMA = {
    "note": Field("str", required=True, max_length=1000),
    "improvement_action": Field("str", max_length=1000),
}
ASSIGN_SCHEMA = {"engineer_id": Field("int", minimum=1), **NOTE}
TRIAGE_SCHEMA = {"fault_level": Field("enum", required=True, enum=FaultLevel), **NOTE}
ETA_SCHEMA = {"eta": Field("datetime", required=True, description="预计到场时间")}
# 出发 with the ETA agreed with the reporter, if any, in one step (changed later through /eta).
DEPART_SCHEMA = {
    **NOTE,
    "eta": Field("datetime", description="预计到场时间（选填，现在之后的 60 天内），与出发一并保存"),
}
PART_SCHEMA = {
    "name": Field("str", required=True, max_length=100),
    "model": Field("str", max_length=100),
    "serial_number": Field("str", max_length=100),
    "quantity": Field("int", minimum=1, maximum=999, nullable=False),
    "origin": Field("enum", enum=PartOrigin, description="备件来源：原厂 / 认证合格"),
    "valid_until": Field("date", description="备件有效期至（不早于今天）"),
    "replaced_part": Field("enum", enum=ReplacedPartFate, description="旧件去向"),
    "note": Field("str", max_length=200),
}
SKILLS_SCHEMA = {"categories": OrderField("str_list", required=True, nullable=False, max_items=dispatch.MAX_SKILLS)}
# 报修 as multipart: the same JSON in `data`, and the photos.
REPORT_UPLOAD = Multipart(
    {
        "data": {"type": "string", "description": "与 JSON 请求体相同的内容（JSON 文本）"},
        "photos": {"type": "array", "items": FILE_PART, "maxItems": MAX_PHOTOS},
    },
    required=("data",),
)


class Mine(enum.StrEnum):
    REPORTED = "reported"  # 我报修的
    ASSIGNED = "assigned"  # 派给我的


STATUSES = ",".join(status.value for status in WorkOrderStatus)
LIST_QUERY = {
    "status": Field(
        "str",
        max_length=200,
        description=f"状态，多个用英文逗号分隔：{STATUSES}",
        schema={"pattern": rf"^({'|'.join(WorkOrderStatus)})(,({'|'.join(WorkOrderStatus)}))*$"},
    ),
    "open": Field("bool", description="true：只看未完结的"),
    "kind": Field("enum", enum=WorkOrderKind),
    "urgency": Field("enum", enum=Urgency),
    "vendor_id": Field("int", minimum=1),
    "in_house": Field("bool", description="true：只看院内工程师处理的"),
    "device_id": Field("int", minimum=1),
    "department_id": Field("int", minimum=1),
    "mine": Field("enum", enum=Mine, description="reported：我报修的；assigned：派给我的"),
    "keyword": Field("str", max_length=100, description="工单号、设备名称、唯一码、故障描述关键字"),
    "q": Field("str", max_length=100, description="同 keyword"),
    "from": Field("date", description="报修日期起（北京时间）"),
    "to": Field("date", description="报修日期止（含）"),
    **paging(),
}
FEED_QUERY = {
    "after": Field("int", minimum=0, description="上次收到的最后一个事件 id；不给出时从现在开始"),
    "work_order_id": Field("int", minimum=1, description="只看这张工单"),
}


# --- shaping ---------------------------------------------------------------------------------


def people_of(orders: list[WorkOrder], events: list[WorkOrderEvent] = ()) -> People:
    """The users and vendors the orders and events name, in two queries."""
    user_ids = {order.reporter_id for order in orders if order.reporter_id}
    user_ids |= {order.assignee_id for order in orders if order.assignee_id}
    user_ids |= {order.contact_id for order in orders if order.contact_id}
    user_ids |= {event.actor_id for event in events if event.actor_id}
    vendor_ids = {order.vendor_id for order in orders if order.vendor_id}
    users = {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
    vendors = dict(db.session.execute(select(Vendor.id, Vendor.name).where(Vendor.id.in_(vendor_ids))).all())
    return People(users, vendors, sla.deadlines_by_order([order.id for order in orders]))


def events_json(events: list[WorkOrderEvent]) -> list[dict]:
    """Feed items: the events with their actors' names."""
    people = people_of([], events)
    return [event_json(event, people) for event in events]


def rows(orders: list[WorkOrder]) -> list[dict]:
    people = people_of(orders)
    return [order_row_json(order, people) for order in orders]


def actions_for(actor: Actor, order: WorkOrder) -> list[str]:
    """The steps this caller may take now: what the status allows (allowed_steps), narrowed to
    what the operations let this caller do. `close` is the system's own step and never shown."""
    mine = order.assignee_id == actor.user_id
    reporter = is_requester(actor, order)
    dispatcher = is_dispatcher_for(actor, order)
    manager = actor.is_manager and actor.institution_id == order.institution_id
    may = {
        "assign": dispatcher,
        "accept": is_worker_for(actor, order) and order.assignee_id in (None, actor.user_id),
        "depart": mine,
        "arrive": mine,
        "diagnose": mine,
        "complete": mine,
        "wait_parts": mine,
        "parts_arrived": mine,
        "reject": reporter,
        "confirm": reporter,
        "rate": reporter,
        "follow_up": manager,
        "cancel": reporter or manager,
    }
    allowed = set(allowed_steps(order.status))
    found = [name for name in STEPS if name in allowed and may.get(name, False)]
    if mine and order.status in PART_STATUSES:
        found.append("parts")
    if (dispatcher or mine) and order.status in OPEN_STATUSES:
        found.append("triage")
    if (dispatcher or mine) and order.status in dispatch.ETA_STATUSES:
        found.append("eta")
    if (reporter or mine or dispatcher) and order.status not in (S.CLOSED, S.CANCELLED):
        found.append("photos")
    return found


def detail_payload(actor: Actor, order: WorkOrder) -> dict:
    events = work_orders.events_of([order.id])[order.id]
    parts = list(
        db.session.scalars(
            select(WorkOrderPart).where(WorkOrderPart.work_order_id == order.id).order_by(WorkOrderPart.id)
        )
    )
    department = db.session.get(Department, order.department_id)
    return order_detail_json(
        order,
        people_of([order], events),
        device=device_seen_by(actor, order),
        department=department.name if department else None,
        parts=parts,
        photos=work_orders.photos_of(order.id),
        events=events,
        actions=actions_for(actor, order),
    )


def answer(order: WorkOrder, status: int = 200):
    """Commit the step, then the order as it now stands."""
    commit()
    return jsonify(detail_payload(current_actor(), order)), status


# --- 报修 --------------------------------------------------------------------------------------


def _intake_body() -> tuple[dict, list[Upload]]:
    """JSON, or multipart/form-data with the same JSON in `data` and up to nine `photos`."""
    if request.mimetype != "multipart/form-data":
        return json_body(), []
    # A part whose name werkzeug cannot read (`name="\\"`) comes back as None: named "" here, so
    # the refusal stays a 422 rather than failing to encode.
    unknown = {name or "": "不支持的字段" for name in request.form if name != "data"}
    unknown |= {name or "": "不支持的文件字段" for name in request.files if name != "photos"}
    if unknown:
        raise InvalidInput(unknown)
    raw = request.form.get("data")
    if raw is None:
        raise InvalidInput({"data": "必填：报修内容（JSON）"})
    body = decode_json_object(raw, "data")
    files = request.files.getlist("photos")
    if len(files) > MAX_PHOTOS:
        raise InvalidInput({"photos": f"最多上传 {MAX_PHOTOS} 张照片"})
    # One byte past the limit is enough to refuse a photo; never hold more than that.
    uploads = [Upload(file.filename or "", file.mimetype, file.stream.read(MAX_PHOTO_BYTES + 1)) for file in files]
    return body, uploads


def report_from_request(actor: Actor, client_key: str | None = None):
    """报修 from this request's body (JSON, or multipart with photos): the device by id, 唯一码 or
    the token of its QR link; at least two contact methods. The PC and the mini-program share it
    (the mini-program names each 报修 with `client_key`, its Idempotency-Key)."""
    raw, photos = _intake_body()
    body = parse_fields(raw, CREATE_SCHEMA)
    given = [key for key in DEVICE_KEYS if body.get(key) is not None]
    if len(given) > 1:
        raise InvalidInput({key: "设备只能用 device_id、unique_code、device_token 中的一种指定" for key in given})
    require_institution_staff(actor, work_orders.REPORTERS)  # a vendor user is told so, not "no such device"
    device = work_orders.resolve_device(
        actor, device_id=body.get("device_id"), unique_code=body.get("unique_code"), link_token=body.get("device_token")
    )
    intake = work_orders.Intake(
        kind=body.get("kind") or WorkOrderKind.REPAIR,
        urgency=body.get("urgency") or Urgency.NORMAL,
        contact_name=body.get("contact_name") or "",
        contact_methods=body.get("contact_methods") or [],
        department_id=body.get("department_id"),
        fault_description=body.get("fault_description"),
        fault_occurred_at=body.get("fault_occurred_at"),
        fault_frequency=body.get("fault_frequency"),
        error_message=body.get("error_message"),
        recent_changes=body.get("recent_changes"),
        expected_outcome=body.get("expected_outcome"),
        expected_by=body.get("expected_by"),
        photos=photos,
    )
    return work_orders.create_work_order(
        actor,
        device,
        intake,
        client_key=client_key,
    )


IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
IDEMPOTENCY_NOTE = (
    "请求头 Idempotency-Key（选填，8–64 位字母、数字、- 或 _）由客户端为每次报修生成："
    "同一报修人以同一标识重复提交时，答复第一次建立的工单（200），不再新建"
)


def idempotency_key() -> str | None:
    """The Idempotency-Key header: the client's own name for one 报修, 8–64 letters, digits, - or _."""
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not IDEMPOTENCY_KEY.match(raw.strip()):
        raise InvalidInput({"Idempotency-Key": "请求标识应为 8–64 位字母、数字、- 或 _"})
    return raw.strip()


def report_once(actor: Actor) -> tuple[WorkOrder, bool]:
    """报修 from this request, once per Idempotency-Key (a phone resending after a lost answer):
    the order and whether this request made it. Without the header, every request is a new one."""
    key = idempotency_key()
    if key is None:
        return report_from_request(actor), True
    return work_orders.created_or_repeated(actor, key, lambda: report_from_request(actor, key))


@route(
    "POST",
    "/work-orders",
    f"报修（JSON，或 multipart：data 为 JSON，photos 为照片）。{IDEMPOTENCY_NOTE}",
    body=CREATE_SCHEMA,
    upload=REPORT_UPLOAD,
    response="WorkOrderDetail",
    status=201,
)
def create_work_order():
    order, created = report_once(current_actor())
    return answer(order, 201 if created else 200)


# --- reading -----------------------------------------------------------------------------------


def list_filters(query: dict[str, Any]) -> dict[str, Any]:
    """The list operation's keyword arguments from the parsed LIST_QUERY."""
    statuses = []
    for value in (query["status"] or "").split(","):
        if value.strip():
            try:
                statuses.append(WorkOrderStatus(value.strip()))
            except ValueError:
                allowed = "、".join(status.value for status in WorkOrderStatus)
                raise InvalidInput({"status": f"取值应为 {allowed} 之一（多个用逗号分隔）"}) from None
    created_from, created_to = query["from"], query["to"]
    if created_from and created_to and created_from > created_to:
        raise InvalidInput({"from": "开始日期不能晚于结束日期"})
    return {
        "statuses": statuses or None,
        "open_only": bool(query["open"]),
        "kind": query["kind"],
        "urgency": query["urgency"],
        "vendor_id": query["vendor_id"],
        "in_house": bool(query["in_house"]),
        "device_id": query["device_id"],
        "department_id": query["department_id"],
        "reported_by_me": query["mine"] is Mine.REPORTED,
        "assigned_to_me": query["mine"] is Mine.ASSIGNED,
        "keyword": query["keyword"] or query["q"],
        "created_from": created_from,
        "created_to": created_to,
    }


@route("GET", "/work-orders", "工单列表", query=LIST_QUERY, response="WorkOrderPage")
def list_work_orders():
    query = request_query()
    page = work_orders.list_orders(
        current_actor(), page=query["page"], per_page=query["per_page"], **list_filters(query)
    )
    return jsonify({"items": rows(page.items), "total": page.total, "page": page.page, "per_page": page.per_page})


REPORTABLE_QUERY = {
    "q": Field("str", max_length=100, description="设备名称、唯一码、规格型号、设备编码等关键字"),
    **paging(),
}


@route(
    "GET",
    "/work-orders/devices",
    "报修选择设备：本院可报修的设备（未报废），按关键字查找",
    query=REPORTABLE_QUERY,
    response="ReportableDevicePage",
)
def reportable_devices():
    """The 报修 form's device picker: clinicians have no 设备档案 on the PC, yet report on any of
    their hospital's devices (as a QR sticker lets them)."""
    actor = current_actor()
    query = request_query()
    page = work_orders.reportable_devices(actor, keyword=query["q"], page=query["page"], per_page=query["per_page"])
    names = devices.department_names(actor.institution_id)
    vendors = devices.vendor_names_by_device(actor, [device.id for device in page.items])
    items = [
        {
            "id": device.id,
            "unique_code": device.unique_code,
            "name": device.name,
            "model": device.model,
            "department_id": device.department_id,
            "department": names.get(device.department_id),
            "vendors": vendors.get(device.id, []),
        }
        for device in page.items
    ]
    return jsonify({"items": items, "total": page.total, "page": page.page, "per_page": page.per_page})


@route("GET", "/work-orders/queue", "我的工单：派给我的，或等我方接单的（紧急优先）", response="WorkOrderList")
def work_order_queue():
    """我的工单: assigned to me, or waiting for my side to accept; emergencies first."""
    return jsonify({"items": rows(work_orders.queue_of(current_actor()))})


@route(
    "GET",
    "/work-orders/<int:work_order_id>",
    "工单详情（时间线、当前可执行的操作 actions）",
    response="WorkOrderDetail",
)
def work_order_detail(work_order_id: int):
    actor = current_actor()
    return jsonify(detail_payload(actor, work_orders.get_order(actor, work_order_id)))


@route(
    "GET",
    "/work-orders/<int:work_order_id>/history",
    "设备的历史维修记录（服务商在授权范围内）",
    response="DeviceHistory",
)
def work_order_history(work_order_id: int):
    """历史维修记录 of the order's device, for whoever diagnoses it."""
    history = work_orders.device_history(current_actor(), work_order_id)
    return jsonify(
        {"orders": rows(history.orders), "records": [record_with_document_json(record) for record in history.records]}
    )


@route(
    "GET", "/work-orders/<int:work_order_id>/report", "服务报告（完成后生成）", response="ServiceReport", errors=(409,)
)
def work_order_report(work_order_id: int):
    """服务报告 as frozen at completion, with the customer's sign-off once given."""
    actor = current_actor()
    order = work_orders.get_order(actor, work_order_id)
    if order.service_report is None:
        raise Conflict(f"工单当前状态为「{WORK_ORDER_STATUS_LABELS[order.status]}」，尚未完成，还没有服务报告")
    reporter = (
        db.session.get(User, order.reporter_id or order.contact_id) if (order.reporter_id or order.contact_id) else None
    )
    return jsonify(
        {
            **order.service_report,
            "device": device_seen_by(actor, order),
            "work_order_id": order.id,
            "status": order.status.value,
            "status_label": WORK_ORDER_STATUS_LABELS[order.status],
            "sign_off": {
                "confirmed": order.confirmed_at is not None,
                "by": reporter.display_name if reporter and order.confirmed_at else None,
                "at": moment(order.confirmed_at),
            },
        }
    )


# --- the SOP's steps ---------------------------------------------------------------------------


@route(
    "POST",
    "/work-orders/<int:work_order_id>/accept",
    "接单",
    body={},
    body_required=False,
    response="WorkOrderDetail",
    errors=(409,),
)
def accept_work_order(work_order_id: int):
    request_body()
    return answer(flow.accept(current_actor(), work_order_id))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/depart",
    "出发（可同时给出预计到场时间）",
    body=DEPART_SCHEMA,
    body_required=False,
    response="WorkOrderDetail",
    errors=(409,),
)
def depart_work_order(work_order_id: int):
    return answer(flow.depart(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/arrive",
    "到场",
    body=NOTE,
    body_required=False,
    response="WorkOrderDetail",
    errors=(409,),
)
def arrive_work_order(work_order_id: int):
    return answer(flow.arrive(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/diagnose",
    "诊断",
    body=DIAGNOSE_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def diagnose_work_order(work_order_id: int):
    return answer(flow.diagnose(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/complete",
    "完成并提交服务报告",
    body=COMPLETE_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def complete_work_order(work_order_id: int):
    return answer(flow.complete(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/wait-parts",
    "待备件：等待备件（完成时限暂停），填写原因",
    body=REASON,
    response="WorkOrderDetail",
    errors=(409,),
)
def wait_parts_work_order(work_order_id: int):
    return answer(parts_wait.wait_for_parts(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/parts-arrived",
    "备件到货：回到等待前的步骤（完成时限顺延等待的时间）",
    body=NOTE,
    body_required=False,
    response="WorkOrderDetail",
    errors=(409,),
)
def parts_arrived_work_order(work_order_id: int):
    return answer(parts_wait.parts_arrived(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/confirm",
    "报修人确认（服务报告签收）",
    body=NOTE,
    body_required=False,
    response="WorkOrderDetail",
    errors=(409,),
)
def confirm_work_order(work_order_id: int):
    return answer(flow.confirm(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/reject",
    "报修人驳回：未修好，退回返修",
    body=REASON,
    response="WorkOrderDetail",
    errors=(409,),
)
def reject_work_order(work_order_id: int):
    return answer(flow.reject(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/rate",
    "满意度评价",
    body=RATE_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def rate_work_order(work_order_id: int):
    return answer(flow.rate(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/follow-up",
    "设备科回访",
    body=FOLLOW_UP_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def follow_up_work_order(work_order_id: int):
    return answer(flow.follow_up(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/cancel",
    "撤销",
    body=REASON,
    response="WorkOrderDetail",
    errors=(409,),
)
def cancel_work_order(work_order_id: int):
    return answer(flow.cancel(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/assign",
    "派工 / 改派（不指定工程师时按技能和负荷推荐）",
    body=ASSIGN_SCHEMA,
    body_required=False,
    response="WorkOrderDetail",
    errors=(409,),
)
def assign_work_order(work_order_id: int):
    """派工 / 改派; without engineer_id the best-ranked candidate."""
    return answer(dispatch.assign(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/triage",
    "任务评估：故障等级",
    body=TRIAGE_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def triage_work_order(work_order_id: int):
    return answer(dispatch.triage(current_actor(), work_order_id, **request_body()))


@route(
    "POST",
    "/work-orders/<int:work_order_id>/eta",
    "预计到场时间",
    body=ETA_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def set_work_order_eta(work_order_id: int):
    return answer(dispatch.set_eta(current_actor(), work_order_id, **request_body()))


@route("GET", "/work-orders/<int:work_order_id>/candidates", "派工候选工程师", response="CandidateList")
def work_order_candidates(work_order_id: int):
    """派工候选: the side's engineers, skilled in the device's type first, then least loaded."""
    return jsonify({"items": [candidate_json(c) for c in dispatch.candidates(current_actor(), work_order_id)]})


@route("PUT", "/engineers/<int:user_id>/skills", "工程师擅长的设备类型", body=SKILLS_SCHEMA, response="Skills")
def set_engineer_skills(user_id: int):
    categories = dispatch.set_skills(current_actor(), user_id, request_body()["categories"])
    commit()
    return jsonify({"user_id": user_id, "categories": categories})


# --- parts and photos --------------------------------------------------------------------------


@route(
    "POST",
    "/work-orders/<int:work_order_id>/parts",
    "登记更换的备件",
    body=PART_SCHEMA,
    response="Part",
    status=201,
    errors=(409,),
)
def add_work_order_part(work_order_id: int):
    """更换的备件 (model and serial for traceability), while the engineer is at the device."""
    part = parts.add_part(current_actor(), work_order_id, **request_body())
    commit()
    return jsonify(work_order_part_json(part)), 201


@route("DELETE", "/work-orders/<int:work_order_id>/parts/<int:part_id>", "删除备件记录", status=204, errors=(409,))
def remove_work_order_part(work_order_id: int, part_id: int):
    parts.remove_part(current_actor(), work_order_id, part_id)
    commit()
    return "", 204


@route(
    "POST",
    "/work-orders/<int:work_order_id>/photos",
    "补充照片（JPG、PNG，不超过 5 MB）",
    upload=ONE_FILE,
    response="Photo",
    status=201,
    errors=(409,),
)
def add_work_order_photo(work_order_id: int):
    """One more photo (multipart `file`): a JPG or PNG of at most 5 MB."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput({"file": "请上传照片"})
    data = upload.stream.read(MAX_PHOTO_BYTES + 1)
    photo = work_orders.add_photo(current_actor(), work_order_id, Upload(upload.filename or "", upload.mimetype, data))
    commit()
    return jsonify(photo_json(photo)), 201


@route(
    "GET",
    "/work-orders/<int:work_order_id>/photos/<int:photo_id>",
    "工单照片（?inline=1 在浏览器中打开）",
    query=INLINE_QUERY,
    content=PICTURES,
)
def work_order_photo(work_order_id: int, photo_id: int):
    photo = work_orders.get_photo(current_actor(), work_order_id, photo_id)
    extension = "png" if photo.content_type == "image/png" else "jpg"
    filename = f"{work_order_number(work_order_id)}-{photo.id}.{extension}"
    return file_response(photo.data, photo.content_type, filename=filename)


@route("GET", "/work-orders/<int:work_order_id>/sign-offs", "客户签字记录（含签名图片链接）", response="SignOffList")
def list_work_order_sign_offs(work_order_id: int):
    records = on_site.sign_offs_of(current_actor(), work_order_id)
    return jsonify({"items": [sign_off_json(record) for record in records]})


@route(
    "GET",
    "/work-orders/<int:work_order_id>/sign-offs/<int:sign_off_id>/image",
    "客户签名图片（PNG）",
    query=INLINE_QUERY,
    content={"image/png": PICTURES["image/png"]},
)
def work_order_signature(work_order_id: int, sign_off_id: int):
    record = on_site.signature_of(current_actor(), work_order_id, sign_off_id)
    return file_response(record.image, record.content_type, filename=signature_filename(record))


@route(
    "GET",
    "/work-orders/<int:work_order_id>/report.pdf",
    "服务报告 PDF（含客户签字；?inline=1 在浏览器中打开）",
    query=INLINE_QUERY,
    content={"application/pdf": BINARY},
    errors=(409,),
)
def work_order_report_pdf(work_order_id: int):
    """The service report as it stands, made now; 409 before the engineer has written it."""
    order, pdf = report_pdf.for_actor(current_actor(), work_order_id)
    return file_response(
        pdf, report_pdf.MEDIA_TYPE, filename=report_pdf.file_name(order), ascii_filename=f"{order.number}.pdf"
    )


# --- the polling feed --------------------------------------------------------------------------


@route("GET", "/work-orders/events", "时间线事件（轮询）", query=FEED_QUERY, response="EventFeed", errors=(404,))
def work_order_events():
    """Timeline events after `after` that the caller may see (of one order with work_order_id).
    Without `after` the feed starts now: the answer is empty and `last_id` is where to go on."""
    actor = current_actor()
    query = request_query()
    work_order_id = query["work_order_id"]
    if work_order_id is not None:
        work_orders.get_order(actor, work_order_id)  # 404 for an order the caller may not see
    after = query["after"]
    if after is None:
        return jsonify({"items": [], "last_id": work_orders.last_event_id(actor), "more": False})
    events = work_orders.events_after(actor, after, work_order_id=work_order_id, limit=FEED_LIMIT)
    return jsonify(
        {
            "items": events_json(events),
            "last_id": events[-1].id if events else after,
            "more": len(events) == FEED_LIMIT,
        }
    )
