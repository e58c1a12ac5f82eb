"""Stale notices are withdrawn (issue 14, item 5): a message is checked against what it is about
before each attempt, on a real queue with real workers, the WeChat and SMS simulators over HTTP,
under a controlled clock.

- A "待接单" SMS held by the provider's flow control, or still queued, is not sent once the order
  was accepted: it is recorded as withdrawn (工单已接单，通知已撤回); the same SMS of an order
  nobody accepted still goes once the flow control lets it. An escalation to the equipment office likewise.
- A reminder queued before its plan was handled (已处理) is not sent.
- A held reminder whose day (Asia/Shanghai) has passed is dropped, and so is one whose subject got
  a new expiry date meanwhile; 发送记录 shows it as 已撤回 with the reason.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from jobs import scheduler
from jobs.alerts import sweep_alert_plans
from jobs.queues import BULK, URGENT, job_queues
from jobs.runtime import make_worker
from models import Delivery, OutboxMessage, Role, Scope, db
from operations.clock import LOCAL_TZ, frozen

SEND_SMS = "SendSms"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
FLOW_CONTROL = "isv.BUSINESS_LIMIT_CONTROL"
DAY = date(2026, 11, 23)


def at(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=LOCAL_TZ).astimezone(UTC)


def drain(app, moment: datetime) -> None:
    with frozen(moment):
        make_worker(app, simple=True).work(burst=True)


def tick(app, moment: datetime) -> None:
    """The scheduler at `moment` (the minute's jobs, or the half-minute relay), then a worker drains."""
    with frozen(moment), app.app_context():
        if moment.second >= 30:
            scheduler.tick_half_minute(moment)
        else:
            scheduler.tick(moment)
    drain(app, moment)


def rows(app, **where) -> list[tuple]:
    """(topic, recipient id, channel, status, reason) of the deliveries, oldest first."""
    with app.app_context():
        query = (
            select(OutboxMessage.topic, Delivery.recipient_id, Delivery.channel, Delivery.status, Delivery.reason)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .order_by(Delivery.id)
        )
        for column, value in where.items():
            query = query.where(getattr(OutboxMessage, column) == value)
        found = [
            (topic, recipient, channel.value, status.value, reason)
            for topic, recipient, channel, status, reason in db.session.execute(query)
        ]
        db.session.remove()
    return found


def sms_sent(sms_sim) -> list[dict]:
    """What the SMS simulator accepted (not what it refused)."""
    return [record.payload for record in sms_sim.state.records(SEND_SMS) if record.response.get("Code") == "OK"]


# -- work orders -------------------------------------------------------------------------------


@pytest.fixture
def cast(app, factory, client, wechat_sim):
    """A vendor's two engineers: 李工 works from WeChat, 赵工 has a phone only (so a step asking
    him to act reaches him by SMS); the vendor's admin (the dispatcher) has neither; 张三, the
    equipment manager, has both; 王护士 reports."""
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    people = {
        "manager": factory.user(
            Role.EQUIPMENT_MANAGER,
            institution=institution,
            display_name="张三",
            phone="13800000001",
            wechat_openid="openid-zhangsan",
        ),
        "nurse": factory.user(
            Role.CLINICIAN, institution=institution, display_name="王护士", wechat_openid="openid-nurse"
        ),
        "li": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="李工", wechat_openid="openid-li"),
        "zhao": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="赵工", phone="13800000004"),
    }
    device = factory.device(institution, name="高压注射器", category="注射泵")
    factory.authorization(device, vendor, starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31), scopes={Scope.REPAIR})
    return {
        "people": people,
        "ids": {name: user.id for name, user in people.items()},
        "api": {name: factory.api(client, user) for name, user in people.items()},
        "device": device,
    }


def report(cast, moment: datetime, urgency: str = "normal") -> dict:
    with frozen(moment):
        response = cast["api"]["nurse"].post(
            "/api/v1/work-orders",
            json={
                "device_id": cast["device"].id,
                "kind": "repair",
                "urgency": urgency,
                "contact_name": "王护士",
                "contact_methods": [{"kind": "mobile", "value": "13800000002"}, {"kind": "landline", "value": "8021"}],
                "fault_description": "开机后报错 E21",
            },
        )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def accept(cast, who: str, order_id: int, moment: datetime) -> None:
    with frozen(moment):
        response = cast["api"][who].post(f"/api/v1/work-orders/{order_id}/accept", json={})
    assert response.status_code == 200, response.get_json()


def test_a_new_order_sms_held_by_flow_control_is_withdrawn_once_accepted(app, cast, sms_sim):
    ids = cast["ids"]
    sms_sim.state.inject(SEND_SMS, times=1, code=FLOW_CONTROL)  # 触发分钟级流控: 赵工's number, for a minute
    taken = report(cast, at(9, 0))
    waiting = report(cast, at(9, 0))
    drain(app, at(9, 0))
    # The first SMS was refused, the second not even tried: both wait for the minute to pass (jobs.quotas).
    assert sms_sim.state.count(SEND_SMS) == 1 and sms_sent(sms_sim) == []

    accept(cast, "li", taken["id"], at(9, 0, 20))  # 李工 takes the first meanwhile
    tick(app, at(9, 0, 30))  # still inside the minute: nothing is due
    assert sms_sim.state.count(SEND_SMS) == 1
    tick(app, at(9, 1))  # the relay hands both to one send job

    withdrawn = ("work_order.created", ids["zhao"], "sms", "withdrawn", "工单已接单，通知已撤回")
    assert withdrawn in rows(app, work_order_id=taken["id"])
    assert ("work_order.created", ids["zhao"], "sms", "sent", None) in rows(app, work_order_id=waiting["id"])
    # The provider saw the refused call and the one still asking 赵工 to act, nothing else.
    assert sms_sim.state.count(SEND_SMS) == 2
    (sent,) = sms_sent(sms_sim)
    assert sent["TemplateParam"]["number"] == waiting["number"]

    for moment in (at(9, 2), at(9, 5), at(9, 30)):  # later ticks change nothing
        tick(app, moment)
    assert sms_sim.state.count(SEND_SMS) == 2
    assert withdrawn in rows(app, work_order_id=taken["id"])


def test_a_queued_new_order_accepted_before_its_job_runs_sends_no_call_to_take_it(app, cast, sms_sim, wechat_sim):
    ids = cast["ids"]
    order = report(cast, at(9, 0))
    accept(cast, "li", order["id"], at(9, 0, 5))  # the queue was slow: both steps' jobs wait
    with app.app_context():
        assert job_queues.queue(URGENT).count == 2
    drain(app, at(9, 0, 6))

    assert sms_sim.state.count(SEND_SMS) == 0  # 赵工's SMS never reached the provider
    found = rows(app, work_order_id=order["id"])
    created = {row[1:4] for row in found if row[0] == "work_order.created"}
    # The call to take the order is withdrawn everywhere (李工 took it himself: he is not told).
    assert created >= {
        (ids["zhao"], "sms", "withdrawn"),
        (ids["zhao"], "inbox", "withdrawn"),
    }
    assert all(row[4] == "工单已接单，通知已撤回" for row in found if row[3] == "withdrawn")
    # What informs is sent: the equipment office's inbox, the reporter's news of the acceptance.
    assert (ids["manager"], "inbox", "sent") in created
    assert ("work_order.accepted", ids["nurse"], "wechat", "sent", None) in found
    assert [record.payload["body"]["touser"] for record in wechat_sim.state.records(TEMPLATE_SEND)] == ["openid-nurse"]


def test_an_escalation_held_by_flow_control_is_withdrawn_once_someone_accepts(app, cast, sms_sim):
    ids = cast["ids"]
    order = report(cast, at(9, 0), urgency="downtime")  # 服务时限: accepted within 15 minutes
    drain(app, at(9, 0))
    tick(app, at(9, 15))  # missed: the dispatcher is told
    sms_sim.state.inject(SEND_SMS, times=1, code=FLOW_CONTROL)
    tick(app, at(9, 45))  # still nobody: the office is told, its SMS is held
    escalated = [row for row in rows(app, work_order_id=order["id"]) if row[0] == "work_order.sla_escalated"]
    assert ("work_order.sla_escalated", ids["manager"], "sms", "pending") in [row[:4] for row in escalated]
    assert ("work_order.sla_escalated", ids["manager"], "wechat", "sent", None) in escalated

    accept(cast, "zhao", order["id"], at(9, 45, 10))
    tick(app, at(9, 46))  # the minute of flow control has passed
    escalated = [row for row in rows(app, work_order_id=order["id"]) if row[0] == "work_order.sla_escalated"]
    assert ("work_order.sla_escalated", ids["manager"], "sms", "withdrawn", "工单已接单，通知已撤回") in escalated
    assert "13800000001" not in [payload["PhoneNumbers"] for payload in sms_sent(sms_sim)]


# -- alert reminders ---------------------------------------------------------------------------


@pytest.fixture
def reminding(app, factory, client):
    """A 设备操作证 expiring 2026-12-10, warned 3 days ahead at `send_time`, by SMS, WeChat and the
    inbox to the equipment manager who entered it (phone and WeChat)."""

    def plan(send_time: str = "09:30:00") -> dict:
        institution = factory.institution("医疗机构测试1")
        manager = factory.user(
            Role.EQUIPMENT_MANAGER,
            institution=institution,
            display_name="张三",
            phone="13800000001",
            wechat_openid="openid-zhangsan",
        )
        device = factory.device(institution, name="检眼镜")
        api = factory.api(client, manager)
        with frozen(at(8, 0, day=date(2026, 12, 6))):
            response = api.post(
                "/api/v1/credentials",
                json={
                    "kind": "operation_certificate",
                    "device_ids": [device.id],
                    "number": "C000000001",
                    "valid_until": "2026-12-10",
                    "warn_days": 3,
                    "send_time": send_time,
                    "alert": {"channels": ["inbox", "sms", "wechat"], "notify_related": True, "recipient_ids": []},
                },
            )
        assert response.status_code == 201, response.get_json()
        return {"api": api, "plan_id": response.get_json()["alert"]["id"], "credential": response.get_json()}

    return plan


def record(reminding_plan) -> list[dict]:
    """The plan's 发送记录 as the PC shows it."""
    response = reminding_plan["api"].get(f"/api/v1/alert-plans/{reminding_plan['plan_id']}/deliveries")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_a_reminder_queued_before_the_plan_was_handled_is_not_sent(app, reminding, sms_sim, wechat_sim):
    plan = reminding()
    moment = at(9, 30, day=date(2026, 12, 7))
    with frozen(moment), app.app_context():
        assert sweep_alert_plans()["plans"] == 1  # the day's reminder is decided, its send jobs queued:
        assert job_queues.queue(BULK).count == 2  # the inbox's, then its SMS and WeChat's (no digest for one)
    with frozen(moment + timedelta(seconds=5)):
        response = plan["api"].post(f"/api/v1/alert-plans/{plan['plan_id']}/handle", json={"note": "已安排复审"})
    assert response.status_code == 200, response.get_json()
    drain(app, moment + timedelta(seconds=6))

    assert sms_sim.state.count(SEND_SMS) == 0 and wechat_sim.state.count(TEMPLATE_SEND) == 0
    entries = record(plan)
    assert {(entry["channel"], entry["status"], entry["status_label"], entry["reason"]) for entry in entries} == {
        (channel, "withdrawn", "已撤回", "预警已处理，通知已撤回") for channel in ("inbox", "sms", "wechat")
    }


def test_a_held_reminder_whose_day_has_passed_is_dropped(app, reminding, sms_sim, wechat_sim):
    plan = reminding(send_time="23:59:00")
    day = date(2026, 12, 7)
    sms_sim.state.inject(SEND_SMS, times=1, code=FLOW_CONTROL)  # 触发分钟级流控: a minute's wait
    tick(app, at(23, 59, day=day))  # refused: the number waits until 00:00, the next day
    tick(app, at(23, 59, 30, day=day))  # not due yet
    tick(app, at(0, 0, day=day + timedelta(days=1)))

    assert sms_sent(sms_sim) == [] and sms_sim.state.count(SEND_SMS) == 1
    (sms,) = [entry for entry in record(plan) if entry["channel"] == "sms"]
    assert (sms["date"], sms["status"], sms["status_label"], sms["reason"]) == (
        "2026-12-07",
        "withdrawn",
        "已撤回",
        "提醒日已过，通知已撤回",
    )
    assert sms["attempts"] == 0  # waiting for flow control is not an attempt
    assert {entry["status"] for entry in record(plan) if entry["channel"] != "sms"} == {"sent"}

    tick(app, at(23, 59, day=day + timedelta(days=1)))  # the next day's own reminder goes as usual
    assert [payload["PhoneNumbers"] for payload in sms_sent(sms_sim)] == ["13800000001"]


def test_a_held_reminder_of_a_renewed_credential_is_withdrawn(app, reminding, sms_sim):
    plan = reminding()
    day = date(2026, 12, 7)
    sms_sim.state.inject(SEND_SMS, times=1, code=FLOW_CONTROL)
    tick(app, at(9, 30, day=day))
    credential = plan["credential"]
    with frozen(at(9, 30, 10, day=day)):  # renewed while it waits: valid for another year
        response = plan["api"].put(
            f"/api/v1/credentials/{credential['id']}",
            json={
                "number": credential["number"],
                "warn_days": credential["warn_days"],
                "device_ids": [device["id"] for device in credential["devices"]],
                "valid_until": "2027-12-10",
                "send_time": credential["send_time"],
            },
        )
    assert response.status_code == 200, response.get_json()
    tick(app, at(9, 31, day=day))

    assert sms_sent(sms_sim) == []
    (sms,) = [entry for entry in record(plan) if entry["channel"] == "sms"]
    assert (sms["status"], sms["reason"]) == ("withdrawn", "到期日已变更，通知已撤回")


def test_a_held_expiry_notice_still_goes_the_next_day(app, reminding, sms_sim):
    """The expiry notice is the last word: like the sweep's catch-up, a late one still goes."""
    plan = reminding(send_time="23:59:00")
    notice_day = date(2026, 12, 11)
    sms_sim.state.inject(SEND_SMS, times=1, code=FLOW_CONTROL)
    tick(app, at(23, 59, day=notice_day))  # (the days before it are dropped: no sweep ran then)
    tick(app, at(0, 0, day=notice_day + timedelta(days=1)))

    (sms,) = [entry for entry in record(plan) if entry.get("channel") == "sms"]
    assert (sms["date"], sms["topic"], sms["status"]) == ("2026-12-11", "alert.expired", "sent")
    assert len(sms_sent(sms_sim)) == 1
