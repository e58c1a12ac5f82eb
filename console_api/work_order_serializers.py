"""JSON shapes of work orders: list rows, the detail with its timeline, events of the live feed.

Every enum value travels with its Chinese label (`status` and `status_label`, …); moments are
ISO 8601 in Asia/Shanghai (+08:00), as everywhere in the PC API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flask import url_for

from console_api.serializers import moment
from models import (
    CalibrationCertificate,
    User,
    WorkOrder,
    WorkOrderDeadline,
    WorkOrderEvent,
    WorkOrderEventKind,
    WorkOrderKind,
    WorkOrderPart,
    WorkOrderPhoto,
    WorkOrderSignOff,
)
from models.sla import DEADLINE_KIND_LABELS, DeadlineKind
from models.work_order import (
    DEVICE_CONDITION_LABELS,
    FAULT_FREQUENCY_LABELS,
    FAULT_LEVEL_LABELS,
    OPEN_STATUSES,
    PART_ORIGIN_LABELS,
    REPLACED_PART_FATE_LABELS,
    SIGN_OFF_PLACE_LABELS,
    URGENCY_LABELS,
    WORK_ORDER_EVENT_LABELS,
    WORK_ORDER_KIND_LABELS,
    WORK_ORDER_STATUS_LABELS,
    work_order_number,
)
from operations.clock import now_utc
from operations.service_plans.checklists import items_of
from operations.service_plans.plans import system_reporter
from operations.work_orders import sla
from operations.work_orders.certificates import certificate_of, report_json
from operations.work_orders.dispatch import Candidate
from operations.work_orders.flow import part_json
from operations.work_orders.orders import CONTACT_KINDS

IN_HOUSE = "院内工程师"  # who works an order no vendor is authorized for
SYSTEM = "系统"  # the actor of an event nobody did (escalation, automatic archiving)


def _labelled(name: str, value, labels: dict) -> dict[str, Any]:
    if value is None:
        return {name: None, f"{name}_label": None}
    return {name: value.value, f"{name}_label": labels[value]}


def device_json(snapshot: dict | None) -> dict[str, Any]:
    """The device as the archive described it when the order came in."""
    snapshot = snapshot or {}
    return {
        "id": snapshot.get("id"),
        "name": snapshot.get("name"),
        "unique_code": snapshot.get("unique_code"),
        "model": snapshot.get("model"),
        "department": snapshot.get("department"),
    }


@dataclass(frozen=True)
class People:
    """Names (and phones) of the users and vendors a set of orders mentions, loaded once."""

    users: dict[int, User]
    vendors: dict[int, str]
    deadlines: dict[int, list[WorkOrderDeadline]] = field(default_factory=dict)  # 服务时限 by order

    def name(self, user_id: int | None) -> str | None:
        user = self.users.get(user_id) if user_id else None
        return user.display_name if user else None

    def person(self, user_id: int | None, *, phone: bool = False) -> dict[str, Any] | None:
        """Who; with the account's phone only for the engineer (the reporter chose their own
        contact methods for the order)."""
        user = self.users.get(user_id) if user_id else None
        if user is None:
            return None
        found: dict[str, Any] = {"id": user.id, "name": user.display_name}
        if phone:
            found["phone"] = user.phone
        return found

    def organisation(self, order: WorkOrder) -> str | None:
        return self.vendors.get(order.vendor_id) if order.vendor_id else IN_HOUSE


def order_row_json(order: WorkOrder, people: People) -> dict[str, Any]:
    """A row of 工单列表 and of the engineer's queue."""
    now = now_utc()
    return {
        "id": order.id,
        "number": order.number,
        **_labelled("kind", order.kind, WORK_ORDER_KIND_LABELS),
        **_labelled("urgency", order.urgency, URGENCY_LABELS),
        **_labelled("status", order.status, WORK_ORDER_STATUS_LABELS),
        "device": device_json(order.device_snapshot),
        "vendor_id": order.vendor_id,
        "vendor": people.organisation(order),
        "assignee_id": order.assignee_id,
        "assignee": people.name(order.assignee_id),
        "reporter_id": order.reporter_id,
        "reporter": people.name(order.reporter_id) if order.reporter_id else system_reporter(order),
        "service_plan_id": order.service_plan_id,
        "plan_due_on": order.plan_due_on.isoformat() if order.plan_due_on else None,
        "created_at": moment(order.created_at),
        "accepted_at": moment(order.accepted_at),
        "completed_at": moment(order.completed_at),
        "eta": moment(order.eta),
        "respond_by": respond_by(people.deadlines.get(order.id, [])),
        # 超时: a 服务时限 of the order passed with its step not done
        "sla_overdue": order.status in OPEN_STATUSES
        and any(sla.state(row, now) in OVERDUE for row in people.deadlines.get(order.id, [])),
    }


OVERDUE = frozenset({"overdue", "missed_open"})


def respond_by(deadlines: list[WorkOrderDeadline]) -> str | None:
    """响应时限: the response deadline's due time."""
    return next((moment(row.due_at) for row in deadlines if row.kind is DeadlineKind.RESPONSE), None)


def deadline_json(row: WorkOrderDeadline, now) -> dict[str, Any]:
    """One 服务时限 of an order: its due time, what became of it, and the time left (negative:
    overdue by) while it runs."""
    state = sla.state(row, now)
    running = state in ("running", "overdue", "missed_open")
    return {
        **_labelled("kind", row.kind, DEADLINE_KIND_LABELS),
        "minutes": row.minutes,
        "due_at": moment(row.due_at),
        "state": state,
        "state_label": SLA_STATE_LABELS[state],
        "done_at": moment(row.done_at),
        "paused": row.paused_at is not None,
        "paused_minutes": row.paused_minutes,
        "minutes_left": math.floor((row.due_at - now).total_seconds() / 60) if running else None,
        "escalated_at": moment(row.escalated_at),
    }


SLA_STATE_LABELS = {
    "running": "进行中",
    "paused": "已暂停（待备件）",
    "overdue": "已超时",
    "missed_open": "已超时",
    "met": "达标",
    "missed": "超时",
    "void": "不计",
}


UNSCANNED_ARRIVAL = "未扫码到场"


def event_label(event: WorkOrderEvent) -> str:
    """The step's name; an arrival without the device's sticker scanned says so."""
    if event.kind is WorkOrderEventKind.ARRIVED and (event.detail or {}).get("scanned") is False:
        return UNSCANNED_ARRIVAL
    return WORK_ORDER_EVENT_LABELS[event.kind]


def event_json(event: WorkOrderEvent, people: People) -> dict[str, Any]:
    """One step of the timeline; the live feed sends the same shape."""
    return {
        "id": event.id,
        "work_order_id": event.work_order_id,
        "number": work_order_number(event.work_order_id),
        "kind": event.kind.value,
        "label": event_label(event),
        "actor_id": event.actor_id,
        "actor": people.name(event.actor_id) if event.actor_id else SYSTEM,
        "at": moment(event.at),
        **_labelled("from_status", event.from_status, WORK_ORDER_STATUS_LABELS),
        **_labelled("to_status", event.to_status, WORK_ORDER_STATUS_LABELS),
        "detail": event.detail or {},
    }


def photo_json(photo: WorkOrderPhoto) -> dict[str, Any]:
    return {
        "id": photo.id,
        "content_type": photo.content_type,
        "size": photo.size,
        "uploaded_by_id": photo.uploaded_by_id,
        "uploaded_at": moment(photo.uploaded_at),
        "url": url_for("console_api.work_order_photo", work_order_id=photo.work_order_id, photo_id=photo.id),
    }


def sign_off_json(record: WorkOrderSignOff, url: str | None = None) -> dict[str, Any]:
    """客户签字; `url` is the signature image's (the PC's route unless the caller signs its own)."""
    return {
        "id": record.id,
        "work_order_id": record.work_order_id,
        "signer_name": record.signer_name,
        "place": record.place.value,
        "place_label": SIGN_OFF_PLACE_LABELS[record.place],
        "confirms": record.confirms,
        "signed_at": moment(record.signed_at),
        "size": record.size,
        "url": url
        or url_for("console_api.work_order_signature", work_order_id=record.work_order_id, sign_off_id=record.id),
    }


def signature_filename(record: WorkOrderSignOff) -> str:
    return f"{work_order_number(record.work_order_id)}-signature-{record.id}.png"


def work_order_part_json(part: WorkOrderPart) -> dict[str, Any]:
    """The API's part: codes beside their labels (the frozen report keeps only the labels)."""
    return {
        **part_json(part),
        **_labelled("origin", part.origin, PART_ORIGIN_LABELS),
        **_labelled("replaced_part", part.replaced_part, REPLACED_PART_FATE_LABELS),
        "added_by_id": part.added_by_id,
        "added_at": moment(part.added_at),
    }


def contact_json(method: dict) -> dict[str, Any]:
    kind = method.get("kind")
    return {"kind": kind, "kind_label": CONTACT_KINDS.get(kind), "value": method.get("value")}


def certificate_json(certificate: CalibrationCertificate | None, url: str | None = None) -> dict[str, Any] | None:
    """The certificate as the order's detail and the device's 计量 records show it."""
    if certificate is None:
        return None
    return report_json(certificate) | {
        "content_type": certificate.content_type,
        "size": certificate.size,
        "url": url
        if url is not None
        else url_for("console_api.work_order_certificate", work_order_id=certificate.work_order_id),
    }


def order_detail_json(
    order: WorkOrder,
    people: People,
    *,
    device: dict[str, Any],
    department: str | None,
    parts: list[WorkOrderPart],
    photos: list[WorkOrderPhoto],
    events: list[WorkOrderEvent],
    actions: list[str],
) -> dict[str, Any]:
    """工单详情: the request, routing, dispatch, the engineer's work, the report, the survey,
    the timeline, and what the caller may do now."""
    now = now_utc()
    return {
        "id": order.id,
        "number": order.number,
        "institution_id": order.institution_id,
        **_labelled("kind", order.kind, WORK_ORDER_KIND_LABELS),
        **_labelled("urgency", order.urgency, URGENCY_LABELS),
        **_labelled("status", order.status, WORK_ORDER_STATUS_LABELS),
        # 服务请求受理
        "device_id": order.device_id,
        "device": device,  # as the caller may see it (operations.work_orders.access.device_seen_by)
        "reporter": people.person(order.reporter_id),
        # 保养计划 / 计量计划: the plan and occurrence (due date) it was raised for, its 科室联系人, the
        # checklist copied from the plan; the reporter of such an order is the system (None).
        "contact": people.person(order.contact_id),
        "service_plan_id": order.service_plan_id,
        "plan_due_on": order.plan_due_on.isoformat() if order.plan_due_on else None,
        "checklist": items_of(order.checklist),
        # 计量 orders: the calibration certificate the engineer attached (required to complete).
        "certificate": certificate_json(certificate_of(order.id)) if order.kind is WorkOrderKind.METROLOGY else None,
        "department_id": order.department_id,
        "department": department,
        "contact_name": order.contact_name,
        "contact_methods": [contact_json(method) for method in order.contact_methods or []],
        "fault_description": order.fault_description,
        "fault_occurred_at": moment(order.fault_occurred_at),
        **_labelled("fault_frequency", order.fault_frequency, FAULT_FREQUENCY_LABELS),
        "error_message": order.error_message,
        "recent_changes": order.recent_changes,
        "expected_outcome": order.expected_outcome,
        "expected_by": moment(order.expected_by),
        # routing
        "vendor_id": order.vendor_id,
        "vendor": people.organisation(order),
        "in_house": order.vendor_id is None,
        "authorization_id": order.authorization_id,
        "respond_by": respond_by(people.deadlines.get(order.id, [])),
        # 服务时限: response, arrival, completion
        "sla": [deadline_json(row, now) for row in people.deadlines.get(order.id, [])],
        **_labelled("paused_from", order.paused_from, WORK_ORDER_STATUS_LABELS),
        # 任务评估与派工
        **_labelled("fault_level", order.fault_level, FAULT_LEVEL_LABELS),
        "triage_note": order.triage_note,
        "assignee": people.person(order.assignee_id, phone=True),
        "assigned_at": moment(order.assigned_at),
        "eta": moment(order.eta),
        # 现场服务 and 服务报告
        "diagnosis": order.diagnosis,
        "work_done": order.work_done,
        "test_result": order.test_result,
        "test_passed": order.test_passed,
        **_labelled("device_condition", order.device_condition, DEVICE_CONDITION_LABELS),
        "parts": [work_order_part_json(part) for part in parts],
        "photos": [photo_json(photo) for photo in photos],
        "service_report": order.service_report,
        # 满意度调查 and 回访
        "rating": order.rating,
        "rating_response": order.rating_response,
        "rating_skill": order.rating_skill,
        "rating_attitude": order.rating_attitude,
        "rating_comment": order.rating_comment,
        "follow_up_note": order.follow_up_note,
        "improvement_action": order.improvement_action,
        # the time of every step
        "created_at": moment(order.created_at),
        "accepted_at": moment(order.accepted_at),
        "departed_at": moment(order.departed_at),
        "arrived_at": moment(order.arrived_at),
        "diagnosed_at": moment(order.diagnosed_at),
        "completed_at": moment(order.completed_at),
        "confirmed_at": moment(order.confirmed_at),
        "rated_at": moment(order.rated_at),
        "closed_at": moment(order.closed_at),
        "cancelled_at": moment(order.cancelled_at),
        "updated_at": moment(order.updated_at),
        "timeline": [event_json(event, people) for event in events],
        "actions": actions,
    }


def candidate_json(candidate: Candidate) -> dict[str, Any]:
    return {
        "user_id": candidate.user_id,
        "name": candidate.name,
        "phone": candidate.phone,
        "skilled": candidate.skilled,
        "open_orders": candidate.open_orders,
        "skills": candidate.skills,
    }
