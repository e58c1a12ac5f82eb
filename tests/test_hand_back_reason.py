"""Handing an engineer's orders back says why: a stopped account by default, another role when the
caller says so (operations.work_orders.dispatch.hand_back_orders_of's reason)."""

from __future__ import annotations

from sqlalchemy import select

from models import OutboxMessage, WorkOrder, WorkOrderEvent, WorkOrderEventKind, WorkOrderStatus, db
from operations.work_orders.dispatch import ROLE_CHANGED_REASON, hand_back_orders_of
from tests import test_staff_api

# The account-management tests' world: a vendor engineer holding an accepted repair.
org, repairs = test_staff_api.org, test_staff_api.repairs


def handed_back_notices(order_id: int) -> list[tuple[str, str]]:
    return [
        (title, body)
        for title, body in db.session.execute(
            select(OutboxMessage.title, OutboxMessage.body).where(
                OutboxMessage.topic == "work_order.handed_back", OutboxMessage.work_order_id == order_id
            )
        )
    ]


def test_a_role_change_hands_the_orders_back_saying_so(org, repairs, app):
    engineer, order_id = repairs["engineer"], repairs["order_id"]
    with app.app_context():
        assert hand_back_orders_of(engineer.id, reason=ROLE_CHANGED_REASON) == [order_id]
        db.session.commit()
        order = db.session.get(WorkOrder, order_id)
        assert order.status is WorkOrderStatus.PENDING and order.assignee_id is None
        event = db.session.scalar(
            select(WorkOrderEvent).where(
                WorkOrderEvent.work_order_id == order_id, WorkOrderEvent.kind == WorkOrderEventKind.HANDED_BACK
            )
        )
        assert event.detail["reason"] == "工程师刘工已调整为其他岗位"
        notices = handed_back_notices(order_id)
    assert notices and all(
        title.endswith("退回待接单") and "工程师刘工已调整为其他岗位，工单已退回待接单，请重新派工" in body
        for title, body in notices
    )
    assert not any("停用" in title + body for title, body in notices)


def test_by_default_the_reason_is_the_stopped_account(org, repairs, app):
    engineer, order_id = repairs["engineer"], repairs["order_id"]
    with app.app_context():
        assert hand_back_orders_of(engineer.id) == [order_id]
        db.session.commit()
        notices = handed_back_notices(order_id)
    assert notices and all("工程师刘工的账号已停用，工单已退回待接单" in body for _, body in notices)
