"""Notification preferences on a work order's steps: a turned-off WeChat is a skipped delivery
(with an SMS where the step asks the person to act); an emergency ignores preferences only where it
asks someone to take it (the new order, its assignment) and when escalated."""

from __future__ import annotations

from sqlalchemy import select

from models import Delivery, OutboxMessage, db
from tests import test_own_account

# A hospital's clinician and the vendor engineer its authorized device's orders go to.
repair_world = test_own_account.repair_world
REPORT = test_own_account._report


def deliveries(app, person_id: int, order_id: int, topic: str) -> dict[str, tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(Delivery.channel, Delivery.status, Delivery.reason)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(
                Delivery.recipient_id == person_id,
                OutboxMessage.work_order_id == order_id,
                OutboxMessage.topic == topic,
            )
        ).all()
    return {channel.value: (status.value, reason) for channel, status, reason in rows}


def test_an_emergencys_later_steps_follow_the_reporters_preferences(app, factory, repair_world):
    engineer, reporter_api = repair_world["engineer"], repair_world["api"]
    reporter_id = reporter_api.get("/api/v1/me").get_json()["id"]
    engineer_api = factory.api(repair_world["client"], engineer)
    for api in (reporter_api, engineer_api):
        turned_off = api.put("/api/v1/me/notification-preferences", json={"work_order": {"wechat": False}})
        assert turned_off.status_code == 200, turned_off.get_json()

    order_id = REPORT(repair_world, "downtime")
    # Taking it: the engineer is asked on every channel, whatever they turned off (WeChat cannot
    # reach this one, so the SMS goes instead).
    created = deliveries(app, engineer.id, order_id, "work_order.created")
    assert created["sms"][0] in ("pending", "sent") and created["sms"][1] is None
    assert "本人已关闭微信提醒" not in str(created)

    # The engineer accepts: telling the reporter asks nobody to take it, so their settings hold.
    assert engineer_api.post(f"/api/v1/work-orders/{order_id}/accept").status_code == 200
    accepted = deliveries(app, reporter_id, order_id, "work_order.accepted")
    assert accepted["wechat"] == ("skipped", "本人已关闭微信提醒")
    assert accepted["inbox"][1] is None
