"""任务评估与派工: triage, choosing an engineer by skill and load, reassigning, the ETA.

The dispatcher (the vendor admin, or the equipment office for in-house orders) sees the open
orders waiting for an engineer and those in hand (`board`), and picks from the engineers of the
order's side. Candidates are ranked: skilled in the device's 设备类型 first,
then fewest open orders, then name; assigning without naming an engineer takes the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from models import EngineerSkill, Role, User, WorkOrder, db
from models.work_order import FAULT_LEVEL_LABELS, OPEN_STATUSES, FaultLevel, WorkOrderEventKind
from operations import audit
from operations.access import require_institution_staff
from operations.actors import Actor
from operations.clock import now_utc
from operations.device_types import check_skills
from operations.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from operations.paging import Page, paginate
from operations.work_orders.access import (
    is_dispatcher_for,
    require_dispatcher,
    visible_order,
    visible_orders,
    workers_of,
)
from operations.work_orders.eta import ETA_STATUSES, check_eta, eta_label
from operations.work_orders.flow import audit_order, record_event, take_step, user_name
from operations.work_orders.notices import notify
from operations.work_orders.orders import EMERGENCIES_FIRST

MAX_SKILLS = 30
DISPATCHERS = frozenset({Role.VENDOR_ADMIN, Role.EQUIPMENT_MANAGER})
TRIAGE_FIELDS = ("fault_level", "triage_note")


@dataclass(frozen=True)
class Candidate:
    user_id: int
    name: str
    phone: str | None
    skilled: bool  # skilled in the device's category
    open_orders: int
    skills: list[str]


def open_orders_by_engineer(user_ids: list[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(WorkOrder.assignee_id, func.count())
        .where(WorkOrder.assignee_id.in_(user_ids), WorkOrder.status.in_(OPEN_STATUSES))
        .group_by(WorkOrder.assignee_id)
    )
    return dict(rows.all())


def skills_of(user_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {user_id: [] for user_id in user_ids}
    for user_id, category in db.session.execute(
        select(EngineerSkill.user_id, EngineerSkill.category)
        .where(EngineerSkill.user_id.in_(user_ids))
        .order_by(EngineerSkill.category)
    ):
        found[user_id].append(category)
    return found


def board(actor: Actor, *, assigned: bool, page: int, per_page: int) -> Page:
    """派工列表 of a dispatcher: the open orders they may see with nobody on them (待派工), or with
    an engineer assigned or accepted (进行中, `assigned`); emergencies first, then the longest
    waiting. A vendor admin sees their vendor's orders, the equipment office its institution's."""
    if actor.role not in DISPATCHERS:
        raise PermissionDenied("只有派工负责人（服务商管理员或设备科）可以查看派工列表")
    held = WorkOrder.assignee_id.is_not(None) if assigned else WorkOrder.assignee_id.is_(None)
    query = visible_orders(actor).where(WorkOrder.status.in_(OPEN_STATUSES), held)
    return paginate(query, (EMERGENCIES_FIRST, WorkOrder.id), page=page, per_page=per_page)


def candidates(actor: Actor, work_order_id: int) -> list[Candidate]:
    order = visible_order(actor, work_order_id)
    require_dispatcher(actor, order)
    return rank(order)


def rank(order: WorkOrder) -> list[Candidate]:
    ids = workers_of(order)
    users = {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}
    load = open_orders_by_engineer(ids)
    skills = skills_of(ids)
    category = (order.device_snapshot or {}).get("category")
    found = [
        Candidate(
            user_id=user_id,
            name=users[user_id].display_name,
            phone=users[user_id].phone,
            skilled=bool(category) and category in skills[user_id],
            open_orders=load.get(user_id, 0),
            skills=skills[user_id],
        )
        for user_id in ids
    ]
    return sorted(found, key=lambda candidate: (not candidate.skilled, candidate.open_orders, candidate.name))


def assign(actor: Actor, work_order_id: int, engineer_id: int | None = None, note: str | None = None) -> WorkOrder:
    """派工 / 改派. The engineer must accept the assignment (the order goes back to 待接单 for them)."""
    order = visible_order(actor, work_order_id)
    require_dispatcher(actor, order)
    ranked = rank(order)
    if engineer_id is None:
        if not ranked:
            raise Conflict("没有可派工的工程师")
        engineer_id = ranked[0].user_id
    elif engineer_id not in {candidate.user_id for candidate in ranked}:
        raise InvalidInput({"engineer_id": "只能派给本工单所属单位的在职工程师"})
    previous = order.assignee_id
    if previous == engineer_id:
        raise Conflict("工单已由该工程师负责")
    detail = {"engineer": user_name(engineer_id), "engineer_id": engineer_id}
    if previous:
        detail |= {"previous_engineer": user_name(previous), "previous_engineer_id": previous}
    if note and note.strip():
        detail["note"] = note.strip()
    now = now_utc()
    values = {"assignee_id": engineer_id, "assigned_at": now}
    # 服务时限 count from the report, whoever holds the order: a reassignment moves no clock.
    # Only from the assignee the dispatcher saw: an engineer who accepted meanwhile is not overridden.
    unchanged = WorkOrder.assignee_id.is_(None) if previous is None else WorkOrder.assignee_id == previous
    take_step(order, "assign", actor, values=values, where=(unchanged,), detail=detail, now=now)
    return order


def _order_for_planning(actor: Actor, work_order_id: int, doing: str) -> WorkOrder:
    """The order, locked, if the actor plans its work: the dispatcher or the engineer on it."""
    order = visible_order(actor, work_order_id, lock=True)
    if not (is_dispatcher_for(actor, order) or order.assignee_id == actor.user_id):
        raise PermissionDenied(f"只有派工负责人或接单工程师可以{doing}")
    return order


def triage(actor: Actor, work_order_id: int, *, fault_level: FaultLevel, note: str | None = None) -> WorkOrder:
    """问题初步诊断: the fault level and a note, by the dispatcher or the engineer on the order."""
    order = _order_for_planning(actor, work_order_id, "评估工单")
    if order.status not in OPEN_STATUSES:
        raise Conflict("工单已完成或已撤销，不能再评估")
    now = now_utc()
    before = audit.snapshot(order, TRIAGE_FIELDS)
    order.fault_level = fault_level
    order.triage_note = (note or "").strip() or None
    order.updated_at = now
    db.session.flush()
    audit_order(actor, "triage", order, audit.difference(before, audit.snapshot(order, TRIAGE_FIELDS)))
    record_event(
        order,
        WorkOrderEventKind.TRIAGED,
        actor.user_id,
        now,
        from_status=order.status,
        detail={"fault_level": FAULT_LEVEL_LABELS[fault_level], "note": order.triage_note},
    )
    return order


def set_eta(actor: Actor, work_order_id: int, eta: datetime) -> WorkOrder:
    """与客户确认: the expected arrival, told to the reporter."""
    order = _order_for_planning(actor, work_order_id, "确认预计到场时间")
    if order.status not in ETA_STATUSES:
        raise Conflict("工程师已到场或工单已结束，不能再修改预计到场时间")
    now = now_utc()
    check_eta(eta, now)
    audit_order(actor, "set_eta", order, {"eta": [audit.plain(order.eta), audit.plain(eta)]})
    order.eta = eta
    order.updated_at = now
    db.session.flush()
    event = record_event(
        order,
        WorkOrderEventKind.ETA_SET,
        actor.user_id,
        now,
        from_status=order.status,
        detail={"eta": eta_label(eta), "engineer": user_name(order.assignee_id)},
    )
    notify(order, event)
    return order


def set_skills(actor: Actor, user_id: int, categories: list[str]) -> list[str]:
    """An engineer's 设备类型 skills, kept by their organisation's admin (设备科 / 服务商管理员):
    any other role is refused (403) before whose engineer it is matters."""
    if actor.role not in (Role.EQUIPMENT_MANAGER, Role.VENDOR_ADMIN):
        raise PermissionDenied("仅设备科管理员或服务商管理员可以设置工程师的擅长设备类型")
    if not actor.is_vendor_side:
        require_institution_staff(actor, frozenset({Role.EQUIPMENT_MANAGER}))
    engineer = db.session.get(User, user_id)
    if engineer is None:
        raise NotFound("用户不存在")
    if actor.is_vendor_side:
        allowed = engineer.vendor_id == actor.vendor_id
    else:
        allowed = engineer.institution_id == actor.institution_id
    if not allowed:
        raise NotFound("用户不存在")
    if engineer.role not in (Role.VENDOR_ENGINEER, Role.VENDOR_ADMIN, Role.INSTITUTION_ENGINEER):
        raise InvalidInput({"user_id": "只能为工程师设置技能"})
    chosen = sorted({category.strip() for category in categories if category and category.strip()})
    if len(chosen) > MAX_SKILLS:
        raise InvalidInput({"categories": f"最多 {MAX_SKILLS} 个设备类型"})
    if any(len(category) > 50 for category in chosen):
        raise InvalidInput({"categories": "设备类型不能超过 50 个字"})
    check_skills(engineer, chosen)  # names from the 设备类型 lists the engineer works with
    before = skills_of([user_id])[user_id]
    db.session.execute(delete(EngineerSkill).where(EngineerSkill.user_id == user_id))
    db.session.add_all(EngineerSkill(user_id=user_id, category=category) for category in chosen)
    db.session.flush()
    if sorted(before) != chosen:
        audit.record(
            actor,
            "set_skills",
            "user",
            engineer.id,
            label=engineer.display_name,
            changes={"skills": [sorted(before), chosen]},
            institution_id=engineer.institution_id,
            vendor_id=engineer.vendor_id,
        )
    return chosen


# Why the orders went back, as the timeline and the dispatcher's notice say it ({engineer}: the name).
HANDED_BACK_REASON = "工程师{engineer}的账号已停用"
ROLE_CHANGED_REASON = "工程师{engineer}已调整为其他岗位"


def hand_back_orders_of(
    engineer_id: int, now: datetime | None = None, *, reason: str = HANDED_BACK_REASON
) -> list[int]:
    """The open orders `engineer_id` holds go back to 待接单 with nobody assigned, for their side's
    dispatcher (told through the outbox: the vendor admins for a vendor's order, the equipment
    office for an in-house one). A system step, audited as the system's; the 服务时限 clocks run
    on from the report (a completion clock paused for 待备件 resumes). `reason` says why
    (HANDED_BACK_REASON: the account was stopped; ROLE_CHANGED_REASON: another role), with
    {engineer} for their name. Returns the ids."""
    from operations import audit

    now = now or now_utc()
    orders = list(
        db.session.scalars(
            select(WorkOrder)
            .where(WorkOrder.assignee_id == engineer_id, WorkOrder.status.in_(OPEN_STATUSES))
            .order_by(WorkOrder.id)
        )
    )
    name = user_name(engineer_id)
    why = reason.replace("{engineer}", name)
    handed: list[int] = []
    for order in orders:
        values: dict = {"assignee_id": None, "assigned_at": None, "eta": None}
        detail = {"previous_engineer": name, "previous_engineer_id": engineer_id, "reason": why}
        try:
            take_step(  # audited there, as the system's step
                order,
                "hand_back",
                audit.SYSTEM,
                values=values,
                where=(WorkOrder.assignee_id == engineer_id,),
                detail=detail,
                now=now,
            )
        except Conflict:  # finished or handed on meanwhile: no longer theirs to give back
            continue
        handed.append(order.id)
    return handed
