"""保养计划 / 计量计划 of a device: create (one by one, or for every device of a 设备类型 or a
department), edit, end, list.

Editing never raises an occurrence twice or skips one silently: the occurrences already raised are
settled (`last_due_on`), and a new interval is applied to the same base the next due date was
counted from, never before an occurrence already raised. Moving the next due date by hand is an
explicit, logged change. A plan ends by hand or when its device is scrapped; its orders stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, select

from models import (
    ArchiveStatus,
    Department,
    Device,
    Role,
    ServicePlan,
    ServicePlanStatus,
    User,
    WorkOrder,
    WorkOrderKind,
    WorkOrderStatus,
    db,
)
from models.service_plan import INTERVAL_UNIT_LABELS, IntervalUnit, PlanAnchor
from operations import audit
from operations.access import INSTITUTION_STAFF, require_institution_staff, require_manager
from operations.actors import Actor
from operations.clock import now_utc, today_local
from operations.errors import Conflict, InvalidInput, NotFound
from operations.paging import Page, escape_like, paginate
from operations.service_plans import calendar, checklists

PLANNED_KINDS = (WorkOrderKind.MAINTENANCE, WorkOrderKind.METROLOGY)
PLAN_KIND_LABELS = {WorkOrderKind.MAINTENANCE: "保养", WorkOrderKind.METROLOGY: "计量"}
DEFAULT_ANCHOR = {WorkOrderKind.MAINTENANCE: PlanAnchor.SCHEDULE, WorkOrderKind.METROLOGY: PlanAnchor.COMPLETION}
MAX_DAYS, MAX_MONTHS = 3650, 120
MAX_LEAD_DAYS = 365
MAX_CHECKLIST_ITEMS, MAX_ITEM_LENGTH = checklists.MAX_ITEMS, checklists.MAX_LABEL
FIRST_DUE_HORIZON_YEARS = 5
MAX_BULK = 5000
SCRAPPED = "设备已报废"
ENDED_BY_HAND = "手动结束"
# What the 操作日志 keeps of a plan.
LOGGED_FIELDS = (
    "device_id",
    "kind",
    "interval_count",
    "interval_unit",
    "lead_days",
    "anchor",
    "checklist",
    "contact_id",
    "note",
    "next_due_on",
    "status",
    "ended_reason",
)
READERS = INSTITUTION_STAFF - {Role.CLINICIAN}


@dataclass(frozen=True)
class PlanFields:
    """The form: every field optional on an edit (None: unchanged)."""

    interval_count: int | None = None
    interval_unit: IntervalUnit | None = None
    lead_days: int | None = None
    anchor: PlanAnchor | None = None
    first_due_on: date | None = None  # create: 首次到期日; edit: the next due date, moved by hand
    # The plan's own items (strings or item objects, operations.service_plans.checklists); empty:
    # the device's 设备类型 template.
    checklist: list | None = None
    contact_id: int | None = None
    clear_contact: bool = False  # edit: back to the equipment managers
    note: str | None = None


def plan_label(plan: ServicePlan, device: Device | None = None) -> str:
    device = device or db.session.get(Device, plan.device_id)
    return f"{PLAN_KIND_LABELS[WorkOrderKind(plan.kind)]}计划 {device.unique_code} {device.name}"


REPORTED = "报修"


def source_label(order: WorkOrder) -> str:
    """An order's 来源: 报修, or the plan that raised it (保养计划 / 计量计划)."""
    if order.service_plan_id is None:
        return REPORTED
    return f"{PLAN_KIND_LABELS[WorkOrderKind(order.kind)]}计划"


def system_reporter(order: WorkOrder) -> str:
    """Who stands as the reporter of an order the system raised: 系统（保养计划）."""
    return f"系统（{source_label(order)}）"


def interval_label(plan: ServicePlan) -> str:
    return f"每{plan.interval_count}{INTERVAL_UNIT_LABELS[plan.interval_unit]}"


# -- checks -----------------------------------------------------------------------------------


def _check_kind(kind: str) -> WorkOrderKind:
    try:
        value = WorkOrderKind(kind)
    except ValueError:
        value = None
    if value not in PLANNED_KINDS:
        raise InvalidInput({"kind": "计划类型须为保养（maintenance）或计量（metrology）"})
    return value


def _check_interval(count: int, unit: IntervalUnit, lead_days: int, errors: dict[str, str]) -> None:
    limit = MAX_DAYS if unit is IntervalUnit.DAY else MAX_MONTHS
    if not 1 <= count <= limit:
        errors["interval_count"] = f"周期须为 1–{limit} {INTERVAL_UNIT_LABELS[unit]}"
        return
    if not 0 <= lead_days <= MAX_LEAD_DAYS:
        errors["lead_days"] = f"提前天数须为 0–{MAX_LEAD_DAYS} 天"
    elif lead_days >= calendar.interval_days(count, unit):
        errors["lead_days"] = f"提前天数须小于周期（{calendar.interval_days(count, unit)} 天）"


def _check_due(due_on: date, errors: dict[str, str], name: str = "first_due_on") -> None:
    today = today_local()
    if due_on < today:
        errors[name] = "到期日不能早于今天"
    elif due_on > today.replace(year=today.year + FIRST_DUE_HORIZON_YEARS, day=min(today.day, 28)):
        errors[name] = f"到期日不能晚于 {FIRST_DUE_HORIZON_YEARS} 年之后"


def check_contact(device: Device, contact_id: int) -> int:
    """科室联系人: an active account of the device's department."""
    found = db.session.scalar(
        select(User.id).where(
            User.id == contact_id,
            User.institution_id == device.institution_id,
            User.department_id == device.department_id,
            User.is_active.is_(True),
        )
    )
    if found is None:
        raise InvalidInput({"contact_id": "科室联系人须为设备所属科室的在用账号"})
    return found


def _own_device(actor: Actor, device_id: int) -> Device:
    device = db.session.get(Device, device_id) if actor.institution_id else None
    if device is None or device.institution_id != actor.institution_id:
        raise NotFound("设备不存在")
    return device


def _refuse_scrapped(device: Device) -> None:
    if device.archive_status is ArchiveStatus.SCRAPPED:
        raise Conflict("设备已报废，不能制定保养或计量计划")


# -- creating ---------------------------------------------------------------------------------


def new_plan(
    actor: Actor, device: Device, kind: WorkOrderKind, fields: PlanFields, now: datetime, *, log: bool = True
) -> ServicePlan:
    """A checked plan for the device (InvalidInput before anything is written); `log` False when the
    caller writes one 操作日志 row for many (an import)."""
    errors: dict[str, str] = {}
    if fields.interval_count is None:
        errors["interval_count"] = "请填写周期"
    if fields.interval_unit is None:
        errors["interval_unit"] = "请选择周期单位（天或月）"
    if fields.first_due_on is None:
        errors["first_due_on"] = "请填写首次到期日"
    lead_days = fields.lead_days if fields.lead_days is not None else 0
    if fields.interval_count is not None and fields.interval_unit is not None:
        _check_interval(fields.interval_count, fields.interval_unit, lead_days, errors)
    if fields.first_due_on is not None:
        _check_due(fields.first_due_on, errors)
    checklist = checklists.check_items(fields.checklist or [], errors)
    if errors:
        raise InvalidInput(errors)
    contact_id = check_contact(device, fields.contact_id) if fields.contact_id is not None else None
    plan = ServicePlan(
        institution_id=device.institution_id,
        device_id=device.id,
        kind=kind.value,
        interval_count=fields.interval_count,
        interval_unit=fields.interval_unit,
        lead_days=lead_days,
        anchor=fields.anchor or DEFAULT_ANCHOR[kind],
        anchor_day=fields.first_due_on.day,
        checklist=checklist,
        contact_id=contact_id,
        note=_text(fields.note),
        status=ServicePlanStatus.ACTIVE,
        next_due_on=fields.first_due_on,
        next_run_at=calendar.raise_at(fields.first_due_on, lead_days),
        created_by_id=actor.user_id,
        updated_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(plan)
    db.session.flush()
    if log:
        audit.record(actor, "create", "service_plan", plan.id, label=plan_label(plan, device), changes=_created(plan))
    return plan


def _created(plan: ServicePlan) -> dict[str, Any]:
    return audit.created(plan, LOGGED_FIELDS)


def create_plan(actor: Actor, device_id: int, kind: str, fields: PlanFields) -> ServicePlan:
    require_manager(actor)
    device = _own_device(actor, device_id)
    plan_kind = _check_kind(kind)
    _refuse_scrapped(device)
    return new_plan(actor, device, plan_kind, fields, now_utc())


@dataclass
class BulkResult:
    created: list[ServicePlan] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {device_id, unique_code, reason}


def create_for_devices(
    actor: Actor,
    kind: str,
    fields: PlanFields,
    *,
    category: str | None = None,
    department_id: int | None = None,
) -> BulkResult:
    """The same plan for every device of a 设备类型 or a department (not scrapped): a device that
    already has an active plan of this kind is skipped and named, so running it twice adds none."""
    require_manager(actor)
    plan_kind = _check_kind(kind)
    if (category is None) == (department_id is None):
        raise InvalidInput({"category": "请选择一个设备类型或一个科室"})
    query = select(Device).where(Device.institution_id == actor.institution_id)
    if category is not None:
        query = query.where(Device.category == category.strip())
    else:
        if (
            db.session.scalar(
                select(Department.id).where(
                    Department.id == department_id, Department.institution_id == actor.institution_id
                )
            )
            is None
        ):
            raise NotFound("科室不存在")
        query = query.where(Device.department_id == department_id)
    devices = db.session.scalars(query.order_by(Device.unique_code).limit(MAX_BULK + 1)).all()
    if not devices:
        raise InvalidInput({"category" if category is not None else "department_id": "没有符合条件的设备"})
    if len(devices) > MAX_BULK:
        raise InvalidInput({"category": f"一次最多为 {MAX_BULK} 台设备制定计划"})
    planned = set(
        db.session.scalars(
            select(ServicePlan.device_id).where(
                ServicePlan.device_id.in_([device.id for device in devices]),
                ServicePlan.kind == plan_kind.value,
                ServicePlan.status == ServicePlanStatus.ACTIVE,
            )
        )
    )
    result = BulkResult()
    now = now_utc()
    for device in devices:
        reason = None
        if device.archive_status is ArchiveStatus.SCRAPPED:
            reason = SCRAPPED
        elif device.id in planned:
            reason = f"已有执行中的{PLAN_KIND_LABELS[plan_kind]}计划"
        if reason:
            result.skipped.append({"device_id": device.id, "unique_code": device.unique_code, "reason": reason})
            continue
        # A contact belongs to one department: for a 设备类型 it holds only where it fits.
        contact = fields.contact_id
        if contact is not None and device.department_id != _department_of(contact):
            contact = None
        result.created.append(new_plan(actor, device, plan_kind, _with_contact(fields, contact), now))
    return result


def _department_of(user_id: int) -> int | None:
    return db.session.scalar(select(User.department_id).where(User.id == user_id))


def _with_contact(fields: PlanFields, contact_id: int | None) -> PlanFields:
    return PlanFields(**{**fields.__dict__, "contact_id": contact_id})


# -- editing and ending -----------------------------------------------------------------------


def _own_plan(actor: Actor, plan_id: int, *, lock: bool = False) -> ServicePlan:
    query = select(ServicePlan).where(ServicePlan.id == plan_id)
    if lock:
        query = query.with_for_update()
    plan = db.session.scalar(query) if actor.institution_id else None
    if plan is None or plan.institution_id != actor.institution_id:
        raise NotFound("计划不存在")
    return plan


def has_open_occurrence(plan_id: int) -> bool:
    """An order of the plan not completed and not cancelled: a completion plan waits for it."""
    return (
        db.session.scalar(
            select(WorkOrder.id)
            .where(
                WorkOrder.service_plan_id == plan_id,
                WorkOrder.completed_at.is_(None),
                WorkOrder.status != WorkOrderStatus.CANCELLED,
            )
            .limit(1)
        )
        is not None
    )


def update_plan(actor: Actor, plan_id: int, fields: PlanFields) -> ServicePlan:
    require_manager(actor)
    plan = _own_plan(actor, plan_id, lock=True)
    if plan.status is ServicePlanStatus.ENDED:
        raise Conflict("计划已结束，不能修改")
    device = db.session.get(Device, plan.device_id)
    _refuse_scrapped(device)
    before = audit.snapshot(plan, LOGGED_FIELDS)
    errors: dict[str, str] = {}
    count = fields.interval_count if fields.interval_count is not None else plan.interval_count
    unit = fields.interval_unit or plan.interval_unit
    lead_days = fields.lead_days if fields.lead_days is not None else plan.lead_days
    _check_interval(count, unit, lead_days, errors)
    if fields.first_due_on is not None:
        _check_due(fields.first_due_on, errors, "next_due_on")
        if plan.last_due_on is not None and fields.first_due_on <= plan.last_due_on:
            errors["next_due_on"] = f"下次到期日须晚于已生成工单的到期日（{plan.last_due_on.isoformat()}）"
        elif plan.next_due_on is None:
            errors["next_due_on"] = "本期工单完成后才能确定下次到期日"
    checklist = checklists.check_items(fields.checklist, errors) if fields.checklist is not None else plan.checklist
    if errors:
        raise InvalidInput(errors)
    if fields.contact_id is not None:
        plan.contact_id = check_contact(device, fields.contact_id)
    elif fields.clear_contact:
        plan.contact_id = None
    interval_changed = (count, unit) != (plan.interval_count, plan.interval_unit)
    plan.interval_count, plan.interval_unit, plan.lead_days = count, unit, lead_days
    plan.checklist = checklist
    if fields.note is not None:
        plan.note = _text(fields.note)
    if fields.anchor is not None and fields.anchor is not plan.anchor:
        _change_anchor(plan, fields.anchor)
    if fields.first_due_on is not None:
        plan.next_due_on, plan.counted_from, plan.anchor_day = fields.first_due_on, None, fields.first_due_on.day
    elif interval_changed and plan.next_due_on is not None and plan.counted_from is not None:
        plan.next_due_on = calendar.next_after(
            plan.counted_from, count, unit, plan.anchor_day, not_before=plan.last_due_on
        )
    _reschedule(plan)
    plan.updated_by_id = actor.user_id
    plan.updated_at = now_utc()
    db.session.flush()
    changes = audit.difference(before, audit.snapshot(plan, LOGGED_FIELDS))
    if changes:
        audit.record(actor, "update", "service_plan", plan.id, label=plan_label(plan, device), changes=changes)
    return plan


def _change_anchor(plan: ServicePlan, anchor: PlanAnchor) -> None:
    """schedule → completion: with an occurrence still open, the next waits for its completion.
    completion → schedule: a plan waiting for a completion continues from the last due date."""
    plan.anchor = anchor
    if anchor is PlanAnchor.COMPLETION and plan.last_due_on is not None and has_open_occurrence(plan.id):
        plan.next_due_on = plan.counted_from = None
    elif anchor is PlanAnchor.SCHEDULE and plan.next_due_on is None and plan.last_due_on is not None:
        plan.counted_from = plan.last_due_on
        plan.next_due_on = calendar.next_after(
            plan.last_due_on, plan.interval_count, plan.interval_unit, plan.anchor_day
        )


def _reschedule(plan: ServicePlan) -> None:
    active = plan.status is ServicePlanStatus.ACTIVE and plan.next_due_on is not None
    plan.next_run_at = calendar.raise_at(plan.next_due_on, plan.lead_days) if active else None


def end_plan(actor: Actor, plan_id: int, reason: str | None = None) -> ServicePlan:
    """结束计划: nothing more is raised; its orders and their records stay."""
    require_manager(actor)
    plan = _own_plan(actor, plan_id, lock=True)
    if plan.status is ServicePlanStatus.ENDED:
        raise Conflict("计划已结束")
    before = audit.snapshot(plan, LOGGED_FIELDS)
    finish(plan, _text(reason) or ENDED_BY_HAND, now_utc())
    plan.updated_by_id = actor.user_id
    db.session.flush()
    audit.record(
        actor,
        "end",
        "service_plan",
        plan.id,
        label=plan_label(plan),
        changes=audit.difference(before, audit.snapshot(plan, LOGGED_FIELDS)),
    )
    return plan


def finish(plan: ServicePlan, reason: str, now: datetime) -> None:
    """End the plan (the caller logs it) and stop its overdue reminders."""
    from operations.service_plans import overdue

    plan.status = ServicePlanStatus.ENDED
    plan.ended_at, plan.ended_reason = now, reason[:100]
    plan.next_run_at = None
    plan.updated_at = now
    overdue.stop(plan.id, reason)


def end_for_scrapped_device(device: Device, now: datetime) -> list[int]:
    """The device was scrapped: its active plans end (the system's decision, in the log)."""
    plans = db.session.scalars(
        select(ServicePlan).where(ServicePlan.device_id == device.id, ServicePlan.status == ServicePlanStatus.ACTIVE)
    ).all()
    for plan in plans:
        end_by_system(plan, SCRAPPED, now, device)
    return [plan.id for plan in plans]


def end_by_system(plan: ServicePlan, reason: str, now: datetime, device: Device | None = None) -> None:
    """The system ends the plan (its device was scrapped), in the institution's 操作日志."""
    before = audit.snapshot(plan, LOGGED_FIELDS)
    finish(plan, reason, now)
    db.session.flush()
    audit.record(
        audit.SYSTEM,
        "end",
        "service_plan",
        plan.id,
        label=plan_label(plan, device),
        changes=audit.difference(before, audit.snapshot(plan, LOGGED_FIELDS)),
        institution_id=plan.institution_id,
    )


# -- reading ----------------------------------------------------------------------------------


def overdue_clause(today: date):
    """SQL: the plan has an occurrence not done by its due date (and not cancelled)."""
    return exists().where(
        WorkOrder.service_plan_id == ServicePlan.id,
        WorkOrder.plan_due_on < today,
        WorkOrder.completed_at.is_(None),
        WorkOrder.status != WorkOrderStatus.CANCELLED,
    )


def list_plans(
    actor: Actor,
    *,
    device_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    keyword: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """计划 list: soonest next due date first (a plan waiting for a completion, then ended ones, last)."""
    require_institution_staff(actor, READERS)
    query = select(ServicePlan).where(ServicePlan.institution_id == actor.institution_id)
    if device_id is not None:
        _own_device(actor, device_id)
        query = query.where(ServicePlan.device_id == device_id)
    if kind is not None:
        query = query.where(ServicePlan.kind == _check_kind(kind).value)
    today = today_local()
    if status == "ended":
        query = query.where(ServicePlan.status == ServicePlanStatus.ENDED)
    elif status == "overdue":
        query = query.where(ServicePlan.status == ServicePlanStatus.ACTIVE, overdue_clause(today))
    elif status == "active":
        query = query.where(ServicePlan.status == ServicePlanStatus.ACTIVE, ~overdue_clause(today))
    if keyword:
        pattern = f"%{escape_like(keyword.strip())}%"
        query = query.where(
            ServicePlan.device_id.in_(
                select(Device.id).where(
                    Device.institution_id == actor.institution_id,
                    (Device.name.ilike(pattern, escape="\\")) | (Device.unique_code.ilike(pattern, escape="\\")),
                )
            )
        )
    order = (
        (ServicePlan.status == ServicePlanStatus.ENDED),
        ServicePlan.next_due_on.is_(None),
        ServicePlan.next_due_on,
        ServicePlan.id,
    )
    return paginate(query, order, page=page, per_page=per_page)


def get_plan(actor: Actor, plan_id: int) -> ServicePlan:
    require_institution_staff(actor, READERS)
    return _own_plan(actor, plan_id)


@dataclass(frozen=True)
class PlanState:
    status: str  # active, overdue, ended
    overdue_since: date | None  # the earliest occurrence not done by its due date


def states(plans: list[ServicePlan]) -> dict[int, PlanState]:
    """Each plan's status as people read it, in one query."""
    today = today_local()
    ids = [plan.id for plan in plans]
    earliest = (
        dict(
            db.session.execute(
                select(WorkOrder.service_plan_id, func.min(WorkOrder.plan_due_on))
                .where(
                    WorkOrder.service_plan_id.in_(ids),
                    WorkOrder.plan_due_on < today,
                    WorkOrder.completed_at.is_(None),
                    WorkOrder.status != WorkOrderStatus.CANCELLED,
                )
                .group_by(WorkOrder.service_plan_id)
            ).all()
        )
        if ids
        else {}
    )
    found = {}
    for plan in plans:
        since = earliest.get(plan.id)
        if plan.status is ServicePlanStatus.ENDED:
            found[plan.id] = PlanState("ended", since)
        else:
            found[plan.id] = PlanState("overdue" if since else "active", since)
    return found


def occurrences(plan_id: int, limit: int = 100) -> list[WorkOrder]:
    """The plan's orders, newest occurrence first: its history, kept after it ends."""
    return list(
        db.session.scalars(
            select(WorkOrder)
            .where(WorkOrder.service_plan_id == plan_id)
            .order_by(WorkOrder.plan_due_on.desc(), WorkOrder.id.desc())
            .limit(limit)
        )
    )


def devices_of(plans: list[ServicePlan]) -> dict[int, Device]:
    ids = {plan.device_id for plan in plans}
    return {device.id: device for device in db.session.scalars(select(Device).where(Device.id.in_(ids)))} if ids else {}


def raise_on(plan: ServicePlan) -> date | None:
    return calendar.raise_on(plan.next_due_on, plan.lead_days) if plan.next_due_on else None


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None
