"""Deactivating an institution (the operator's CLI) at the level people see it: its vendor's
engineer loses the devices and work orders and gets them back; its people cannot sign in (PC,
mini-program, bot) and their sessions stop until it is reactivated; the alert sweep sends nothing
for it, and the days it missed are dropped with the reason on reactivation; what was waiting to be
sent, and what is decided while it is deactivated, is recorded as skipped (机构已停用)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from jobs.runtime import make_worker
from models import (
    AuditEntry,
    Delivery,
    DeliveryStatus,
    OutboxMessage,
    User,
    WorkOrder,
    WorkOrderDeadline,
    WorkOrderStatus,
    db,
)
from operations import outbox
from operations.alerts.sweep import INACTIVE_REASON, sweep_batch
from operations.clock import frozen, now_utc
from tests.conftest import TEST_PASSWORD
from tests.test_alert_delivery import SEND_SMS, at, run_minute
from tests.test_alert_record import (
    DAY,
    enter_credential,
    hospital,  # noqa: F401 - fixture
    read_plan,
    record,
    summary,
)
from tests.test_bot_webhook import OfficialAccount
from tests.test_institution_cli import cli
from tests.test_miniprogram_work import bound
from tests.test_work_orders_api import BASE, create, step, to_completed, world  # noqa: F401 - fixture

INACTIVE = "所属医疗机构已停用"


def test_a_vendor_engineer_loses_access_and_gets_it_back(app, world):  # noqa: F811
    engineer, admin = world["api"]["engineer"], world["api"]["admin"]
    device_id = world["device"].id
    waiting = create(world)["id"]  # nobody accepted it yet
    taken = create(world)["id"]
    step(world, "engineer", taken, "accept")  # accepted: the engineer's until closed
    # The devices and authorizations on the PC are the admin's (its engineers have 工单 only there).
    assert admin.get(f"/api/v1/devices/{device_id}").status_code == 200
    assert {row["id"] for row in engineer.get(BASE).get_json()["items"]} == {waiting, taken}
    served = admin.get("/api/v1/served-institutions").get_json()["items"]
    assert [(s["institution"], s["active"], s["authorized_devices"], s["open_work_orders"]) for s in served] == [
        ("医疗机构测试1", True, 1, 2)
    ]

    assert cli(app, "institution", "deactivate", "医疗机构测试1").exit_code == 0
    assert admin.get(f"/api/v1/devices/{device_id}").status_code == 404
    assert admin.get("/api/v1/devices").get_json()["total"] == 0
    assert engineer.get(BASE).get_json()["items"] == []
    for order_id in (waiting, taken):
        assert engineer.get(f"{BASE}/{order_id}").status_code == 404
        assert admin.get(f"{BASE}/{order_id}").status_code == 404
    assert engineer.post(f"{BASE}/{taken}/arrive", json={}).status_code == 404
    assert engineer.post(f"{BASE}/{waiting}/accept", json={}).status_code == 404
    # The vendor's list of its authorizations keeps the period, not the device.
    authorizations = admin.get("/api/v1/authorizations").get_json()["items"]
    assert authorizations and all(item["device_id"] is None for item in authorizations)
    served = admin.get("/api/v1/served-institutions").get_json()["items"]
    assert [(s["active"], s["authorized_devices"], s["open_work_orders"]) for s in served] == [(False, 0, 0)]

    assert cli(app, "institution", "reactivate", "医疗机构测试1").exit_code == 0
    assert admin.get("/api/v1/authorizations").get_json()["items"][0]["device_id"] == device_id
    assert admin.get(f"/api/v1/devices/{device_id}").status_code == 200
    assert {row["id"] for row in engineer.get(BASE).get_json()["items"]} == {waiting, taken}
    assert step(world, "engineer", taken, "arrive")["status"] == "on_site"


def test_its_people_cannot_sign_in_and_their_sessions_stop_until_reactivated(app, client, world, wechat_sim):  # noqa: F811
    manager = world["users"]["manager"]
    manager_api = world["api"]["manager"]
    phone = bound(app, client, wechat_sim, world["users"]["clinician"], "openid-nurse-mp")
    assert phone.get("/work-orders").status_code == 200
    assert manager_api.get("/api/v1/me").status_code == 200
    with app.app_context():
        db.session.get(User, manager.id).wechat_openid = "openid-manager-oa"
        db.session.commit()
    bot = OfficialAccount(client, safe=True)
    assert "工单" in bot.text("openid-manager-oa", "我的工单")

    assert cli(app, "institution", "deactivate", str(world["institution"].id)).exit_code == 0
    signed_out = manager_api.get("/api/v1/me")
    assert signed_out.status_code == 401 and signed_out.get_json()["error"]["message"] == INACTIVE
    refused = client.post("/api/v1/session", json={"username": manager.username, "password": TEST_PASSWORD})
    assert refused.status_code == 403 and refused.get_json()["error"]["message"] == INACTIVE
    # A wrong password still says only that (nothing about the institution).
    wrong = client.post("/api/v1/session", json={"username": manager.username, "password": "wrong-password"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["message"] == "用户名或密码错误"
    mp = phone.get("/work-orders")
    assert mp.status_code == 403 and mp.get_json()["error"]["message"] == INACTIVE
    assert bot.text("openid-manager-oa", "我的工单") == INACTIVE
    # The vendor's own people are not the institution's: they still sign in.
    assert world["api"]["engineer"].get("/api/v1/me").status_code == 200

    assert cli(app, "institution", "reactivate", str(world["institution"].id)).exit_code == 0
    assert manager_api.get("/api/v1/me").status_code == 200  # the same session works again
    assert (
        client.post("/api/v1/session", json={"username": manager.username, "password": TEST_PASSWORD}).status_code
        == 200
    )
    assert phone.get("/work-orders").status_code == 200
    assert "工单" in bot.text("openid-manager-oa", "我的工单")


def test_the_sweep_sends_nothing_and_reactivation_drops_the_missed_days(app, hospital, sms_sim):  # noqa: F811
    plan_id = enter_credential(hospital, at(DAY[6], 8, 0))
    run_minute(app, at(DAY[7], 9, 30))
    sent_before = sms_sim.state.count(SEND_SMS)
    assert sent_before == 2  # 张三 and 李工 on 12-07

    with frozen(at(DAY[7], 12, 0)):
        assert cli(app, "institution", "deactivate", "医疗机构测试1").exit_code == 0
    for day in (DAY[8], DAY[9]):
        run_minute(app, at(day, 9, 30))
        run_minute(app, at(day, 9, 31))
    assert sms_sim.state.count(SEND_SMS) == sent_before
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage)) == 1  # 12-07's only

    with frozen(at(DAY[9], 12, 0)):
        back = cli(app, "institution", "reactivate", "医疗机构测试1")
    assert back.exit_code == 0 and "错过的 2 天提醒不再补发" in back.output
    listed = record(hospital, plan_id)
    assert summary(listed["items"][:2]) == [("2026-12-09", "dropped"), ("2026-12-08", "dropped")]
    assert {item["reason"] for item in listed["items"][:2]} == {INACTIVE_REASON}
    plan = read_plan(hospital, plan_id, at(DAY[9], 12, 1))
    assert (plan["next_send_at"], plan["due_now"]) == ("2026-12-10T09:30:00+08:00", False)
    assert plan["last_sent_on"] == "2026-12-07"

    run_minute(app, at(DAY[10], 9, 30))  # the next reminder goes as planned
    assert sms_sim.state.count(SEND_SMS) == sent_before + 2
    assert read_plan(hospital, plan_id, at(DAY[10], 9, 31))["last_sent_on"] == "2026-12-10"


def test_the_expiry_notice_missed_while_deactivated_still_goes(app, hospital, sms_sim):  # noqa: F811
    plan_id = enter_credential(hospital, at(DAY[6], 8, 0))
    with frozen(at(DAY[6], 12, 0)):
        assert cli(app, "institution", "deactivate", "医疗机构测试1").exit_code == 0
    with frozen(at(DAY[12], 8, 0)):  # past the whole window and the expiry notice (12-11)
        assert "错过的 4 天提醒" in cli(app, "institution", "reactivate", "医疗机构测试1").output
    run_minute(app, at(DAY[12], 8, 1))
    assert sms_sim.state.count(SEND_SMS) == 2  # the expiry notice to both, nothing else
    plan = read_plan(hospital, plan_id, at(DAY[12], 8, 2))
    assert plan["status"] == "expired" and plan["last_sent_on"] == "2026-12-11"


def test_pending_deliveries_are_skipped_at_deactivation(app, hospital, sms_sim):  # noqa: F811
    enter_credential(hospital, at(DAY[6], 8, 0))
    with frozen(at(DAY[7], 9, 30)), app.app_context():  # decided, not sent yet
        sweep_batch(now_utc())
        db.session.commit()
    with frozen(at(DAY[7], 9, 31)):
        assert "4 条待发送的消息记为未发送" in cli(app, "institution", "deactivate", "医疗机构测试1").output
    run_minute(app, at(DAY[7], 9, 40))  # the relay finds nothing to send
    assert sms_sim.state.count(SEND_SMS) == 0
    with app.app_context():
        rows = db.session.execute(select(Delivery.status, Delivery.reason)).all()
    assert set(rows) == {(DeliveryStatus.SKIPPED, "机构已停用")} and len(rows) == 4


def response_deadline(order_id: int) -> WorkOrderDeadline:
    return db.session.scalar(
        select(WorkOrderDeadline).where(
            WorkOrderDeadline.work_order_id == order_id, WorkOrderDeadline.kind == "response"
        )
    )


def test_work_order_timers_wait_and_late_decisions_are_skipped_when_sent(app, world, wechat_sim, sms_sim):  # noqa: F811
    start = now_utc().replace(microsecond=0)
    with frozen(start):
        order_id = create(world, urgency="downtime")["id"]
    make_worker(app, simple=True).work(burst=True)  # the emergency pushes go
    sms_before = sms_sim.state.count(SEND_SMS)
    with frozen(start + timedelta(minutes=1)):
        assert cli(app, "institution", "deactivate", "医疗机构测试1").exit_code == 0
    # Nobody accepted within 15 minutes, but nobody there could act: the missed deadline waits.
    run_minute(app, start + timedelta(minutes=17))
    with app.app_context():
        assert response_deadline(order_id).breached_at is None
        # A message decided a moment after the deactivation (a step that committed just then) is
        # skipped by its send job rather than sent.
        late = outbox.fan_out(
            [
                outbox.Notice(
                    key=f"work_order:{order_id}:late",
                    topic="work_order.created",
                    title="新工单",
                    body="新工单",
                    payload={},
                    recipient_ids=[world["users"]["engineer"].id],
                    channels=["inbox", "sms"],
                    work_order_id=order_id,
                )
            ],
            start + timedelta(minutes=17),
        )
        db.session.commit()
    run_minute(app, start + timedelta(minutes=25))  # the relay hands it to a send job
    with app.app_context():
        rows = db.session.execute(
            select(Delivery.status, Delivery.reason).where(Delivery.message_id == late[0].id)
        ).all()
    assert rows == [(DeliveryStatus.SKIPPED, "机构已停用")] * 2
    assert sms_sim.state.count(SEND_SMS) == sms_before

    with frozen(start + timedelta(minutes=30)):
        assert cli(app, "institution", "reactivate", "医疗机构测试1").exit_code == 0
    # The stopped time does not count: the engineers get back the 14 minutes of the window that
    # were left at the deactivation.
    run_minute(app, start + timedelta(minutes=31))
    with app.app_context():
        deadline = response_deadline(order_id)
        assert deadline.breached_at is None and deadline.due_at == start + timedelta(minutes=44)
        (reactivated,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "institution", AuditEntry.action == "reactivate")
        )
        assert reactivated.changes["sla_deadlines_moved"] == 3  # response, arrival, completion
    run_minute(app, start + timedelta(minutes=43))
    with app.app_context():
        assert response_deadline(order_id).breached_at is None
    run_minute(app, start + timedelta(minutes=44))  # still waiting for an engineer: missed now
    with app.app_context():
        assert response_deadline(order_id).breached_at == start + timedelta(minutes=44)
        escalation = db.session.execute(
            select(Delivery.channel, Delivery.status)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(OutboxMessage.work_order_id == order_id, Delivery.created_at == start + timedelta(minutes=44))
        ).all()
    assert ("inbox", DeliveryStatus.SENT) in {(channel.value, status) for channel, status in escalation}


def test_a_reporter_gets_the_full_days_to_confirm_and_rate_after_reactivation(app, world):  # noqa: F811
    """A report completed before the deactivation is not confirmed the moment the institution comes
    back: the reporter has CONFIRM_DAYS of signed-in time from the reactivation, then RATING_DAYS."""
    start = now_utc().replace(microsecond=0)
    with frozen(start):
        order_id = create(world)["id"]
        to_completed(world, order_id)
    with frozen(start + timedelta(days=2)):
        assert cli(app, "institution", "deactivate", "医疗机构测试1").exit_code == 0
    back = start + timedelta(days=20)
    with frozen(back):
        assert cli(app, "institution", "reactivate", "医疗机构测试1").exit_code == 0

    def status_after(moment):
        run_minute(app, moment)
        with app.app_context():
            return db.session.get(WorkOrder, order_id).status

    assert status_after(back + timedelta(minutes=1)) is WorkOrderStatus.COMPLETED
    assert status_after(back + timedelta(days=6, hours=23)) is WorkOrderStatus.COMPLETED
    assert status_after(back + timedelta(days=7, minutes=1)) is WorkOrderStatus.CONFIRMED  # 系统自动确认
    with app.app_context():
        order = db.session.get(WorkOrder, order_id)
        assert order.completed_at < start + timedelta(days=1)  # the facts stay as they happened
        confirmed = order.confirmed_at
    assert status_after(confirmed + timedelta(days=6, hours=23)) is WorkOrderStatus.CONFIRMED
    assert status_after(confirmed + timedelta(days=7, minutes=1)) is WorkOrderStatus.CLOSED


def test_a_report_confirmed_before_the_deactivation_waits_its_rating_days_from_the_reactivation(app, world):  # noqa: F811
    start = now_utc().replace(microsecond=0)
    with frozen(start):
        order_id = create(world)["id"]
        to_completed(world, order_id)
        step(world, "clinician", order_id, "confirm")
    with frozen(start + timedelta(days=6)):
        assert cli(app, "institution", "deactivate", "医疗机构测试1").exit_code == 0
    back = start + timedelta(days=10)
    with frozen(back):
        assert cli(app, "institution", "reactivate", "医疗机构测试1").exit_code == 0
    run_minute(app, back + timedelta(minutes=1))
    run_minute(app, back + timedelta(days=6))
    with app.app_context():
        assert db.session.get(WorkOrder, order_id).status is WorkOrderStatus.CONFIRMED
    run_minute(app, back + timedelta(days=7, minutes=1))
    with app.app_context():
        assert db.session.get(WorkOrder, order_id).status is WorkOrderStatus.CLOSED
