"""保养计划 / 计量计划: a device's plans (list, create, edit, end), the same plan for every device of a
设备类型 or a department, and one plan's history (the orders it raised, by occurrence)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from console_api.checklist_schema import CHECKLIST
from console_api.http import commit, current_actor
from console_api.route_table import request_body, request_query
from console_api.routes import route
from console_api.serializers import moment
from console_api.validation import Field
from models import Device, ServicePlan, User, WorkOrderKind, db
from models.service_plan import (
    INTERVAL_UNIT_LABELS,
    PLAN_ANCHOR_LABELS,
    IntervalUnit,
    PlanAnchor,
)
from models.work_order import WORK_ORDER_STATUS_LABELS
from operations.service_plans import checklists
from operations.service_plans import plans as service_plans
from operations.service_plans.plans import PLAN_KIND_LABELS, PlanFields, PlanState

STATUS_LABELS = {"active": "执行中", "overdue": "已逾期", "ended": "已结束"}
KINDS = "<any(maintenance, metrology):kind>"
FORM = {
    "interval_count": Field("int", minimum=1, maximum=service_plans.MAX_DAYS, description="周期（天数或月数）"),
    "interval_unit": Field("enum", enum=IntervalUnit, description="周期单位：day 天、month 月"),
    "lead_days": Field("int", minimum=0, maximum=service_plans.MAX_LEAD_DAYS, description="提前几天生成工单"),
    "anchor": Field(
        "enum",
        enum=PlanAnchor,
        description="下次到期日的起算：schedule 按上次到期日（保养默认），completion 按完成日期（计量默认）",
    ),
    "checklist": CHECKLIST,
    "contact_id": Field("int", minimum=1, description="科室联系人（设备所属科室的在用账号）；不填为设备科管理员"),
    "note": Field("str", max_length=200),
}
CREATE = {
    **FORM,
    "interval_count": Field("int", required=True, minimum=1, maximum=service_plans.MAX_DAYS),
    "interval_unit": Field("enum", required=True, enum=IntervalUnit),
    "first_due_on": Field("date", required=True, description="首次到期日"),
}
UPDATE = {
    **FORM,
    "next_due_on": Field("date", description="下次到期日（手动调整；须晚于已生成工单的到期日）"),
    "clear_contact": Field("bool", description="true：科室联系人改回设备科管理员"),
}
BULK = {
    **CREATE,
    "kind": Field("enum", required=True, enum=WorkOrderKind, description="maintenance 保养 / metrology 计量"),
    "category": Field("str", max_length=50, description="设备类型（与 department_id 二选一）"),
    "department_id": Field("int", minimum=1, description="科室（与 category 二选一）"),
}
END = {"reason": Field("str", max_length=100, description="结束原因")}
LIST_QUERY = {
    "device_id": Field("int", minimum=1),
    "kind": Field("enum", enum=WorkOrderKind),
    "status": Field("str", max_length=10, description="active 执行中、overdue 已逾期、ended 已结束"),
    "q": Field("str", max_length=50, description="设备名称或唯一码"),
    "page": Field("int", minimum=1, default=1),
    "per_page": Field("int", minimum=1, maximum=100, default=20),
}


def _fields(body: dict[str, Any], first_due_key: str) -> PlanFields:
    return PlanFields(
        interval_count=body.get("interval_count"),
        interval_unit=body.get("interval_unit"),
        lead_days=body.get("lead_days"),
        anchor=body.get("anchor"),
        first_due_on=body.get(first_due_key),
        checklist=body.get("checklist"),
        contact_id=body.get("contact_id"),
        clear_contact=bool(body.get("clear_contact")),
        note=body.get("note"),
    )


def plan_json(
    plan: ServicePlan, device: Device | None, state: PlanState, contact: str | None, *, history: list | None = None
) -> dict[str, Any]:
    kind = WorkOrderKind(plan.kind)
    payload = {
        "id": plan.id,
        "device": {"id": device.id, "name": device.name, "unique_code": device.unique_code} if device else None,
        "kind": kind.value,
        "kind_label": f"{PLAN_KIND_LABELS[kind]}计划",
        "interval_count": plan.interval_count,
        "interval_unit": plan.interval_unit.value,
        "interval_label": f"每{plan.interval_count}{INTERVAL_UNIT_LABELS[plan.interval_unit]}",
        "lead_days": plan.lead_days,
        "anchor": plan.anchor.value,
        "anchor_label": PLAN_ANCHOR_LABELS[plan.anchor],
        "checklist": checklists.items_of(plan.checklist),
        "contact_id": plan.contact_id,
        "contact": contact,
        "note": plan.note,
        "status": state.status,
        "status_label": STATUS_LABELS[state.status],
        "overdue_since": state.overdue_since.isoformat() if state.overdue_since else None,
        "next_due_on": plan.next_due_on.isoformat() if plan.next_due_on else None,
        "raise_on": (r.isoformat() if (r := service_plans.raise_on(plan)) else None)
        if plan.status.value == "active"
        else None,
        "last_due_on": plan.last_due_on.isoformat() if plan.last_due_on else None,
        "ended_at": moment(plan.ended_at),
        "ended_reason": plan.ended_reason,
        "created_at": moment(plan.created_at),
        "updated_at": moment(plan.updated_at),
    }
    if history is not None:
        payload["occurrences"] = [
            {
                "due_on": order.plan_due_on.isoformat() if order.plan_due_on else None,
                "work_order_id": order.id,
                "number": order.number,
                "status": order.status.value,
                "status_label": WORK_ORDER_STATUS_LABELS[order.status],
                "created_at": moment(order.created_at),
                "completed_at": moment(order.completed_at),
            }
            for order in history
        ]
    return payload


def payloads(plans: list[ServicePlan], *, history: bool = False) -> list[dict]:
    devices = service_plans.devices_of(plans)
    states = service_plans.states(plans)
    contact_ids = {plan.contact_id for plan in plans if plan.contact_id}
    names = (
        dict(db.session.execute(db.select(User.id, User.display_name).where(User.id.in_(contact_ids))).all())
        if contact_ids
        else {}
    )
    return [
        plan_json(
            plan,
            devices.get(plan.device_id),
            states[plan.id],
            names.get(plan.contact_id) if plan.contact_id else "设备科管理员",
            history=service_plans.occurrences(plan.id) if history else None,
        )
        for plan in plans
    ]


@route("GET", "/service-plans", "保养 / 计量计划（下次到期日最近的在前）", query=LIST_QUERY, response="ServicePlanPage")
def list_service_plans():
    query = request_query()
    page = service_plans.list_plans(
        current_actor(),
        device_id=query["device_id"],
        kind=query["kind"].value if query["kind"] else None,
        status=query["status"],
        keyword=query["q"],
        page=query["page"],
        per_page=query["per_page"],
    )
    return jsonify({"items": payloads(page.items), "total": page.total, "page": page.page, "per_page": page.per_page})


@route(
    "POST",
    f"/devices/<int:device_id>/service-plans/{KINDS}",
    "为设备制定保养 / 计量计划",
    body=CREATE,
    response="ServicePlan",
    status=201,
    errors=(409,),
)
def create_service_plan(device_id: int, kind: str):
    plan = service_plans.create_plan(current_actor(), device_id, kind, _fields(request_body(), "first_due_on"))
    commit()
    return jsonify(payloads([plan], history=True)[0]), 201


@route(
    "POST",
    "/service-plans/bulk",
    "为一个设备类型或科室的全部设备制定计划（已有执行中计划的设备跳过）",
    body=BULK,
    response="ServicePlanBulk",
    status=201,
)
def bulk_create_service_plans():
    body = request_body()
    result = service_plans.create_for_devices(
        current_actor(),
        body["kind"].value,
        _fields(body, "first_due_on"),
        category=body.get("category"),
        department_id=body.get("department_id"),
    )
    commit()
    return jsonify({"created": payloads(result.created), "skipped": result.skipped}), 201


@route("GET", "/service-plans/<int:plan_id>", "计划详情与执行记录（按到期日）", response="ServicePlan")
def get_service_plan(plan_id: int):
    plan = service_plans.get_plan(current_actor(), plan_id)
    return jsonify(payloads([plan], history=True)[0])


@route(
    "PATCH",
    "/service-plans/<int:plan_id>",
    "修改计划（改周期会重算下次到期日，已生成的不重复、不跳过）",
    body=UPDATE,
    response="ServicePlan",
    errors=(409,),
)
def update_service_plan(plan_id: int):
    plan = service_plans.update_plan(current_actor(), plan_id, _fields(request_body(), "next_due_on"))
    commit()
    return jsonify(payloads([plan], history=True)[0])


@route(
    "POST",
    "/service-plans/<int:plan_id>/end",
    "结束计划（保留执行记录）",
    body=END,
    body_required=False,
    response="ServicePlan",
    errors=(409,),
)
def end_service_plan(plan_id: int):
    plan = service_plans.end_plan(current_actor(), plan_id, request_body().get("reason"))
    commit()
    return jsonify(payloads([plan], history=True)[0])
