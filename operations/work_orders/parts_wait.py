"""待备件: the engineer on site finds the repair waits for parts, says why, and the order waits in
待备件 (the completion clock stopped, operations.work_orders.sla); when the parts arrive it goes
back to the step it was at (已到场 or 已诊断), and the reporter hears of both."""

from __future__ import annotations

from models import WorkOrder
from operations.actors import Actor
from operations.errors import InvalidInput
from operations.work_orders.access import require_assignee, visible_order
from operations.work_orders.flow import STEPS, refuse, take_step

MAX_REASON = 500


def wait_for_parts(actor: Actor, work_order_id: int, reason: str) -> WorkOrder:
    order = visible_order(actor, work_order_id)
    require_assignee(actor, order)
    if order.status not in STEPS["wait_parts"].sources:  # the state decides before the form does
        raise refuse(order, STEPS["wait_parts"])
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": "请填写等待的备件及原因"})
    if len(reason) > MAX_REASON:
        raise InvalidInput({"reason": f"原因不能超过 {MAX_REASON} 个字"})
    take_step(
        order,
        "wait_parts",
        actor,
        values={"paused_from": order.status},
        where=(WorkOrder.assignee_id == actor.user_id,),
        detail={"reason": reason},
    )
    return order


def parts_arrived(actor: Actor, work_order_id: int, note: str | None = None) -> WorkOrder:
    order = visible_order(actor, work_order_id)
    require_assignee(actor, order)
    if order.status not in STEPS["parts_arrived"].sources:
        raise refuse(order, STEPS["parts_arrived"])
    note = (note or "").strip()[:MAX_REASON]
    take_step(
        order,
        "parts_arrived",
        actor,
        values={"paused_from": None},
        where=(WorkOrder.assignee_id == actor.user_id, WorkOrder.paused_from.is_not(None)),
        target=order.paused_from,
        detail={"note": note} if note else None,
    )
    return order
