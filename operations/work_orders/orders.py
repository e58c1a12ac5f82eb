"""服务请求受理: raising a work order, routing it, and reading orders, timelines and photos.

Routing happens once, at intake: if the device has an authorization active today whose scope
covers the order's kind (维修 → 维修记录, PM → 保养记录, 计量 → 计量记录), the order goes to that
vendor (the latest such authorization, if several); otherwise to the institution's own
engineers. The order's 服务时限 clocks (respond, arrive, complete) start from the report, by its kind
and urgency (operations.work_orders.sla); the minute sweep warns and escalates as they run out
(operations.work_orders.sla_sweep).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Date, Select, String, and_, bindparam, case, func, or_, select, true, type_coerce
from sqlalchemy.exc import IntegrityError

from models import (
    ArchiveStatus,
    Authorization,
    Department,
    Device,
    DeviceRecord,
    RecordKind,
    Role,
    User,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderEventKind,
    WorkOrderKind,
    WorkOrderPhoto,
    WorkOrderStatus,
    db,
)
from models.db import DriverSelect
from models.work_order import (
    NUMBER_PREFIX,
    OPEN_STATUSES,
    URGENCY_LABELS,
    FaultFrequency,
    Urgency,
    work_order_number,
)
from operations import audit, bulk
from operations.access import active_authorization_clause, require_institution_staff
from operations.actors import Actor
from operations.clock import LOCAL_TZ, now_utc, today_local
from operations.credentials import Upload
from operations.devices import filtered_devices
from operations.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from operations.paging import Page, escape_like, paginate
from operations.work_orders import sla
from operations.work_orders.access import (
    INSTITUTION_WORKERS,
    SCOPE_OF_KIND,
    VENDOR_WORKERS,
    is_dispatcher_for,
    is_requester,
    requested_by,
    scopes_on,
    visible_order,
    visible_orders,
)
from operations.work_orders.flow import audit_order, record_event
from operations.work_orders.notices import notify

REPORTERS = frozenset({Role.CLINICIAN, Role.EQUIPMENT_MANAGER, Role.INSTITUTION_ENGINEER})
CONTACT_KINDS = {"mobile": "手机", "landline": "座机/分机", "wechat": "微信", "email": "邮箱"}
MOBILE = re.compile(r"^1\d{10}$")
LANDLINE = re.compile(r"^[0-9\-()+ ]{3,20}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_CONTACTS = 5
PHOTO_TYPES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 9  # what WeChat's image picker offers at once
CLOCK_SKEW = timedelta(minutes=5)
EXPECTED_HORIZON = timedelta(days=730)
HISTORY_LIMIT = 20


@dataclass(frozen=True)
class ContactMethod:
    kind: str  # mobile, landline, wechat, email
    value: str


@dataclass(frozen=True)
class Intake:
    kind: WorkOrderKind
    urgency: Urgency
    contact_name: str
    contact_methods: list[ContactMethod]
    department_id: int | None = None
    fault_description: str | None = None
    fault_occurred_at: datetime | None = None
    fault_frequency: FaultFrequency | None = None
    error_message: str | None = None
    recent_changes: str | None = None
    expected_outcome: str | None = None
    expected_by: datetime | None = None
    photos: list[Upload] = field(default_factory=list)


def may_report(actor: Actor, device: Device) -> bool:
    """Whether this actor may report a fault on this device: one of its institution's own people,
    and the device is not 报废 (create_work_order's rules, asked before a form is shown)."""
    return (
        actor.institution_id == device.institution_id
        and actor.role in REPORTERS
        and device.archive_status is not ArchiveStatus.SCRAPPED
    )


def reportable_devices(actor: Actor, *, keyword: str | None, page: int, per_page: int) -> Page:
    """报修选择设备: the reporter's institution's devices that can be reported (not 报废), found by
    name, 唯一码, model or asset code — what a clinician may pick on a PC without the archive."""
    require_institution_staff(actor, REPORTERS)
    query = filtered_devices(actor, keyword=keyword).where(Device.archive_status != ArchiveStatus.SCRAPPED)
    return paginate(query, Device.id.desc(), page=page, per_page=per_page)


def resolve_device(
    actor: Actor, *, device_id: int | None = None, unique_code: str | None = None, link_token: str | None = None
) -> Device:
    """The device a report is about, from its id, its 唯一码 or its QR link token; only a device
    of the reporter's own institution is found."""
    require_institution_staff(actor, REPORTERS)
    query = select(Device).where(Device.institution_id == actor.institution_id)
    if device_id is not None:
        query = query.where(Device.id == device_id)
    elif unique_code:
        query = query.where(Device.unique_code == unique_code.strip())
    elif link_token:
        query = query.where(Device.link_token == link_token.strip())
    else:
        raise InvalidInput({"device_id": "请选择设备或扫描设备二维码"})
    device = db.session.scalar(query) if actor.institution_id else None
    if device is None:
        raise NotFound("设备不存在")
    return device


def route(device: Device, kind: WorkOrderKind, day: date) -> Authorization | None:
    """The authorization the order goes to, or None for the institution's own engineers."""
    return routes([(device.id, kind)], day).get((device.id, kind))


def routes(wanted: Iterable[tuple[int, WorkOrderKind]], day: date) -> dict[tuple[int, WorkOrderKind], Authorization]:
    """`route` for many (device id, kind) at once, in one query: those routed to a vendor, each to
    its authorization; the others (absent) to the institution's own engineers."""
    wanted = set(wanted)
    if not wanted:
        return {}
    scopes = {kind: getattr(Authorization, f"scope_{SCOPE_OF_KIND[kind].value}") for _, kind in wanted}
    candidates = db.session.scalars(
        select(Authorization)
        .where(
            bulk.among(Authorization.device_id, {device_id for device_id, _ in wanted}),
            active_authorization_clause(day),
            or_(*(column.is_(True) for column in scopes.values())),
        )
        # The latest authorization in force first: it takes the order when several cover the kind.
        .order_by(Authorization.device_id, Authorization.starts_on.desc(), Authorization.id.desc())
    )
    chosen: dict[tuple[int, WorkOrderKind], Authorization] = {}
    for authorization in candidates:
        for kind, column in scopes.items():
            key = (authorization.device_id, kind)
            if key in wanted and key not in chosen and getattr(authorization, column.key):
                chosen[key] = authorization
    return chosen


def _check_contacts(methods: list[ContactMethod]) -> list[dict[str, str]]:
    if len(methods) > MAX_CONTACTS:
        raise InvalidInput({"contact_methods": f"最多填写 {MAX_CONTACTS} 种联系方式"})
    cleaned: list[dict[str, str]] = []
    for method in methods:
        value = (method.value or "").strip()
        if method.kind not in CONTACT_KINDS:
            raise InvalidInput({"contact_methods": f"不支持的联系方式类型：{str(method.kind)[:20]}"})
        if not value:
            raise InvalidInput({"contact_methods": f"请填写{CONTACT_KINDS[method.kind]}"})
        valid = {
            "mobile": MOBILE.match(value),
            "landline": LANDLINE.match(value),
            "email": EMAIL.match(value),
            "wechat": len(value) <= 50,
        }[method.kind]
        if not valid:
            raise InvalidInput({"contact_methods": f"{CONTACT_KINDS[method.kind]}格式不正确：{value[:30]}"})
        if value not in {item["value"] for item in cleaned}:
            cleaned.append({"kind": method.kind, "value": value})
    if len(cleaned) < 2:
        raise InvalidInput({"contact_methods": "请至少填写两种有效的联系方式（如手机和座机/分机）"})
    return cleaned


def _check_intake(intake: Intake, now: datetime) -> None:
    errors = {}
    if not (intake.contact_name or "").strip():
        errors["contact_name"] = "请填写联系人"
    if intake.kind is WorkOrderKind.REPAIR and not (intake.fault_description or "").strip():
        errors["fault_description"] = "请描述故障现象"
    if intake.kind is not WorkOrderKind.REPAIR and intake.expected_by is None:
        errors["expected_by"] = "预防性维护和计量请填写期望完成时间"
    if intake.fault_occurred_at and intake.fault_occurred_at > now + CLOCK_SKEW:
        errors["fault_occurred_at"] = "故障发生时间不能晚于现在"
    if intake.expected_by and intake.expected_by < now - CLOCK_SKEW:
        errors["expected_by"] = "期望完成时间不能早于现在"
    elif intake.expected_by and intake.expected_by > now + EXPECTED_HORIZON:
        errors["expected_by"] = "期望完成时间不能晚于两年之后"
    if len(intake.photos) > MAX_PHOTOS:
        errors["photos"] = f"最多上传 {MAX_PHOTOS} 张照片"
    if errors:
        raise InvalidInput(errors)


def device_snapshot(device: Device) -> dict[str, Any]:
    """The device as the archive describes it now: the order and its report quote this."""
    department = db.session.get(Department, device.department_id)
    return describe_device(device, department.name if department else None)


def describe_device(device: Any, department_name: str | None) -> dict[str, Any]:
    """`device_snapshot` of a device (or a row with its columns) whose department's name is known."""
    return {
        "id": device.id,
        "unique_code": device.unique_code,
        "name": device.name,
        "model": device.model,
        "serial_number": device.serial_number,
        "brand": device.brand,
        "manufacturer": device.manufacturer,
        "category": device.category,
        "asset_code": device.asset_code,
        "department": department_name,
        "installed_on": device.installed_on.isoformat() if device.installed_on else None,
        "warranty_ends_on": device.warranty_ends_on.isoformat() if device.warranty_ends_on else None,
    }


def order_for_key(actor: Actor, client_key: str) -> WorkOrder | None:
    """The order this reporter already raised with `client_key` (the app's Idempotency-Key)."""
    return db.session.scalar(
        select(WorkOrder).where(WorkOrder.reporter_id == actor.user_id, WorkOrder.client_key == client_key)
    )


def create_work_order(
    actor: Actor,
    device: Device,
    intake: Intake,
    *,
    now: datetime | None = None,
    client_key: str | None = None,
) -> WorkOrder:
    """受理: write the order, route it, notify the people who may take it. With `client_key`, a
    repeat of the same 报修 (the phone retrying after a lost answer) is the order the first made;
    see created_or_repeated."""
    require_institution_staff(actor, REPORTERS)
    now = now or now_utc()
    if device.institution_id != actor.institution_id:
        raise NotFound("设备不存在")
    if device.archive_status is ArchiveStatus.SCRAPPED:
        raise Conflict("设备已报废，不能报修")
    _check_intake(intake, now)
    contacts = _check_contacts(intake.contact_methods)
    photos = [_checked_photo(upload) for upload in intake.photos]
    department_id = intake.department_id or _reporter_department(actor) or device.department_id
    if (
        db.session.scalar(
            select(Department.id).where(
                Department.id == department_id, Department.institution_id == device.institution_id
            )
        )
        is None
    ):
        raise InvalidInput({"department_id": "科室不存在"})
    authorization = route(device, intake.kind, now.astimezone(LOCAL_TZ).date())
    order = WorkOrder(
        institution_id=device.institution_id,
        device_id=device.id,
        kind=intake.kind,
        urgency=intake.urgency,
        status=WorkOrderStatus.PENDING,
        reporter_id=actor.user_id,
        client_key=client_key,
        department_id=department_id,
        contact_name=intake.contact_name.strip(),
        contact_methods=contacts,
        device_snapshot=device_snapshot(device),
        fault_description=_text(intake.fault_description),
        fault_occurred_at=intake.fault_occurred_at,
        fault_frequency=intake.fault_frequency,
        error_message=_text(intake.error_message),
        recent_changes=_text(intake.recent_changes),
        expected_outcome=_text(intake.expected_outcome),
        expected_by=intake.expected_by,
        vendor_id=authorization.vendor_id if authorization else None,
        authorization_id=authorization.id if authorization else None,
        created_at=now,
        updated_at=now,
    )
    with db.session.begin_nested():  # a savepoint: a twin request racing this one loses here only
        db.session.add(order)
        db.session.flush()
    sla.start(order)  # the 服务时限 clocks run from the report
    for content_type, data in photos:
        db.session.add(_photo(order, actor, content_type, data, now))
    routed_to = {"vendor_id": order.vendor_id} if order.vendor_id else {"in_house": True}
    event = record_event(
        order,
        WorkOrderEventKind.CREATED,
        actor.user_id,
        now,
        from_status=None,
        detail={"urgency": URGENCY_LABELS[order.urgency], **routed_to},
    )
    audit_order(
        actor,
        "create",
        order,
        audit.created(order, INTAKE_FIELDS) | ({"photos": [None, len(photos)]} if photos else {}),
    )
    notify(order, event)
    return order


def created_or_repeated(actor: Actor, client_key: str, create: Callable[[], WorkOrder]) -> tuple[WorkOrder, bool]:
    """报修 under an Idempotency-Key: (the new order, True), or (the order this reporter already
    raised with the key, False) without checking or writing anything again. Two sends racing each
    other meet at the unique (reporter, key): the loser answers the winner's order."""
    existing = order_for_key(actor, client_key)
    if existing is not None:
        return existing, False
    try:
        return create(), True
    except IntegrityError:
        existing = order_for_key(actor, client_key)
        if existing is None:
            raise
        return existing, False


# What the log keeps of an intake (the device as it was is the order's snapshot, shown with it).
INTAKE_FIELDS = (
    "device_id",
    "kind",
    "urgency",
    "status",
    "department_id",
    "contact_name",
    "fault_description",
    "fault_occurred_at",
    "fault_frequency",
    "error_message",
    "recent_changes",
    "expected_outcome",
    "expected_by",
    "vendor_id",
    "authorization_id",
)


def _reporter_department(actor: Actor) -> int | None:
    return db.session.scalar(select(User.department_id).where(User.id == actor.user_id))


# --- photos ----------------------------------------------------------------------------------


def _checked_photo(upload: Upload) -> tuple[str, bytes]:
    """A JPEG or PNG (by its first bytes, whatever it claims) of at most 5 MB."""
    if len(upload.data) > MAX_PHOTO_BYTES:
        raise InvalidInput({"photos": f"照片不能超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB"})
    for content_type, signatures in PHOTO_TYPES.items():
        if upload.data.startswith(signatures):
            return content_type, upload.data
    raise InvalidInput({"photos": "只能上传 JPG 或 PNG 图片"})


def _photo(order: WorkOrder, actor: Actor, content_type: str, data: bytes, now: datetime) -> WorkOrderPhoto:
    return WorkOrderPhoto(
        work_order_id=order.id,
        content_type=content_type,
        size=len(data),
        data=data,
        uploaded_by_id=actor.user_id,
        uploaded_at=now,
    )


def add_photo(actor: Actor, work_order_id: int, upload: Upload) -> WorkOrderPhoto:
    """More photos later: by the reporter, the engineer on the order or a dispatcher, while open."""
    order = visible_order(actor, work_order_id, lock=True)
    if actor.user_id != order.assignee_id and not is_requester(actor, order) and not is_dispatcher_for(actor, order):
        raise PermissionDenied("只有报修人、接单工程师或派工负责人可以上传照片")
    if order.status in (WorkOrderStatus.CLOSED, WorkOrderStatus.CANCELLED):
        raise Conflict("工单已归档或已撤销，不能再上传照片")
    content_type, data = _checked_photo(upload)
    count = db.session.scalar(select(func.count()).where(WorkOrderPhoto.work_order_id == order.id))
    if count >= MAX_PHOTOS * 2:
        raise InvalidInput({"photos": f"每个工单最多 {MAX_PHOTOS * 2} 张照片"})
    photo = _photo(order, actor, content_type, data, now_utc())
    db.session.add(photo)
    db.session.flush()
    audit_order(actor, "add_photo", order, {"photo": [None, {"id": photo.id, "size": photo.size}]})
    return photo


def photos_of(order_id: int) -> list[WorkOrderPhoto]:
    return list(
        db.session.scalars(
            select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order_id).order_by(WorkOrderPhoto.id)
        )
    )


def get_photo(actor: Actor, work_order_id: int, photo_id: int) -> WorkOrderPhoto:
    order = visible_order(actor, work_order_id)
    photo = db.session.scalar(
        select(WorkOrderPhoto).where(WorkOrderPhoto.id == photo_id, WorkOrderPhoto.work_order_id == order.id)
    )
    if photo is None:
        raise NotFound("照片不存在")
    return photo


# --- reading ---------------------------------------------------------------------------------


def get_order(actor: Actor, work_order_id: int) -> WorkOrder:
    return visible_order(actor, work_order_id)


def parse_number(text: str) -> int | None:
    """GD000123, gd123 or 123 -> 123."""
    text = (text or "").strip().upper()
    if text.startswith(NUMBER_PREFIX):
        text = text[len(NUMBER_PREFIX) :]
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


def filtered_orders(
    actor: Actor,
    *,
    statuses: list[WorkOrderStatus] | None = None,
    open_only: bool = False,
    kind: WorkOrderKind | None = None,
    urgency: Urgency | None = None,
    vendor_id: int | None = None,
    in_house: bool = False,
    device_id: int | None = None,
    department_id: int | None = None,
    reported_by_me: bool = False,
    assigned_to_me: bool = False,
    keyword: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
) -> Select:
    query = visible_orders(actor)
    if statuses:
        query = query.where(WorkOrder.status.in_(statuses))
    if open_only:
        query = query.where(WorkOrder.status.in_(OPEN_STATUSES))
    if kind:
        query = query.where(WorkOrder.kind == kind)
    if urgency:
        query = query.where(WorkOrder.urgency == urgency)
    if vendor_id:
        query = query.where(WorkOrder.vendor_id == vendor_id)
    if in_house:
        query = query.where(WorkOrder.vendor_id.is_(None))
    if device_id:
        query = query.where(WorkOrder.device_id == device_id)
    if department_id:
        query = query.where(WorkOrder.department_id == department_id)
    if reported_by_me:
        query = query.where(or_(WorkOrder.reporter_id == actor.user_id, WorkOrder.contact_id == actor.user_id))
    if assigned_to_me:
        query = query.where(WorkOrder.assignee_id == actor.user_id)
    if created_from:
        query = query.where(WorkOrder.created_at >= _local_midnight(created_from))
    if created_to:
        query = query.where(WorkOrder.created_at < _local_midnight(created_to + timedelta(days=1)))
    if keyword and keyword.strip():
        number = parse_number(keyword)
        pattern = f"%{escape_like(keyword.strip().lower())}%"
        matches = select(Device.id).where(
            Device.institution_id == WorkOrder.institution_id, Device.search_text.like(pattern, escape="\\")
        )
        conditions = [WorkOrder.device_id.in_(matches.scalar_subquery())]
        if number is not None:
            conditions.append(WorkOrder.id == number)
        query = query.where(or_(*conditions))
    return query


def list_orders(actor: Actor, *, page: int, per_page: int, **filters) -> Page:
    return paginate(filtered_orders(actor, **filters), WorkOrder.id.desc(), page=page, per_page=per_page)


# Emergencies first: 停机影响诊疗, then 紧急, then the rest (in Python, and as SQL for a paged list).
URGENCY_RANK = {Urgency.DOWNTIME: 0, Urgency.URGENT: 1, Urgency.NORMAL: 2}
EMERGENCIES_FIRST = case(URGENCY_RANK, value=WorkOrder.urgency, else_=len(URGENCY_RANK))


def queue_of(actor: Actor) -> list[WorkOrder]:
    """我的工单 for an engineer: open orders assigned to them, and unassigned orders waiting to be
    accepted by their side; emergencies first."""
    if actor.role is Role.CLINICIAN:  # their visibility reads their department first
        found = list(db.session.scalars(_queue_query(actor, today_local())))
    else:
        found = list(db.session.scalars(_queue_statement(actor.role, actor.is_vendor_side), _queue_values(actor)))
    return sorted(found, key=lambda order: (URGENCY_RANK[order.urgency], order.id))


class OrderLine(NamedTuple):
    """An order as a line of a short reply shows it (the official account's lists), read as columns."""

    id: int
    urgency: Urgency
    status: WorkOrderStatus
    device_name: str | None

    @property
    def number(self) -> str:
        return work_order_number(self.id)


ORDER_LINE_COLUMNS = (
    WorkOrder.id,
    WorkOrder.urgency,
    WorkOrder.status,
    WorkOrder.device_snapshot["name"].as_string(),
)


def order_lines(query: Select) -> list[OrderLine]:
    """The orders a query selects as OrderLines, in its order."""
    return [OrderLine(*row) for row in db.session.execute(query.with_only_columns(*ORDER_LINE_COLUMNS))]


def queue_lines_of(actor: Actor) -> list[OrderLine]:
    """queue_of for an engineer (not a clinician) as lines: the same rules and order, without
    building whole orders (their 40 columns and JSON were a third of the webhook's 我的工单)."""
    statement = _queue_lines_statement(actor.role, actor.is_vendor_side)
    found = [OrderLine(*row) for row in db.session.connection().execute(statement, _queue_values(actor))]
    return sorted(found, key=lambda line: (URGENCY_RANK[line.urgency], line.id))


def queue_lines_if(actor: Actor, condition: Select, values: dict[str, Any]) -> list[OrderLine] | None:
    """queue_lines_of read in one statement with `condition` (a SELECT of one row or none, built
    once, with bind parameters `values`): None when it selects no row, the lines otherwise. The
    condition and the queue see the same snapshot, so the lines hold for what it checked. The
    statement is read alone, outside any transaction (DriverSelect.rows_read_alone): called before
    the request's session has run anything."""
    statement = _queue_lines_if_statement(actor.role, actor.is_vendor_side, condition)
    rows = statement.rows_read_alone({**_queue_values(actor), **values})
    if not rows:
        return None
    found = [  # no order: one row of NULLs
        OrderLine(order_id, _URGENCIES[urgency], _STATUSES[status], device_name)
        for order_id, urgency, status, device_name in rows
        if order_id is not None
    ]
    return sorted(found, key=lambda line: (URGENCY_RANK[line.urgency], line.id))


# the members by their stored strings: a dict lookup, where calling the enum costs a microsecond a row
_URGENCIES = {member.value: member for member in Urgency}
_STATUSES = {member.value: member for member in WorkOrderStatus}


def _queue_values(actor: Actor) -> dict[str, Any]:
    values = {"user_id": actor.user_id, "today": today_local()}
    values["vendor_id" if actor.is_vendor_side else "institution_id"] = actor.vendor_id or actor.institution_id
    return values


def _queue_query(actor: Actor, day) -> Select:
    mine = WorkOrder.assignee_id == actor.user_id
    condition = mine
    if actor.role in INSTITUTION_WORKERS | VENDOR_WORKERS:
        claimable = and_(WorkOrder.status == WorkOrderStatus.PENDING, WorkOrder.assignee_id.is_(None))
        if not actor.is_vendor_side:
            claimable = and_(claimable, WorkOrder.vendor_id.is_(None))
        condition = or_(mine, claimable)
    query = visible_orders(actor, day).where(WorkOrder.status.in_(OPEN_STATUSES), condition)
    return query.order_by(WorkOrder.id)


@functools.cache
def _queue_statement(role: Role, vendor_side: bool) -> Select:
    """queue_of's SELECT for a role and side, built once with the person, their organisation and
    the day as bind parameters: building it (and its cache key) took most of the webhook's 我的工单
    in Python, every time, for the same SQL."""
    side = {"vendor_id": bindparam("vendor_id")} if vendor_side else {"institution_id": bindparam("institution_id")}
    shape = Actor(bindparam("user_id"), role, side.get("institution_id"), side.get("vendor_id"))
    return _queue_query(shape, bindparam("today", type_=Date))


@functools.cache
def _queue_lines_statement(role: Role, vendor_side: bool) -> Select:
    return _queue_statement(role, vendor_side).with_only_columns(*ORDER_LINE_COLUMNS)


@functools.cache
def _queue_lines_if_statement(role: Role, vendor_side: bool, condition: Select) -> DriverSelect:
    # the condition's row LEFT JOIN the queue: no row when it fails, one row of NULLs for no order;
    # urgency and status as the strings stored (a DriverSelect's columns are the driver's types)
    queue = _queue_lines_statement(role, vendor_side).order_by(None).subquery()
    order_id, urgency, status, device_name = queue.c
    columns = (order_id, type_coerce(urgency, String), type_coerce(status, String), device_name)
    return DriverSelect(select(*columns).select_from(condition.subquery().outerjoin(queue, true())))


def to_confirm_of(actor: Actor) -> list[WorkOrder]:
    """待我确认: orders whose service report waits for this person's confirmation (as reporter, a
    planned order's 科室联系人, or the equipment office standing in for a plan without one)."""
    query = visible_orders(actor).where(WorkOrder.status == WorkOrderStatus.COMPLETED, requested_by(actor))
    return list(db.session.scalars(query.order_by(WorkOrder.completed_at, WorkOrder.id)))


def timeline(actor: Actor, work_order_id: int) -> list[WorkOrderEvent]:
    order = visible_order(actor, work_order_id)
    return events_of([order.id])[order.id]


def events_of(order_ids: list[int]) -> dict[int, list[WorkOrderEvent]]:
    found: dict[int, list[WorkOrderEvent]] = {order_id: [] for order_id in order_ids}
    if order_ids:
        for event in db.session.scalars(
            select(WorkOrderEvent).where(WorkOrderEvent.work_order_id.in_(order_ids)).order_by(WorkOrderEvent.id)
        ):
            found[event.work_order_id].append(event)
    return found


def events_after(actor: Actor, after_id: int, *, work_order_id: int | None = None, limit: int = 200):
    """The live feed: timeline events the actor may see, after the last one the page has."""
    visible = visible_orders(actor).with_only_columns(WorkOrder.id)
    if work_order_id is not None:
        visible = visible.where(WorkOrder.id == work_order_id)
    query = select(WorkOrderEvent).where(WorkOrderEvent.id > after_id)
    if actor.is_vendor_side:
        query = query.where(WorkOrderEvent.vendor_id == actor.vendor_id)
    else:
        query = query.where(WorkOrderEvent.institution_id == actor.institution_id)
    query = query.where(WorkOrderEvent.work_order_id.in_(visible.scalar_subquery()))
    return list(db.session.scalars(query.order_by(WorkOrderEvent.id).limit(limit)))


def last_event_id(actor: Actor) -> int:
    """Where a feed that starts now begins."""
    column = WorkOrderEvent.vendor_id if actor.is_vendor_side else WorkOrderEvent.institution_id
    value = actor.vendor_id if actor.is_vendor_side else actor.institution_id
    return db.session.scalar(select(func.max(WorkOrderEvent.id)).where(column == value)) or 0


@dataclass(frozen=True)
class DeviceHistory:
    orders: list[WorkOrder]  # earlier orders on the device that the actor may see
    records: list[DeviceRecord]  # 维修 / 保养 / 计量 records within the actor's scopes


def device_history(actor: Actor, work_order_id: int) -> DeviceHistory:
    """历史维修记录 for whoever diagnoses: earlier orders and records of the same device; a vendor
    sees only the record kinds its authorization covers."""
    order = visible_order(actor, work_order_id)
    scopes = scopes_on(actor, order)
    kinds = [RecordKind(scope.value) for scope in scopes if scope.value in set(RecordKind)]
    earlier = visible_orders(actor).where(WorkOrder.device_id == order.device_id, WorkOrder.id != order.id)
    if actor.is_vendor_side:
        earlier = earlier.where(WorkOrder.kind.in_([WorkOrderKind(kind.value) for kind in kinds]))
    orders = list(db.session.scalars(earlier.order_by(WorkOrder.id.desc()).limit(HISTORY_LIMIT)))
    records = list(
        db.session.scalars(
            select(DeviceRecord)
            .where(DeviceRecord.device_id == order.device_id, DeviceRecord.kind.in_(kinds))
            .order_by(DeviceRecord.performed_on.desc(), DeviceRecord.id.desc())
            .limit(HISTORY_LIMIT)
        )
    )
    return DeviceHistory(orders, records)


def open_orders_of_device(actor: Actor, device_id: int) -> list[WorkOrder]:
    return list(
        db.session.scalars(
            visible_orders(actor)
            .where(WorkOrder.device_id == device_id, WorkOrder.status.in_(OPEN_STATUSES))
            .order_by(WorkOrder.id.desc())
        )
    )


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None
