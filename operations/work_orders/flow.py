"""The after-sales SOP as a state machine: which step may follow which, and doing a step.

    待接单 pending ─accept→ accepted ─depart→ departed ─arrive→ on_site ─diagnose→ diagnosed
      ↑ assign (派工/改派, from any step before the site work is done)          │ complete
    on_site ─complete→ completed (待确认, the service report is frozen) ←────────┘
    completed ─confirm→ confirmed (待评价) ─rate→ closed, or follow_up (待回访) when rated ≤ 2
    completed ─reject→ rework (退回返修) ─depart / arrive→ … ─complete→ completed
    follow_up ─follow_up→ closed          pending / accepted / departed ─cancel→ cancelled

Each step is one conditional UPDATE (… WHERE status IN (the allowed sources)): two people doing
a step at once cannot both succeed, whatever the database; the loser gets a 409 and nothing
changes. The time of a step goes in its own column (accept, depart and arrive keep their first
time, so response figures are not reset by a rework) and on the timeline as an event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, or_, select, update

from models import (
    DeviceRecord,
    RecordKind,
    User,
    Vendor,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderEventKind,
    WorkOrderPart,
    WorkOrderStatus,
    db,
)
from models.db import UTCDateTime
from models.work_order import (
    DEVICE_CONDITION_LABELS,
    FAULT_LEVEL_LABELS,
    OPEN_STATUSES,
    PART_ORIGIN_LABELS,
    REPLACED_PART_FATE_LABELS,
    WORK_ORDER_KIND_LABELS,
    WORK_ORDER_STATUS_LABELS,
    DeviceCondition,
    FaultLevel,
)
from operations import audit, device_running_state, live
from operations.actors import Actor
from operations.clock import display, now_utc, to_local
from operations.errors import Conflict, InvalidInput, PermissionDenied
from operations.work_orders import certificates, checklist_results, report_pdf, sla
from operations.work_orders.access import (
    is_requester,
    is_worker_for,
    require_assignee,
    require_reporter,
    visible_order,
)
from operations.work_orders.eta import check_eta, eta_label
from operations.work_orders.notices import notify

S = WorkOrderStatus
E = WorkOrderEventKind
POOR_RATING = 2  # this or lower asks the equipment office to follow up (回访)
log = logging.getLogger("weixiu.work_orders")


@dataclass(frozen=True)
class Step:
    event: WorkOrderEventKind
    label: str  # 接单, … for "cannot <label>" answers
    sources: frozenset[WorkOrderStatus]
    target: WorkOrderStatus | None  # None: decided by the step (rate)
    stamp: str | None = None  # the order's column that takes the step's time
    first_time_only: bool = False
    by_person: bool = True  # False: only the system takes it; no button offers it


STEPS: dict[str, Step] = {
    "assign": Step(E.ASSIGNED, "派工", frozenset({S.PENDING, S.ACCEPTED, S.DEPARTED, S.REWORK}), S.PENDING),
    "accept": Step(E.ACCEPTED, "接单", frozenset({S.PENDING}), S.ACCEPTED, "accepted_at", True),
    "depart": Step(E.DEPARTED, "出发", frozenset({S.ACCEPTED, S.REWORK}), S.DEPARTED, "departed_at", True),
    "arrive": Step(E.ARRIVED, "到场", frozenset({S.ACCEPTED, S.DEPARTED, S.REWORK}), S.ON_SITE, "arrived_at", True),
    "diagnose": Step(E.DIAGNOSED, "提交诊断", frozenset({S.ON_SITE, S.DIAGNOSED}), S.DIAGNOSED, "diagnosed_at"),
    "complete": Step(E.COMPLETED, "完成", frozenset({S.ON_SITE, S.DIAGNOSED}), S.COMPLETED, "completed_at"),
    "reject": Step(E.REJECTED, "退回", frozenset({S.COMPLETED}), S.REWORK),
    "confirm": Step(E.CONFIRMED, "确认", frozenset({S.COMPLETED}), S.CONFIRMED, "confirmed_at"),
    "rate": Step(E.RATED, "评价", frozenset({S.CONFIRMED}), None, "rated_at"),
    "follow_up": Step(E.FOLLOWED_UP, "回访", frozenset({S.FOLLOW_UP}), S.CLOSED, "closed_at"),
    "close": Step(E.CLOSED, "归档", frozenset({S.CONFIRMED}), S.CLOSED, "closed_at"),
    "cancel": Step(E.CANCELLED, "撤销", frozenset({S.PENDING, S.ACCEPTED, S.DEPARTED}), S.CANCELLED, "cancelled_at"),
    # 待备件: the engineer waits for parts (the completion clock stops); when they arrive the order
    # goes back to the step it was at (work_orders.paused_from; operations.work_orders.parts_wait).
    "wait_parts": Step(E.WAITING_PARTS, "等待备件", frozenset({S.ON_SITE, S.DIAGNOSED}), S.WAITING_PARTS),
    "parts_arrived": Step(E.PARTS_ARRIVED, "备件到货", frozenset({S.WAITING_PARTS}), None),
    # Not a person's step: the engineer's account was stopped, whatever stage the work was at.
    "hand_back": Step(E.HANDED_BACK, "退回待接单", OPEN_STATUSES, S.PENDING, by_person=False),
}
# Parts are entered while the engineer is at the device.
PART_STATUSES = frozenset({S.ON_SITE, S.DIAGNOSED, S.REWORK})


def allowed_steps(status: WorkOrderStatus) -> list[str]:
    """The steps that may follow `status` (who may take them is a separate question)."""
    return [name for name, step in STEPS.items() if step.by_person and status in step.sources]


def at(moment: datetime):
    """A time as an SQL value of the UTC column type (a bare datetime inside COALESCE would skip
    the conversion to UTC)."""
    return literal(moment, UTCDateTime())


def refuse(order: WorkOrder, step: Step) -> Conflict:
    return Conflict(f"工单当前状态为「{WORK_ORDER_STATUS_LABELS[order.status]}」，不能{step.label}")


def record_event(
    order: WorkOrder,
    kind: WorkOrderEventKind,
    actor_id: int | None,
    at: datetime,
    *,
    from_status: WorkOrderStatus | None,
    detail: dict[str, Any] | None = None,
) -> WorkOrderEvent:
    _hold_timeline(order)
    event = WorkOrderEvent(
        work_order_id=order.id,
        institution_id=order.institution_id,
        vendor_id=order.vendor_id,
        kind=kind,
        actor_id=actor_id,
        at=at,
        from_status=from_status,
        to_status=order.status,
        detail=detail or {},
    )
    db.session.add(event)
    db.session.flush()
    live.announce_timeline(db.session, order.institution_id, order.vendor_id)
    return event


# Advisory-lock namespaces: one timeline per institution and one per vendor.
TIMELINE_LOCKS = {"institution": 7301, "vendor": 7302}


def _hold_timeline(order: WorkOrder) -> None:
    """Events must become visible in id order, or the live feed (events after the last id a page
    has seen) would skip one whose transaction committed after a later id's. PostgreSQL hands
    out ids before commit, so each writer takes its institution's and vendor's timeline lock
    until it commits; SQLite has one writer at a time anyway."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.execute(select(func.pg_advisory_xact_lock(TIMELINE_LOCKS["institution"], order.institution_id)))
    if order.vendor_id is not None:
        db.session.execute(select(func.pg_advisory_xact_lock(TIMELINE_LOCKS["vendor"], order.vendor_id)))


def audit_order(
    by: Actor | audit.NoPerson, action: str, order: WorkOrder, changes: dict[str, Any] | None = None
) -> None:
    """The 操作日志 row of a change to a work order: in the hospital's log and, when a vendor
    serves it, in the vendor's."""
    audit.record(
        by,
        action,
        "work_order",
        order.id,
        label=order.number,
        changes=changes,
        institution_id=order.institution_id,
        vendor_id=order.vendor_id,
    )


# What the log keeps of a step: the columns it changed, and the words given with it. The frozen
# service report is the timeline's and the report's, not repeated in the log.
NOT_LOGGED = frozenset({"updated_at", "service_report"})
LOGGED_DETAIL = ("note", "reason")


def require_still_active(user_id: int) -> None:
    """The person taking a step is still an active account, checked under a share lock on their row:
    deactivating them (operations.staff, which locks the row for update and then hands their open
    orders back) waits for this step's transaction, or this step waits for the deactivation and is
    refused, so no order is left with someone who can no longer work it."""
    active = db.session.scalar(select(User.is_active).where(User.id == user_id).with_for_update(read=True))
    if not active:
        raise PermissionDenied("账号已停用")


def take_step(
    order: WorkOrder,
    name: str,
    by: Actor | audit.NoPerson | None,
    *,
    values: dict[str, Any] | None = None,
    where: tuple = (),
    detail: dict[str, Any] | None = None,
    target: WorkOrderStatus | None = None,
    now: datetime | None = None,
) -> WorkOrderEvent:
    """Move the order by one step if its current status allows it (checked in the UPDATE itself),
    write the event, the notices and the 操作日志 row (`by`: the person, or audit.SYSTEM / None
    for the system's own steps). Raises Conflict, changing nothing, when it does not."""
    step = STEPS[name]
    by = by or audit.SYSTEM
    actor_id = by.user_id if isinstance(by, Actor) else None
    if actor_id is not None:
        require_still_active(actor_id)
    now = now or now_utc()
    target = target or step.target
    assert target is not None
    if order.status not in step.sources:
        raise refuse(order, step)
    changes: dict[str, Any] = {"status": target, "updated_at": now, **(values or {})}
    if step.stamp:
        column = getattr(WorkOrder, step.stamp)
        changes[step.stamp] = func.coalesce(column, at(now)) if step.first_time_only else now
    before = order.status
    logged = [field for field in changes if field not in NOT_LOGGED]
    before_values = audit.snapshot(order, logged)
    result = db.session.execute(
        update(WorkOrder).where(WorkOrder.id == order.id, WorkOrder.status.in_(step.sources), *where).values(**changes),
        execution_options={"synchronize_session": False},
    )
    db.session.refresh(order)
    if result.rowcount != 1:
        raise refuse(order, step)
    event = record_event(order, step.event, actor_id, now, from_status=before, detail=detail)
    sla.on_step(order, name, before, now)  # the 服务时限 clocks this step stops, pauses or resumes
    words = {key: [None, (detail or {})[key]] for key in LOGGED_DETAIL if (detail or {}).get(key)}
    audit_order(by, name, order, audit.difference(before_values, audit.snapshot(order, logged)) | words)
    notify(order, event)
    if name == "confirm":
        archive(order, now)  # the signed service report goes to the device's records now
    if order.service_plan_id is not None and name in ("complete", "cancel"):
        # A planned order's end settles its occurrence (its plan's next due date, its reminders).
        from operations.service_plans import occurrences

        occurrences.settle(order, name, now, certificates.valid_until_of(order) if name == "complete" else None)
    return event


def user_name(user_id: int | None) -> str | None:
    return db.session.scalar(select(User.display_name).where(User.id == user_id)) if user_id else None


# --- the engineer's steps --------------------------------------------------------------------


def accept(actor: Actor, work_order_id: int) -> WorkOrder:
    """接单. Anyone who may work the order, unless it was assigned to someone else; of several
    accepting at once exactly one wins."""
    order = visible_order(actor, work_order_id)
    if not is_worker_for(actor, order):
        raise PermissionDenied("只有该工单的维修工程师可以接单")
    if order.status is S.PENDING and order.assignee_id not in (None, actor.user_id):
        raise Conflict("工单已派给其他工程师")
    take_step(
        order,
        "accept",
        actor,
        values={"assignee_id": actor.user_id, "assigned_at": func.coalesce(WorkOrder.assigned_at, at(now_utc()))},
        where=(or_(WorkOrder.assignee_id.is_(None), WorkOrder.assignee_id == actor.user_id),),
        detail={"engineer": user_name(actor.user_id)},
    )
    return order


def _engineer_step(actor: Actor, work_order_id: int, name: str, **kwargs) -> WorkOrder:
    order = visible_order(actor, work_order_id)
    require_assignee(actor, order)
    take_step(order, name, actor, where=(WorkOrder.assignee_id == actor.user_id,), **kwargs)
    return order


def depart(actor: Actor, work_order_id: int, note: str | None = None, eta: datetime | None = None) -> WorkOrder:
    """出发, with the 预计到场时间 agreed with the reporter if given: one step, so a refused 出发
    leaves the ETA as it was, and the reporter hears of both in one notice."""
    order = visible_order(actor, work_order_id)
    require_assignee(actor, order)
    values, detail = {}, _note(note)
    if eta is not None:
        if order.status not in STEPS["depart"].sources:  # the state decides before the form does
            raise refuse(order, STEPS["depart"])
        check_eta(eta, now_utc())
        values, detail = {"eta": eta}, detail | {"eta": eta_label(eta)}
    take_step(order, "depart", actor, values=values, where=(WorkOrder.assignee_id == actor.user_id,), detail=detail)
    return order


def arrive(actor: Actor, work_order_id: int, note: str | None = None) -> WorkOrder:
    return _engineer_step(actor, work_order_id, "arrive", detail=_note(note))


def diagnose(actor: Actor, work_order_id: int, *, diagnosis: str, fault_level: FaultLevel | None = None) -> WorkOrder:
    diagnosis = (diagnosis or "").strip()
    if not diagnosis:
        raise InvalidInput({"diagnosis": "请填写诊断结论"})
    values: dict[str, Any] = {"diagnosis": diagnosis}
    detail: dict[str, Any] = {"diagnosis": diagnosis}
    if fault_level is not None:
        values["fault_level"] = fault_level
        detail["fault_level"] = FAULT_LEVEL_LABELS[fault_level]
    return _engineer_step(actor, work_order_id, "diagnose", values=values, detail=detail)


def part_json(part: WorkOrderPart) -> dict[str, Any]:
    """A part as the service report freezes it: the labels, not the codes, of its origin and fate."""
    return {
        "id": part.id,
        "name": part.name,
        "model": part.model,
        "serial_number": part.serial_number,
        "quantity": part.quantity,
        "origin": PART_ORIGIN_LABELS[part.origin] if part.origin else None,
        "valid_until": part.valid_until.isoformat() if part.valid_until else None,
        "replaced_part": REPLACED_PART_FATE_LABELS[part.replaced_part] if part.replaced_part else None,
        "note": part.note,
    }


def complete(
    actor: Actor,
    work_order_id: int,
    *,
    work_done: str,
    test_result: str,
    test_passed: bool,
    device_condition: DeviceCondition,
    diagnosis: str | None = None,
    checklist: list | None = None,
) -> WorkOrder:
    """维修/维护完成: the service report (服务报告) is written from the order and frozen here; the
    reporter signs it off by confirming. Every checklist item must be recorded, and a 计量 order
    needs its certificate, whose 结论 may decide the 设备当前状态."""
    order = visible_order(actor, work_order_id)
    require_assignee(actor, order)
    if order.status not in STEPS["complete"].sources:  # the state decides before the form does
        raise refuse(order, STEPS["complete"])
    errors = {}
    diagnosis = _text(diagnosis) or order.diagnosis
    if not (work_done or "").strip():
        errors["work_done"] = "请填写维修/维护内容"
    if not (test_result or "").strip():
        errors["test_result"] = "请填写测试结果"
    if order.kind.value == "repair" and not diagnosis:
        errors["diagnosis"] = "维修工单请先填写诊断结论"
    checked = checklist_results.check_results(order, checklist, errors)
    certificate = certificates.for_completion(order, errors)
    if errors:
        raise InvalidInput(errors)
    device_condition = certificates.condition_after(certificate, device_condition)
    now = now_utc()
    values = {
        "diagnosis": diagnosis,
        "work_done": work_done.strip(),
        "test_result": test_result.strip(),
        "test_passed": test_passed,
        "device_condition": device_condition,
    }
    report = service_report(order, values, now)
    report["checklist"] = checked
    if certificate is not None:
        report["certificate"] = certificates.report_json(certificate)
    values["service_report"] = report
    take_step(
        order,
        "complete",
        actor,
        values=values,
        where=(WorkOrder.assignee_id == actor.user_id,),
        detail={"device_condition": DEVICE_CONDITION_LABELS[device_condition], "test_passed": test_passed},
        now=now,
    )
    if certificate is not None:
        certificates.file_with_device(order, now)  # the device's 计量 records hold it from now on
    device_running_state.from_report(order, now)  # 运行状态 follows the last completed report
    return order


def service_report(order: WorkOrder, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """服务报告: date, time, place, engineer, device, fault, diagnosis, work, parts, tests, status."""
    engineer = db.session.get(User, order.assignee_id) if order.assignee_id else None
    vendor = db.session.get(Vendor, order.vendor_id) if order.vendor_id else None
    parts = db.session.scalars(
        select(WorkOrderPart).where(WorkOrderPart.work_order_id == order.id).order_by(WorkOrderPart.id)
    )

    return {
        "number": order.number,
        "kind": WORK_ORDER_KIND_LABELS[order.kind],
        "service_date": to_local(now).date().isoformat(),
        "arrived_at": display(order.arrived_at),
        "completed_at": display(now),
        "location": (order.device_snapshot or {}).get("department"),
        "engineer": {
            "name": engineer.display_name if engineer else None,
            "phone": engineer.phone if engineer else None,
            "organisation": vendor.name if vendor else "院内工程师",
        },
        "device": order.device_snapshot,
        "fault_description": order.fault_description,
        "fault_level": FAULT_LEVEL_LABELS[order.fault_level] if order.fault_level else None,
        "diagnosis": values["diagnosis"],
        "work_done": values["work_done"],
        "parts": [part_json(part) for part in parts],
        "test_result": values["test_result"],
        "test_passed": values["test_passed"],
        "device_condition": DEVICE_CONDITION_LABELS[values["device_condition"]],
    }


# --- the reporter's steps --------------------------------------------------------------------


def confirm(actor: Actor, work_order_id: int, note: str | None = None) -> WorkOrder:
    """客户确认: the reporter signs the service report off."""
    order = visible_order(actor, work_order_id)
    require_reporter(actor, order)
    take_step(order, "confirm", actor, detail=_note(note))
    return order


def reject(actor: Actor, work_order_id: int, reason: str) -> WorkOrder:
    """Not fixed: back to the engineer with the reason."""
    order = visible_order(actor, work_order_id)
    require_reporter(actor, order)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": "请填写退回原因"})
    take_step(order, "reject", actor, detail={"reason": reason})
    return order


def rate(
    actor: Actor,
    work_order_id: int,
    *,
    rating: int,
    response: int | None = None,
    skill: int | None = None,
    attitude: int | None = None,
    comment: str | None = None,
) -> WorkOrder:
    """满意度调查. A good rating closes and archives the order; a poor one (≤ 2) asks the
    equipment office to call back first (回访)."""
    order = visible_order(actor, work_order_id)
    require_reporter(actor, order)
    scores = {"rating": rating, "response": response, "skill": skill, "attitude": attitude}
    errors = {
        name: "评分应为 1 到 5 星"
        for name, score in scores.items()
        if (score is not None or name == "rating") and not (isinstance(score, int) and 1 <= score <= 5)
    }
    if errors:
        raise InvalidInput(errors)
    now = now_utc()
    poor = rating <= POOR_RATING
    take_step(
        order,
        "rate",
        actor,
        values={
            "rating": rating,
            "rating_response": response,
            "rating_skill": skill,
            "rating_attitude": attitude,
            "rating_comment": _text(comment),
            **({} if poor else {"closed_at": now}),
        },
        target=S.FOLLOW_UP if poor else S.CLOSED,
        detail={"rating": rating, "comment": _text(comment)},
        now=now,
    )
    if not poor:
        archive(order, now)
    return order


def follow_up(actor: Actor, work_order_id: int, *, note: str, improvement_action: str | None = None) -> WorkOrder:
    """回访 and 持续改进: the equipment office records what the reporter said and what changes."""
    order = visible_order(actor, work_order_id)
    if not (actor.is_manager and actor.institution_id == order.institution_id):
        raise PermissionDenied("仅设备科管理员可以回访")
    note = (note or "").strip()
    if not note:
        raise InvalidInput({"note": "请填写回访记录"})
    now = now_utc()
    take_step(
        order,
        "follow_up",
        actor,
        values={"follow_up_note": note, "improvement_action": _text(improvement_action)},
        detail={"note": note, "improvement_action": _text(improvement_action)},
        now=now,
    )
    archive(order, now)
    return order


def cancel(actor: Actor, work_order_id: int, reason: str) -> WorkOrder:
    """撤销 before the work on site has started: by the reporter or the equipment office."""
    order = visible_order(actor, work_order_id)
    if not is_requester(actor, order) and not (actor.is_manager and actor.institution_id == order.institution_id):
        raise PermissionDenied("只有报修人或设备科管理员可以撤销工单")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": "请填写撤销原因"})
    take_step(order, "cancel", actor, detail={"reason": reason})
    return order


def close_unrated(order: WorkOrder, now: datetime) -> None:
    """A confirmed order the reporter never rated is archived by the system after a while."""
    take_step(order, "close", audit.SYSTEM, detail={"reason": "超过评价期限，系统自动归档"}, now=now)
    archive(order, now)


def archive(order: WorkOrder, now: datetime) -> None:
    """资料归档: the confirmed order becomes the device's 维修 / 保养 / 计量 record, its signed
    service report (PDF) the record's document. Archiving again (at closing) files a report
    whose PDF could not be made at confirmation."""
    record = db.session.scalar(select(DeviceRecord).where(DeviceRecord.work_order_id == order.id))
    if record is None:
        record = _new_record(order, now)
    if record.document_size is None:
        file_report(order, record)


def file_report(order: WorkOrder, record: DeviceRecord) -> bool:
    """Attach the order's service report PDF to its device record. A failure (no font, a bad
    signature image) is logged and leaves the record without it: confirming must not fail for
    the PDF, and the next archiving (or GET report.pdf, any time) makes it again."""
    try:
        with db.session.begin_nested():
            pdf = report_pdf.build(order)
            record.document = pdf
            record.document_name = report_pdf.file_name(order)
            record.document_type = report_pdf.MEDIA_TYPE
            record.document_size = len(pdf)
            db.session.flush()
    except Exception:
        log.exception("service report PDF of %s not filed; the record keeps no document for now", order.number)
        return False
    return True


def _new_record(order: WorkOrder, now: datetime) -> DeviceRecord:
    engineer = user_name(order.assignee_id)
    vendor = db.session.get(Vendor, order.vendor_id) if order.vendor_id else None
    performed_by = " / ".join(name for name in (engineer, vendor.name if vendor else "院内") if name)
    summary = order.diagnosis or order.fault_description or WORK_ORDER_KIND_LABELS[order.kind]
    details = order.work_done or ""
    if order.test_result:
        details += f"\n测试结果：{order.test_result}"
    record = DeviceRecord(
        institution_id=order.institution_id,
        device_id=order.device_id,
        kind=RecordKind(order.kind.value),
        performed_on=to_local(order.completed_at or now).date(),
        summary=f"{order.number} {summary}"[:200],
        details=details.strip() or None,
        performed_by=performed_by[:100] or None,
        created_by_id=order.assignee_id or order.reporter_id,
        work_order_id=order.id,
        created_at=now,
    )
    db.session.add(record)
    db.session.flush()
    return record


def _note(note: str | None) -> dict[str, Any]:
    note = _text(note)
    return {"note": note} if note else {}


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None
