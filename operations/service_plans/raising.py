"""The minute sweep's part for service plans: each plan whose next occurrence is due to be raised
(`next_run_at` has come) gets its work order, routed as a reported order is.

- Plans are claimed as the alert sweep claims its plans: by (status, next_run_at), locked with SKIP
  LOCKED on PostgreSQL (a plan being edited waits for the next minute); one sweep raises at a time
  (a transaction-level advisory lock: a second scheduler's sweep waits, then finds nothing due), and
  the order's unique (plan, due date) makes even a doubled decision one order (ON CONFLICT DO
  NOTHING: an occurrence raised already is skipped, with its events and messages).
- A plan owing several occurrences (the scheduler was down) raises each of them, oldest first: none
  is skipped silently; one raised after its due date shows as overdue at once.
- The order: reporter the system, contact the plan's 科室联系人 (their mobile and the department's
  phone), `expected_by` the end of the due date, the plan's checklist copied.
- Set-based: a round claims up to CHUNK plans and reads their devices, routes (`orders.routes`, the
  reported order's rules), contacts and stand-ins in a few queries, then writes the orders, their
  created events and the 操作日志 in bulk. Rounds follow until nothing is due, all in one
  transaction, so one sweep raises everything due however much that is.
- The engineers and dispatchers told of two or more new orders of a kind get one message on
  their phone ("今日新增保养工单 N 张", opening the mini-program's list of that sweep's orders,
  `summary_page`) and each order in their inbox; one order is told as usual. Every notice of the
  sweep is written in one fan-out, and the messages go on the normal path (the `bulk` queue), not
  the urgent one of a reported fault.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any, ClassVar

from sqlalchemy import Row, func, select, text

from models import (
    ArchiveStatus,
    AuditEntry,
    ChannelName,
    Department,
    Device,
    Institution,
    Role,
    ServicePlan,
    ServicePlanStatus,
    User,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderEventKind,
    WorkOrderKind,
    WorkOrderStatus,
    db,
)
from models.service_plan import IntervalUnit, PlanAnchor
from models.work_order import Urgency, work_order_number
from operations import audit, bulk, live, outbox
from operations.actors import Actor
from operations.clock import LOCAL_TZ, to_local
from operations.service_plans import calendar, checklists
from operations.service_plans.plans import PLAN_KIND_LABELS, SCRAPPED, end_by_system
from operations.work_orders import sla
from operations.work_orders.access import Staff, staff_of, visible_orders
from operations.work_orders.flow import TIMELINE_LOCKS
from operations.work_orders.notices import device_label, notices_for
from operations.work_orders.orders import INTAKE_FIELDS, describe_device, routes

CHUNK = 5000  # plans per round: bounded IN lists (SQLite's parameters), rounds until none is due
SUMMARY_TOPIC = "work_order.planned"  # the work-order family: its templates, preferences and quotas
# The mini-program page a summary opens: the orders that sweep raised (`summary_page`).
SUMMARY_PAGE = "pages/work-orders/planned"
DEVICES_NAMED = 3
# One raising sweep at a time: its summaries are per person over everything it raised.
_SWEEP_LOCK = 0x77787370  # "wxsp"


class Written(SimpleNamespace):
    """A row as the sweep wrote it: every column of its table as an attribute (None where not
    given), read as the entity's would be by the notices and the 操作日志; not an entity, which
    costs far more to build, thousands at a time."""

    blank: ClassVar[dict[str, None]] = {}  # each column, None

    def __init__(self, **values: Any) -> None:
        super().__init__(**(self.blank | values))


class WrittenOrder(Written):
    blank = dict.fromkeys(column.key for column in WorkOrder.__table__.c)

    @property
    def number(self) -> str:
        return work_order_number(self.id)


class WrittenEvent(Written):
    blank = dict.fromkeys(column.key for column in WorkOrderEvent.__table__.c)


@dataclass(frozen=True)
class Raised:
    order: WrittenOrder
    event: WrittenEvent


@dataclass
class Claimed:
    """A due plan as a round reads and moves it on: plain values, written back in one statement."""

    id: int
    institution_id: int
    device_id: int
    kind: str
    interval_count: int
    interval_unit: IntervalUnit
    lead_days: int
    anchor: PlanAnchor
    anchor_day: int
    checklist: list
    contact_id: int | None
    next_due_on: date | None
    next_run_at: datetime | None
    last_due_on: date | None
    counted_from: date | None


_CLAIMED = tuple(getattr(ServicePlan, field.name) for field in fields(Claimed))
# What raising an occurrence changes on its plan (`_advance`).
_MOVED = ("next_due_on", "next_run_at", "last_due_on", "counted_from")


def _due_plans(now: datetime, limit: int) -> list[Claimed]:
    query = (
        select(*_CLAIMED)
        .where(
            ServicePlan.status == ServicePlanStatus.ACTIVE,
            ServicePlan.next_run_at <= now,
            # A deactivated institution's plans wait; on reactivation they raise what they owe.
            ServicePlan.institution_id.in_(select(Institution.id).where(Institution.is_active.is_(True))),
        )
        .order_by(ServicePlan.next_run_at, ServicePlan.id)
        .limit(limit)
    )
    if _postgresql():
        query = query.with_for_update(of=ServicePlan, skip_locked=True)
    return [Claimed(*row) for row in db.session.execute(query)]


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def any_due(now: datetime) -> bool:
    return bool(_due_plans(now, 1))


def sweep(now: datetime, limit: int | None = None) -> tuple[list[Raised], list[outbox.NewMessage]]:
    """Raise every due occurrence of every due plan, `limit` (CHUNK) plans a round, and write their
    notices; the caller commits, then hands the messages to the queue."""
    limit = limit or CHUNK
    if _postgresql():
        db.session.execute(select(func.pg_advisory_xact_lock(_SWEEP_LOCK)))
    raised: list[Raised] = []
    while plans := _due_plans(now, limit):
        raised += _raise_round(plans, now)  # the plans moved on: the next round claims others
    return raised, announce(raised, now)


def _advance(plan: Claimed) -> None:
    """The occurrence is raised: a schedule plan counts on from its due date; a completion plan
    waits for the order's completion (operations.service_plans.occurrences)."""
    due = plan.next_due_on
    plan.last_due_on = due
    if plan.anchor is PlanAnchor.SCHEDULE:
        plan.counted_from = due
        plan.next_due_on = calendar.next_after(due, plan.interval_count, plan.interval_unit, plan.anchor_day)
        plan.next_run_at = calendar.raise_at(plan.next_due_on, plan.lead_days)
    else:
        plan.counted_from = plan.next_due_on = plan.next_run_at = None


def contact_methods(contact: Any, department_phone: str | None) -> list[dict[str, str]]:
    """The contact's mobile and the department's phone, whichever are known."""
    methods = []
    if contact is not None and contact.phone:
        methods.append({"kind": "mobile", "value": contact.phone})
    if department_phone:
        methods.append({"kind": "landline", "value": department_phone})
    return methods


# What a round reads of the devices: plain rows with their department (the order's snapshot).
_DEVICE_COLUMNS = (
    Device.id,
    Device.institution_id,
    Device.department_id,
    Device.archive_status,
    Device.unique_code,
    Device.name,
    Device.model,
    Device.serial_number,
    Device.brand,
    Device.manufacturer,
    Device.category,
    Device.asset_code,
    Device.installed_on,
    Device.warranty_ends_on,
    Department.name.label("department_name"),
    Department.phone.label("department_phone"),
)
_PERSON_COLUMNS = (User.id, User.institution_id, User.display_name, User.phone, User.is_active)


def _raise_round(plans: list[Claimed], now: datetime) -> list[Raised]:
    devices = {
        row.id: row
        for row in db.session.execute(
            select(*_DEVICE_COLUMNS)
            .outerjoin(Department, Department.id == Device.department_id)
            .where(bulk.among(Device.id, {plan.device_id for plan in plans}))
        )
    }
    owed: list[tuple[Claimed, date]] = []
    moved: list[Claimed] = []
    for plan in plans:
        device = devices[plan.device_id]
        if device.archive_status is ArchiveStatus.SCRAPPED:
            end_by_system(db.session.get(ServicePlan, plan.id), SCRAPPED, now, device)
            continue
        while plan.next_run_at is not None and plan.next_run_at <= now:
            owed.append((plan, plan.next_due_on))
            _advance(plan)
        moved.append(plan)
    bulk.update(ServicePlan.__table__, [{key: getattr(plan, key) for key in ("id", *_MOVED)} for plan in moved])
    if not owed:
        return []
    routed = routes({(plan.device_id, WorkOrderKind(plan.kind)) for plan, _ in owed}, to_local(now).date())
    contacts = _people(bulk.among(User.id, {plan.contact_id for plan, _ in owed if plan.contact_id}))
    # Without an active contact the equipment managers stand in: the first of them is named.
    stand_ins: dict[int, Row] = {}
    for person in _people(
        User.institution_id.in_({plan.institution_id for plan, _ in owed}),
        User.role == Role.EQUIPMENT_MANAGER,
        User.is_active,
    ).values():
        stand_ins.setdefault(person.institution_id, person)
    rows = []
    for plan, due in owed:
        contact = contacts.get(plan.contact_id)
        if contact is not None and not contact.is_active:
            contact = None  # stopped since: the equipment managers stand in
        device = devices[plan.device_id]
        authorization = routed.get((device.id, WorkOrderKind(plan.kind)))
        rows.append(_order_row(plan, due, device, authorization, contact, stand_ins.get(plan.institution_id), now))
    return _write(rows, now)


def _people(*where) -> dict[int, Row]:
    query = select(*_PERSON_COLUMNS).where(*where).order_by(User.id)
    return {row.id: row for row in db.session.execute(query)}


def _order_row(
    plan: Claimed, due: date, device: Row, authorization: Any, contact: Row | None, stand_in: Row | None, now
) -> dict[str, Any]:
    """The columns of one occurrence's order."""
    kind = WorkOrderKind(plan.kind)
    label = PLAN_KIND_LABELS[kind]
    named = contact or stand_in
    checklist = checklists.resolve_checklist(plan, device)
    return {
        "institution_id": plan.institution_id,
        "device_id": device.id,
        "kind": kind,
        "urgency": Urgency.NORMAL,
        "status": WorkOrderStatus.PENDING,
        "reporter_id": None,
        "contact_id": contact.id if contact else None,
        "department_id": device.department_id,
        "contact_name": named.display_name if named else "设备科",
        "contact_methods": contact_methods(named, device.department_phone),
        "device_snapshot": describe_device(device, device.department_name),
        "expected_outcome": f"按{label}计划完成{label}（{len(checklist)}项检查）",
        # The end of the due date, Asia/Shanghai.
        "expected_by": datetime.combine(due + timedelta(days=1), time.min, tzinfo=LOCAL_TZ) - timedelta(seconds=1),
        "vendor_id": authorization.vendor_id if authorization else None,
        "authorization_id": authorization.id if authorization else None,
        "service_plan_id": plan.id,
        "plan_due_on": due,
        "checklist": checklist,
        "created_at": now,
        "updated_at": now,
    }


def _write(rows: list[dict[str, Any]], now: datetime) -> list[Raised]:
    """The orders (those whose occurrence has none yet), their created events and 操作日志 rows,
    each kind in one bulk INSERT (operations.bulk)."""
    written = bulk.insert(
        WorkOrder.__table__,
        rows,
        ("id", "service_plan_id", "plan_due_on"),
        skip_conflicts_on=("service_plan_id", "plan_due_on"),  # the occurrence's unique key
    )
    ids = {(plan_id, due): order_id for order_id, plan_id, due in written}
    orders = [
        WrittenOrder(**row, id=ids[key]) for row in rows if (key := (row["service_plan_id"], row["plan_due_on"])) in ids
    ]
    if not orders:
        return []
    _hold_timelines(orders)
    event_rows = [_created_event(order, now) for order in orders]
    event_ids = dict(bulk.insert(WorkOrderEvent.__table__, event_rows, ("work_order_id", "id")))
    events = [WrittenEvent(**row, id=event_ids[row["work_order_id"]]) for row in event_rows]
    bulk.insert(AuditEntry.__table__, [_logged(order) for order in orders], ("id",))
    sla.start_many(orders)  # the 服务时限 clocks run from the report, as a reported order's do
    return [Raised(order, event) for order, event in zip(orders, events, strict=True)]


LOGGED_FIELDS = (*INTAKE_FIELDS, "service_plan_id", "plan_due_on")


def _logged(order: WrittenOrder) -> dict[str, Any]:
    """The order's 操作日志 row, as a step's (operations.work_orders.flow.audit_order) would be."""
    return audit.row(
        audit.SYSTEM,
        "create",
        "work_order",
        order.id,
        label=order.number,
        changes=audit.created(order, LOGGED_FIELDS),
        institution_id=order.institution_id,
        vendor_id=order.vendor_id,
    )


def _created_event(order: WrittenOrder, now: datetime) -> dict[str, Any]:
    routed_to = {"vendor_id": order.vendor_id} if order.vendor_id else {"in_house": True}
    return {
        "work_order_id": order.id,
        "institution_id": order.institution_id,
        "vendor_id": order.vendor_id,
        "kind": WorkOrderEventKind.CREATED,
        "actor_id": None,
        "at": now,
        "from_status": None,
        "to_status": order.status,
        "detail": {
            "service_plan_id": order.service_plan_id,
            "due_on": order.plan_due_on.isoformat(),
            "plan": PLAN_KIND_LABELS[order.kind],
            **routed_to,
        },
    }


def _hold_timelines(orders: Sequence[WrittenOrder]) -> None:
    """The timeline locks a step takes for its event (operations.work_orders.flow), for every
    institution and vendor of the batch at once: institutions, then vendors, each in id order (a
    step takes its institution's before its vendor's), so nobody waits in a circle. The live
    streams of both sides look again once the sweep commits."""
    institutions = {order.institution_id for order in orders}
    vendors = {order.vendor_id for order in orders if order.vendor_id is not None}
    for institution_id in institutions:
        live.announce_timeline(db.session, institution_id, None)
    live.announce(db.session, (live.vendor_topic(vendor_id) for vendor_id in vendors))
    if not _postgresql():
        return
    for space, ids in (("institution", institutions), ("vendor", vendors)):
        if ids:
            db.session.execute(_LOCK_IN_ORDER, {"space": TIMELINE_LOCKS[space], "ids": sorted(ids)})


_LOCK_IN_ORDER = text(
    "SELECT count(pg_advisory_xact_lock(:space, id))"
    " FROM (SELECT unnest(CAST(:ids AS integer[])) AS id ORDER BY 1) AS ordered"
)


# -- telling people ---------------------------------------------------------------------------


def _pushed_to(order: WrittenOrder, staff: Staff) -> list[int]:
    """Whom a new order's push asks to take it: its side's engineers and its dispatchers."""
    return list(dict.fromkeys([*staff.workers(order), *staff.dispatchers(order)]))


def announce(raised: Sequence[Raised], now: datetime) -> list[outbox.NewMessage]:
    """Each order's notices, and per person and kind told of two or more, one summary on the phone:
    the people of every side read once, all of it written in one fan-out."""
    if not raised:
        return []
    staff = staff_of({item.order.institution_id for item in raised}, {item.order.vendor_id for item in raised})
    told: dict[tuple[int, WorkOrderKind], list[WrittenOrder]] = defaultdict(list)
    for item in raised:
        for user_id in _pushed_to(item.order, staff):
            told[(user_id, item.order.kind)].append(item.order)
    quiet_for: dict[int, set[int]] = defaultdict(set)  # order id -> people told in a summary
    for (user_id, _), orders in told.items():
        if len(orders) > 1:
            for order in orders:
                quiet_for[order.id].add(user_id)
    notices = [
        notice
        for item in raised
        for notice in notices_for(item.order, item.event, quiet=frozenset(quiet_for[item.order.id]), staff=staff)
    ]
    summaries = [_summary(user_id, kind, orders, now) for (user_id, kind), orders in told.items() if len(orders) > 1]
    return outbox.fan_out([*notices, *summaries], now)


def _summary(user_id: int, kind: WorkOrderKind, orders: list[WrittenOrder], now: datetime) -> outbox.Notice:
    label = PLAN_KIND_LABELS[kind]
    count = len(orders)
    names = [device_label(order) for order in orders]
    devices = "、".join(names[:DEVICES_NAMED]) + (f"等{count}台" if count > DEVICES_NAMED else "")
    first = (orders[0].device_snapshot or {}).get("name", "设备")
    detail = f"今日新增{label}工单{count}张"
    return outbox.Notice(
        # Per sweep (its minute), person and kind: a second sweep the same day is a second summary.
        key=f"work_order_planned:{to_local(now):%Y%m%d%H%M}:{kind.value}:{user_id}",
        topic=SUMMARY_TOPIC,
        title=detail,
        body=f"{detail}：{devices}。请在「微修」查看并接单。",
        payload={
            "values": {
                "number": f"{count}张",
                "device": f"{first}等{count}台",
                "status": "待接单",
                "time": f"{to_local(now):%Y-%m-%d %H:%M}",
                "detail": detail,
                "page": summary_page(kind, now),
            },
            "work_order_ids": [order.id for order in orders],
            outbox.ASKS: True,
        },
        recipient_ids=[user_id],
        channels=[ChannelName.WECHAT.value],
        fallback_sms=True,
    )


def summary_page(kind: WorkOrderKind, now: datetime) -> str:
    """The page of one sweep's orders of a kind: named by the sweep's minute (Asia/Shanghai), as the
    summary's key is; a list of ids would outgrow a message's page path."""
    return f"{SUMMARY_PAGE}?kind={kind.value}&raised={to_local(now):%Y%m%d%H%M}"


def raised_together(actor: Actor, kind: WorkOrderKind, minute: datetime) -> list[WorkOrder]:
    """The planned orders of `kind` the sweep of `minute` raised that `actor` may see: what the
    summary told them of, each as it now stands."""
    start = minute.replace(second=0, microsecond=0)
    query = visible_orders(actor).where(
        WorkOrder.service_plan_id.is_not(None),
        WorkOrder.kind == kind,
        WorkOrder.created_at >= start,
        WorkOrder.created_at < start + timedelta(minutes=1),
    )
    return list(db.session.scalars(query.order_by(WorkOrder.id)))


ALL_TAKEN = "工单均已接单"


def stale_reasons(deliveries: Sequence[outbox.Claimed]) -> dict[int, str]:
    """A summary whose orders have all been taken (or cancelled) asks for nothing: withdrawn."""
    summaries = [delivery for delivery in deliveries if delivery.message.topic == SUMMARY_TOPIC]
    if not summaries:
        return {}
    ids = {order_id for delivery in summaries for order_id in _order_ids(delivery.message)}
    pending = set(
        db.session.scalars(
            select(WorkOrder.id).where(WorkOrder.id.in_(ids), WorkOrder.status == WorkOrderStatus.PENDING)
        )
    )
    return {delivery.id: ALL_TAKEN for delivery in summaries if not pending.intersection(_order_ids(delivery.message))}


def _order_ids(message: Row) -> list[int]:
    return list((message.payload or {}).get("work_order_ids") or [])
