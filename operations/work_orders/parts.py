"""更换的备件: the parts an engineer records while at the device, for the service report.

The SOP asks that a part be original or certified and within its validity, and that the report
say what became of the part it replaced; a part past its 有效期至 is refused here, at entry,
rather than found on a signed report.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from models import WorkOrderPart, db
from models.work_order import WORK_ORDER_STATUS_LABELS, PartOrigin, ReplacedPartFate, WorkOrderEventKind
from operations.actors import Actor
from operations.clock import now_utc, today_local
from operations.errors import Conflict, InvalidInput, NotFound
from operations.text import optional_text
from operations.work_orders.access import require_assignee, visible_order
from operations.work_orders.flow import PART_STATUSES, audit_order, part_json, record_event

MAX_PARTS = 50
E = WorkOrderEventKind


def add_part(
    actor: Actor,
    work_order_id: int,
    *,
    name: str,
    model: str | None = None,
    serial_number: str | None = None,
    quantity: int = 1,
    origin: PartOrigin | None = None,
    valid_until: date | None = None,
    replaced_part: ReplacedPartFate | None = None,
    note: str | None = None,
) -> WorkOrderPart:
    """Record a part fitted; on the timeline, no status change."""
    order = visible_order(actor, work_order_id, lock=True)
    require_assignee(actor, order)
    if order.status not in PART_STATUSES:
        raise Conflict(f"工单当前状态为「{WORK_ORDER_STATUS_LABELS[order.status]}」，不能登记配件")
    if valid_until is not None and valid_until < today_local():
        raise InvalidInput({"valid_until": "该备件已过有效期，不能使用"})
    count = db.session.scalar(select(func.count()).where(WorkOrderPart.work_order_id == order.id))
    if count >= MAX_PARTS:
        raise InvalidInput({"name": f"每个工单最多登记 {MAX_PARTS} 项配件"})
    now = now_utc()
    part = WorkOrderPart(
        work_order_id=order.id,
        name=name.strip(),
        model=optional_text(model),
        serial_number=optional_text(serial_number),
        quantity=quantity,
        origin=origin,
        valid_until=valid_until,
        replaced_part=replaced_part,
        note=optional_text(note),
        added_by_id=actor.user_id,
        added_at=now,
    )
    db.session.add(part)
    db.session.flush()
    order.updated_at = now
    record_event(order, E.PART_ADDED, actor.user_id, now, from_status=order.status, detail={"part": part_json(part)})
    audit_order(actor, "add_part", order, {"part": [None, part_json(part)]})
    return part


def remove_part(actor: Actor, work_order_id: int, part_id: int) -> None:
    order = visible_order(actor, work_order_id, lock=True)
    require_assignee(actor, order)
    if order.status not in PART_STATUSES:
        raise Conflict(f"工单当前状态为「{WORK_ORDER_STATUS_LABELS[order.status]}」，不能修改配件")
    part = db.session.scalar(
        select(WorkOrderPart).where(WorkOrderPart.id == part_id, WorkOrderPart.work_order_id == order.id)
    )
    if part is None:
        raise NotFound("配件记录不存在")
    removed = part_json(part)
    db.session.delete(part)
    now = now_utc()
    order.updated_at = now
    db.session.flush()
    # On the timeline too: the report must not list a part the timeline says was fitted, unexplained.
    record_event(order, E.PART_REMOVED, actor.user_id, now, from_status=order.status, detail={"part": removed})
    audit_order(actor, "remove_part", order, {"part": [removed, None]})
