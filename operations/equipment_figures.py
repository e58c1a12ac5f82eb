"""The equipment figures beside the work-order statistics (issue 15 item 7):

- 停机时长 per device over a range of days: the hours it spent 停用待修 (its DeviceStatePeriods),
  joined with the hours from the report to the completion of its 停机 orders (Urgency.DOWNTIME; an
  order still open, or sent back for rework, counts until now). Overlapping time counts once: the
  intervals are merged per device before they are added up, and clipped to the range (and to now).
- 保养按期完成率: the 保养 occurrences of plans (orders raised from a 保养计划) due within the range,
  done by their due date (completed on it or before, Asia/Shanghai), by department and by vendor.
  An occurrence counts once it is done or its due date has passed; one still open before its
  due date is not decided yet, and a cancelled one was taken off the plan's work.
- 计量逾期: the devices with an active 计量计划 whose occurrence is past its due date and not done,
  or whose next due date has passed before it was raised. Not bound to the range: it is now.

Downtime and metrology are the institution's (a vendor admin gets None for them); the on-time
rate covers the orders the caller may see (operations.work_orders.access.visible_orders).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, union_all

from models import (
    ArchiveStatus,
    Department,
    Device,
    DeviceStatePeriod,
    ServicePlan,
    ServicePlanStatus,
    Vendor,
    WorkOrder,
    WorkOrderKind,
    WorkOrderStatus,
    db,
)
from models.work_order import DEVICE_CONDITION_LABELS, OPEN_STATUSES, DeviceCondition, Urgency
from operations.actors import Actor
from operations.clock import LOCAL_TZ, now_utc, to_local, today_local
from operations.work_orders.access import visible_orders

IN_HOUSE_NAME = "院内工程师"
HOUR = 3600


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)


def _institution_side(actor: Actor) -> bool:
    return actor.institution_id is not None and not actor.is_vendor_side


# --- 停机时长 ----------------------------------------------------------------------------------


def merged_seconds(intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> float:
    """The seconds of [start, end) covered by any of the intervals, overlaps counted once."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in intervals if a < end and b > start)
    total = 0.0
    current_start = current_end = None
    for a, b in clipped:
        if current_end is None or a > current_end:
            if current_end is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = a, b
        else:
            current_end = max(current_end, b)
    if current_end is not None:
        total += (current_end - current_start).total_seconds()
    return total


def downtime_intervals(institution_id: int, start: datetime, end: datetime, now: datetime) -> dict[int, list]:
    """Device id -> its down intervals touching [start, end): 停用待修 periods and 停机 orders."""
    found: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    periods = db.session.execute(
        select(DeviceStatePeriod.device_id, DeviceStatePeriod.started_at, DeviceStatePeriod.ended_at).where(
            DeviceStatePeriod.institution_id == institution_id,
            DeviceStatePeriod.state == DeviceCondition.OUT_OF_SERVICE,
            DeviceStatePeriod.started_at < end,
            or_(DeviceStatePeriod.ended_at.is_(None), DeviceStatePeriod.ended_at > start),
        )
    )
    for device_id, started_at, ended_at in periods:
        found[device_id].append((started_at, ended_at or now))
    orders = db.session.execute(
        select(WorkOrder.device_id, WorkOrder.status, WorkOrder.created_at, WorkOrder.completed_at).where(
            WorkOrder.institution_id == institution_id,
            WorkOrder.urgency == Urgency.DOWNTIME,
            WorkOrder.status != WorkOrderStatus.CANCELLED,
            WorkOrder.created_at < end,
            or_(WorkOrder.completed_at.is_(None), WorkOrder.completed_at > start, WorkOrder.status.in_(OPEN_STATUSES)),
        )
    )
    for device_id, status, created_at, completed_at in orders:
        # Sent back for rework (or never completed): the device is still down.
        until = now if status in OPEN_STATUSES or completed_at is None else completed_at
        found[device_id].append((created_at, until))
    return found


def downtime(actor: Actor, date_from: date, date_to: date) -> dict[str, Any] | None:
    """停机时长 per device over [date_from, date_to] (Asia/Shanghai days, both included), in hours,
    the longest first; only devices that were down in the range."""
    if not _institution_side(actor):
        return None
    now = now_utc()
    start = _day_start(date_from)
    end = min(_day_start(date_to + timedelta(days=1)), now)
    intervals = downtime_intervals(actor.institution_id, start, end, now) if start < end else {}
    hours = {device_id: merged_seconds(found, start, end) / HOUR for device_id, found in intervals.items()}
    hours = {device_id: value for device_id, value in hours.items() if value > 0}
    devices = _devices(list(hours))
    items = [
        {**devices[device_id], "downtime_hours": round(value, 2)}
        for device_id, value in hours.items()
        if device_id in devices
    ]
    items.sort(key=lambda item: (-item["downtime_hours"], item["unique_code"]))
    return {"total_hours": round(sum(hours.values()), 2), "devices": len(items), "items": items}


def _devices(device_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not device_ids:
        return {}
    rows = db.session.execute(
        select(Device.id, Device.unique_code, Device.name, Device.running_state, Department.name)
        .join(Department, Department.id == Device.department_id)
        .where(Device.id.in_(device_ids))
    )
    return {
        device_id: {
            "device_id": device_id,
            "unique_code": code,
            "device_name": name,
            "department": department,
            "running_state": state.value,
            "running_state_label": DEVICE_CONDITION_LABELS[state],
        }
        for device_id, code, name, state, department in rows
    }


# --- 保养按期完成率 ------------------------------------------------------------------------------


def pm_on_time(actor: Actor, date_from: date, date_to: date, vendor_id: int | None = None) -> dict[str, Any]:
    """The 保养 occurrences due on [date_from, date_to]: how many were done by their due date,
    overall, per department and per vendor (the hospital's own engineers: vendor None)."""
    query = visible_orders(actor).where(
        WorkOrder.kind == WorkOrderKind.MAINTENANCE,
        WorkOrder.service_plan_id.is_not(None),
        WorkOrder.plan_due_on >= date_from,
        WorkOrder.plan_due_on <= date_to,
        WorkOrder.status != WorkOrderStatus.CANCELLED,
    )
    if vendor_id is not None:
        query = query.where(WorkOrder.vendor_id == vendor_id)
    rows = db.session.execute(
        query.with_only_columns(
            WorkOrder.department_id, WorkOrder.vendor_id, WorkOrder.plan_due_on, WorkOrder.completed_at
        )
    ).all()
    today = today_local()
    decided = [row for row in rows if row.completed_at is not None or row.plan_due_on < today]
    by_department: dict[int, list] = defaultdict(list)
    by_vendor: dict[int | None, list] = defaultdict(list)
    for row in decided:
        by_department[row.department_id].append(row)
        by_vendor[row.vendor_id].append(row)
    departments = _names(Department, set(by_department))
    vendors = {None: IN_HOUSE_NAME} | _names(Vendor, {v for v in by_vendor if v is not None})
    per_department = [
        {"department_id": key, "department": departments.get(key), **_rate(group)}
        for key, group in by_department.items()
    ]
    per_vendor = [
        {"vendor_id": key, "vendor_name": vendors.get(key), **_rate(group)} for key, group in by_vendor.items()
    ]
    return {
        **_rate(decided),
        "not_due_yet": len(rows) - len(decided),
        "per_department": sorted(per_department, key=lambda item: (-item["due"], item["department"] or "")),
        "per_vendor": sorted(per_vendor, key=lambda item: (-item["due"], item["vendor_id"] is not None)),
    }


def _on_time(row) -> bool:
    return row.completed_at is not None and to_local(row.completed_at).date() <= row.plan_due_on


def _rate(rows: list) -> dict[str, Any]:
    on_time = sum(_on_time(row) for row in rows)
    done_late = sum(row.completed_at is not None and not _on_time(row) for row in rows)
    return {
        "due": len(rows),
        "on_time": on_time,
        "done_late": done_late,
        "not_done": len(rows) - on_time - done_late,
        "on_time_percent": round(100 * on_time / len(rows), 1) if rows else None,
    }


def _names(model, ids: set) -> dict:
    if not ids:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())


# --- 计量逾期 ----------------------------------------------------------------------------------


def metrology_overdue_dues(today: date) -> Select:
    """SQL: (device_id, due) for each device overdue for 计量, its earliest overdue due date."""
    active = (ServicePlan.kind == WorkOrderKind.METROLOGY.value, ServicePlan.status == ServicePlanStatus.ACTIVE)
    not_raised = select(ServicePlan.device_id.label("device_id"), ServicePlan.next_due_on.label("due")).where(
        *active, ServicePlan.next_due_on < today
    )
    not_done = (
        select(WorkOrder.device_id.label("device_id"), WorkOrder.plan_due_on.label("due"))
        .join(ServicePlan, ServicePlan.id == WorkOrder.service_plan_id)
        .where(
            *active,
            WorkOrder.plan_due_on < today,
            WorkOrder.completed_at.is_(None),
            WorkOrder.status != WorkOrderStatus.CANCELLED,
        )
    )
    both = union_all(not_raised, not_done).subquery()
    return select(both.c.device_id, func.min(both.c.due).label("due")).group_by(both.c.device_id)


def metrology_overdue_clause(today: date | None = None):
    """SQL: the device is overdue for 计量 (the device list's filter)."""
    dues = metrology_overdue_dues(today or today_local()).subquery()
    return Device.id.in_(select(dues.c.device_id))


def metrology_overdue(actor: Actor, limit: int | None = None) -> dict[str, Any] | None:
    """The institution's devices overdue for 计量, the longest overdue first: total and rows."""
    if not _institution_side(actor):
        return None
    today = today_local()
    dues = metrology_overdue_dues(today).subquery()
    query = (
        select(Device.id, Device.unique_code, Device.name, Department.name, dues.c.due)
        .join(dues, dues.c.device_id == Device.id)
        .join(Department, Department.id == Device.department_id)
        .where(Device.institution_id == actor.institution_id)
    )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.order_by(dues.c.due, Device.unique_code).limit(limit)).all() if total else []
    return {
        "total": total or 0,
        "items": [
            {
                "device_id": device_id,
                "unique_code": code,
                "device_name": name,
                "department": department,
                "due_on": due.isoformat(),
                "days_overdue": (today - due).days,
            }
            for device_id, code, name, department, due in rows
        ],
    }


def equipment_figures(actor: Actor, *, date_from: date, date_to: date, vendor_id: int | None = None) -> dict:
    """The three figures as the statistics page shows them (keys downtime, pm_on_time,
    metrology_overdue); the vendor filter narrows the on-time rate only."""
    return {
        "downtime": downtime(actor, date_from, date_to),
        "pm_on_time": pm_on_time(actor, date_from, date_to, vendor_id),
        "metrology_overdue": metrology_overdue(actor),
    }


# --- 首页's device flags -----------------------------------------------------------------------

FLAGGED_STATES = (DeviceCondition.OUT_OF_SERVICE, DeviceCondition.SCRAP_SUGGESTED)


def devices_in_state(actor: Actor, state: DeviceCondition, limit: int) -> dict[str, Any]:
    """The institution's archived devices in `state`: how many, and the longest in it first."""
    since = (
        select(DeviceStatePeriod.device_id, func.max(DeviceStatePeriod.started_at).label("since"))
        .where(DeviceStatePeriod.ended_at.is_(None))
        .group_by(DeviceStatePeriod.device_id)
        .subquery()
    )
    query = (
        select(Device.id, Device.unique_code, Device.name, Department.name, since.c.since)
        .join(Department, Department.id == Device.department_id)
        .outerjoin(since, since.c.device_id == Device.id)
        .where(
            Device.institution_id == actor.institution_id,
            Device.running_state == state,
            Device.archive_status != ArchiveStatus.SCRAPPED,
        )
    )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.order_by(since.c.since, Device.unique_code).limit(limit)).all() if total else []
    return {
        "total": total or 0,
        "items": [
            {"device_id": device_id, "unique_code": code, "device_name": name, "department": department, "since": at}
            for device_id, code, name, department, at in rows
        ],
    }


def device_flags(actor: Actor, limit: int) -> dict[str, Any] | None:
    """What 首页 flags for the equipment office: devices 停用待修, 建议报废 (the manager decides on
    scrapping) and overdue for 计量; None for a vendor's people."""
    if not _institution_side(actor):
        return None
    return {
        "out_of_service": devices_in_state(actor, DeviceCondition.OUT_OF_SERVICE, limit),
        "scrap_suggested": devices_in_state(actor, DeviceCondition.SCRAP_SUGGESTED, limit),
        "metrology_overdue": metrology_overdue(actor, limit),
    }
