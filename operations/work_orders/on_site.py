"""At the device, from the engineer's phone: 到场 proven by scanning the device's own sticker (or,
without one, with a reason the timeline shows as 未扫码到场), and the customer's signature on the
service report (客户签字).

A signature taken on the engineer's phone confirms the order only when the signer is the order's
contact person and typed that name; otherwise it is attached to the report and the reporter
still confirms. The reporter signing on their own phone confirms the order: it is their 确认,
with their hand on it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import undefer

from models import Device, WorkOrder, WorkOrderEventKind, WorkOrderSignOff, WorkOrderStatus, db
from models.work_order import SIGN_OFF_PLACE_LABELS, SignOffPlace
from operations.actors import Actor
from operations.clock import now_utc
from operations.credentials import Upload
from operations.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from operations.work_orders.access import is_requester, require_assignee, visible_order
from operations.work_orders.flow import audit_order, record_event, take_step
from operations.work_orders.orders import PHOTO_TYPES

MAX_SIGNATURE_BYTES = 1024 * 1024


def arrive(
    actor: Actor, work_order_id: int, *, scanned_token: str | None = None, reason: str | None = None
) -> WorkOrder:
    """到场: the sticker scanned on the spot must be this order's device's; without a sticker the
    engineer says why. Exactly one of the two."""
    reason = (reason or "").strip() or None
    if scanned_token is None and reason is None:
        raise InvalidInput({"reason": "请扫描设备上的二维码；没有二维码时请填写未扫码的原因"})
    order = visible_order(actor, work_order_id)
    require_assignee(actor, order)
    if scanned_token is not None:
        token = db.session.scalar(select(Device.link_token).where(Device.id == order.device_id))
        if token != scanned_token:
            raise InvalidInput({"q": "扫描的不是本工单的设备，请扫描报修设备上的二维码"})
        detail: dict[str, Any] = {"scanned": True}
    else:
        detail = {"scanned": False, "reason": reason}
    take_step(order, "arrive", actor, where=(WorkOrder.assignee_id == actor.user_id,), detail=detail)
    return order


def sign_off(actor: Actor, work_order_id: int, *, signer_name: str, signature: Upload) -> WorkOrderSignOff:
    """客户签字 on the engineer's or the reporter's phone, once the service report is written (待确认)."""
    order = visible_order(actor, work_order_id, lock=True)
    place = _signing_place(actor, order)
    if order.status is not WorkOrderStatus.COMPLETED:
        raise Conflict("服务报告提交后、客户确认前才能签字")
    name = (signer_name or "").strip()
    if not name:
        raise InvalidInput({"signer_name": "请签字人填写姓名"})
    if len(signature.data) > MAX_SIGNATURE_BYTES or not signature.data.startswith(PHOTO_TYPES["image/png"]):
        raise InvalidInput({"file": "签名图片应为 PNG，且不超过 1 MB"})
    now = now_utc()
    confirms = place is SignOffPlace.REPORTER_PHONE or name == order.contact_name.strip()
    record = WorkOrderSignOff(
        work_order_id=order.id,
        signer_name=name,
        content_type="image/png",
        size=len(signature.data),
        image=signature.data,
        place=place,
        confirms=confirms,
        captured_by_id=actor.user_id,
        signed_at=now,
    )
    db.session.add(record)
    db.session.flush()
    place_label = SIGN_OFF_PLACE_LABELS[record.place]
    record_event(
        order,
        WorkOrderEventKind.SIGNED_OFF,
        actor.user_id,
        now,
        from_status=order.status,
        detail={"signer_name": name, "place": place_label, "confirms": confirms},
    )
    audit_order(actor, "sign_off", order, {"signer_name": [None, name], "place": [None, place_label]})
    if confirms:
        who = "报修人" if record.place is SignOffPlace.REPORTER_PHONE else "报修联系人"
        take_step(order, "confirm", actor, detail={"note": f"{name}（{who}）在{place_label}签字确认"}, now=now)
    return record


def _signing_place(actor: Actor, order: WorkOrder) -> SignOffPlace:
    """Whose phone this is on the order: the engineer's who holds it, or the reporter's."""
    if order.assignee_id == actor.user_id:
        return SignOffPlace.ENGINEER_PHONE
    if is_requester(actor, order):
        return SignOffPlace.REPORTER_PHONE
    raise PermissionDenied("只有接单的工程师或报修人可以签字")


def signature_of(actor: Actor, work_order_id: int, sign_off_id: int) -> WorkOrderSignOff:
    """One sign-off of an order the caller may see, its image loaded (the 服务报告's signature)."""
    order = visible_order(actor, work_order_id)
    record = db.session.scalar(
        select(WorkOrderSignOff)
        .options(undefer(WorkOrderSignOff.image))
        .where(WorkOrderSignOff.id == sign_off_id, WorkOrderSignOff.work_order_id == order.id)
    )
    if record is None:
        raise NotFound("签名不存在")
    return record


def may_sign_off(actor: Actor, order: WorkOrder) -> bool:
    """The sign-off button: the engineer on the order or its reporter, once the report waits for
    confirmation."""
    return order.status is WorkOrderStatus.COMPLETED and (
        actor.user_id == order.assignee_id or is_requester(actor, order)
    )


def sign_offs_of(actor: Actor, work_order_id: int) -> list[WorkOrderSignOff]:
    order = visible_order(actor, work_order_id)
    return list(
        db.session.scalars(
            select(WorkOrderSignOff).where(WorkOrderSignOff.work_order_id == order.id).order_by(WorkOrderSignOff.id)
        )
    )
