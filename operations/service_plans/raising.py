"""The minute sweep's part for service plans: each plan whose next occurrence is due to be raised
(`next_run_at` has come) gets its work order, routed as a reported order is.

- Plans are claimed as the alert sweep claims its plans: by (status, next_run_at), locked with SKIP
  LOCKED on PostgreSQL so two sweeps share them; and the order's unique (plan, due date) makes even
  a doubled decision one order.
- A plan owing several occurrences (the scheduler was down) raises each of them, oldest first: none
  is skipped silently; one raised after its due date shows as overdue at once.
- The order: reporter the system, contact the plan's 科室联系人 (their mobile and the department's
  phone), `expected_by` the end of the due date, the plan's checklist copied.
- One sweep raises its orders in one transaction (at most BATCH plans; the next minute takes the
  rest). The engineers and dispatchers told of two or more new orders of a kind get one message on
  their phone ("今日新增保养工单 N 张", opening the mini-program's list of that sweep's orders,
  `summary_page`) and each order in their inbox; one order is told as usual. The
  messages go on the normal path (the `bulk` queue), not the urgent one of a reported fault.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError

from models import (
    ArchiveStatus,
    ChannelName,
    Department,
    Device,
    Institution,
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
from models.work_order import Urgency
from operations import audit, outbox
from operations.actors import Actor
from operations.clock import LOCAL_TZ, to_local
from operations.service_plans import calendar, checklists
from operations.service_plans.plans import PLAN_KIND_LABELS, SCRAPPED, end_by_system
from operations.work_orders.access import dispatchers_of, managers_of, visible_orders, workers_of
from operations.work_orders.flow import audit_order, record_event
from operations.work_orders.notices import device_label, notify
from operations.work_orders.orders import INTAKE_FIELDS, device_snapshot, route

BATCH = 500
SUMMARY_TOPIC = "work_order.planned"  # the work-order family: its templates, preferences and quotas
# The mini-program page a summary opens: the orders that sweep raised (`summary_page`).
SUMMARY_PAGE = "pages/work-orders/planned"
DEVICES_NAMED = 3


@dataclass(frozen=True)
class Raised:
    order: WorkOrder
    event: WorkOrderEvent


def _due_plans(now: datetime, limit: int) -> list[ServicePlan]:
    query = (
        select(ServicePlan)
        .where(
            ServicePlan.status == ServicePlanStatus.ACTIVE,
            ServicePlan.next_run_at <= now,
            # A deactivated institution's plans wait; on reactivation they raise what they owe.
            ServicePlan.institution_id.in_(select(Institution.id).where(Institution.is_active.is_(True))),
        )
        .order_by(ServicePlan.next_run_at, ServicePlan.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=ServicePlan, skip_locked=True)
    return list(db.session.scalars(query))


def any_due(now: datetime) -> bool:
    return bool(_due_plans(now, 1))


def sweep(now: datetime, limit: int = BATCH) -> tuple[list[Raised], list[outbox.NewMessage]]:
    """Raise the due occurrences of up to `limit` plans (all those each owes by now) and write their
    notices; the caller commits, then hands the messages to the queue."""
    raised: list[Raised] = []
    for plan in _due_plans(now, limit):
        device = db.session.get(Device, plan.device_id)
        while plan.status is ServicePlanStatus.ACTIVE and plan.next_run_at is not None and plan.next_run_at <= now:
            if device.archive_status is ArchiveStatus.SCRAPPED:
                end_by_system(plan, SCRAPPED, now, device)
                break
            made = _raise(plan, device, now)
            if made is not None:
                raised.append(made)
            _advance(plan)
    db.session.flush()
    return raised, announce(raised, now)


def _advance(plan: ServicePlan) -> None:
    """The occurrence is raised: a schedule plan counts on from its due date; a completion plan
    waits for the order's completion (operations.service_plans.occurrences)."""
    due = plan.next_due_on
    plan.last_due_on = due
    if plan.anchor.value == "schedule":
        plan.counted_from = due
        plan.next_due_on = calendar.next_after(due, plan.interval_count, plan.interval_unit, plan.anchor_day)
        plan.next_run_at = calendar.raise_at(plan.next_due_on, plan.lead_days)
    else:
        plan.counted_from = plan.next_due_on = plan.next_run_at = None


def contact_methods(contact: User | None, department: Department | None) -> list[dict[str, str]]:
    """The contact's mobile and the department's phone, whichever are known."""
    methods = []
    if contact is not None and contact.phone:
        methods.append({"kind": "mobile", "value": contact.phone})
    if department is not None and department.phone:
        methods.append({"kind": "landline", "value": department.phone})
    return methods


def _raise(plan: ServicePlan, device: Device, now: datetime) -> Raised | None:
    kind = WorkOrderKind(plan.kind)
    due = plan.next_due_on
    authorization = route(device, kind, to_local(now).date())
    contact = db.session.get(User, plan.contact_id) if plan.contact_id else None
    if contact is not None and not contact.is_active:
        contact = None  # stopped since: the equipment managers stand in
    department = db.session.get(Department, device.department_id)
    managers = managers_of(plan.institution_id)
    fallback = db.session.get(User, managers[0]) if managers and contact is None else None
    label = PLAN_KIND_LABELS[kind]
    order = WorkOrder(
        institution_id=plan.institution_id,
        device_id=device.id,
        kind=kind,
        urgency=Urgency.NORMAL,
        status=WorkOrderStatus.PENDING,
        reporter_id=None,
        contact_id=contact.id if contact else None,
        department_id=device.department_id,
        contact_name=(contact or fallback).display_name if (contact or fallback) else "设备科",
        contact_methods=contact_methods(contact or fallback, department),
        device_snapshot=device_snapshot(device),
        expected_outcome=f"按{label}计划完成{label}（{len(plan.checklist or [])}项检查）",
        # The end of the due date, Asia/Shanghai.
        expected_by=datetime.combine(due + timedelta(days=1), time.min, tzinfo=LOCAL_TZ) - timedelta(seconds=1),
        vendor_id=authorization.vendor_id if authorization else None,
        authorization_id=authorization.id if authorization else None,
        service_plan_id=plan.id,
        plan_due_on=due,
        checklist=checklists.resolve_checklist(plan, device),
        created_at=now,
        updated_at=now,
    )
    try:
        with db.session.begin_nested():  # the occurrence's unique key: raised once, whoever sweeps
            db.session.add(order)
            db.session.flush()
    except IntegrityError:
        return None
    routed_to = {"vendor_id": order.vendor_id} if order.vendor_id else {"in_house": True}
    event = record_event(
        order,
        WorkOrderEventKind.CREATED,
        None,
        now,
        from_status=None,
        detail={"service_plan_id": plan.id, "due_on": due.isoformat(), "plan": label, **routed_to},
    )
    audit_order(audit.SYSTEM, "create", order, audit.created(order, (*INTAKE_FIELDS, "service_plan_id", "plan_due_on")))
    return Raised(order, event)


# -- telling people ---------------------------------------------------------------------------


def _pushed_to(order: WorkOrder) -> list[int]:
    """Whom a new order's push asks to take it: its side's engineers and its dispatchers."""
    return list(dict.fromkeys([*workers_of(order), *dispatchers_of(order)]))


def announce(raised: Sequence[Raised], now: datetime) -> list[outbox.NewMessage]:
    """Each order's notices, and per person and kind told of two or more, one summary on the phone."""
    told: dict[tuple[int, WorkOrderKind], list[WorkOrder]] = defaultdict(list)
    for item in raised:
        for user_id in _pushed_to(item.order):
            told[(user_id, item.order.kind)].append(item.order)
    quiet_for: dict[int, set[int]] = defaultdict(set)  # order id -> people told in a summary
    for (user_id, _), orders in told.items():
        if len(orders) > 1:
            for order in orders:
                quiet_for[order.id].add(user_id)
    messages: list[outbox.NewMessage] = []
    for item in raised:
        messages += notify(item.order, item.event, quiet=frozenset(quiet_for[item.order.id]), announce=False)
    summaries = [_summary(user_id, kind, orders, now) for (user_id, kind), orders in told.items() if len(orders) > 1]
    return messages + outbox.fan_out(summaries, now)


def _summary(user_id: int, kind: WorkOrderKind, orders: list[WorkOrder], now: datetime) -> outbox.Notice:
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
