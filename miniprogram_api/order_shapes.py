"""工单 as the mini-program shows them: the PC API's shapes (console_api.work_order_views.rows and
detail_payload), plus what a phone needs to tell a planned order (保养计划 / 计量计划) from a
reported one without guessing from nulls: its 来源, and "系统（保养计划）" where a person's name
would stand as the reporter. A planned order's hospital side is its 科室联系人 (or the equipment
office standing in): `requester` says whether the caller is that side, so the sign page fills in
their name as it does the reporter's.
"""

from __future__ import annotations

from console_api.json_schema import BOOLEAN, STRING
from console_api.work_order_views import rows
from models import WorkOrder
from operations.actors import Actor
from operations.service_plans.plans import source_label, system_reporter
from operations.work_orders.access import is_requester

ROW_FIELDS = {
    "source_label": {**STRING, "description": "来源：报修，或保养计划 / 计量计划（系统按计划生成）"},
}
DETAIL_FIELDS = {
    **ROW_FIELDS,
    "reporter_label": {**STRING, "description": "报修人姓名；计划工单为「系统（保养计划）」或「系统（计量计划）」"},
    "requester": {**BOOLEAN, "description": "本人是否为报修人（或计划工单的科室联系人，无联系人时为设备科）"},
}


def mp_rows(orders: list[WorkOrder]) -> list[dict]:
    shaped = rows(orders)
    for row, order in zip(shaped, orders, strict=True):
        row["source_label"] = source_label(order)
    return shaped


def with_planned_fields(actor: Actor, order: WorkOrder, payload: dict) -> dict:
    """The detail's mini-program fields, added to `payload` (the PC API's detail)."""
    reporter = payload.get("reporter")
    payload["source_label"] = source_label(order)
    payload["reporter_label"] = reporter["name"] if reporter else system_reporter(order)
    payload["requester"] = is_requester(actor, order)
    return payload


def extended(schema: dict, fields: dict[str, dict]) -> dict:
    """`schema` (an object schema) with `fields` added, always present."""
    return {
        **schema,
        "properties": {**schema["properties"], **fields},
        "required": [*schema["required"], *fields],
    }
