"""Channel outages (issue 14, item 8): a provider that refuses the account itself holds deliveries
instead of failing them, on a real queue with real workers, the simulators answering the errors
through the real SDKs, under a controlled clock.

- Aliyun answers isv.AMOUNT_NOT_ENOUGH: the SMS channel is down (in /healthz and `python -m
  weixiu channels`, with a short reason), the morning's SMS wait without using their attempts,
  each institution with held messages hears it once in its inbox, a probe after `until` finds the
  account still refused and waits longer, and once topped up everything goes, once.
- WeChat answers 40164 (the server's IP is not whitelisted): the push that asks an engineer to take
  an order is held, its SMS goes at once, and the push follows when WeChat is back.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from test_miniprogram_session import sign_in
from test_stale_notices import drain, report, tick

from models import Delivery, InboxMessage, OutboxMessage, Role, Scope, db
from operations.clock import LOCAL_TZ, frozen

SEND_SMS = "SendSms"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
DAY = date(2026, 12, 7)
HELD_SMS = "短信通道暂停：阿里云短信账户余额不足"
SMS_DOWN = "短信通道暂停，提醒将延后送达"


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, second, tzinfo=LOCAL_TZ).astimezone(UTC)


def deliveries(app, channel: str) -> list[tuple]:
    """(status, attempts, reason) of the channel's deliveries about reminders and work orders."""
    with app.app_context():
        rows = db.session.execute(
            select(Delivery.status, Delivery.attempts, Delivery.reason, Delivery.next_attempt_at)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.channel == channel, OutboxMessage.topic != "channel.down")
            .order_by(Delivery.id)
        ).all()
        db.session.remove()
    return [(status.value, attempts, reason, next_attempt_at) for status, attempts, reason, next_attempt_at in rows]


def outage_notices(app) -> Counter:
    """(recipient, title) of the inbox notices of channel outages."""
    with app.app_context():
        rows = db.session.execute(
            select(InboxMessage.user_id, InboxMessage.title).where(InboxMessage.topic == "channel.down")
        ).all()
        db.session.remove()
    return Counter(rows)


def sms_channel(client) -> dict:
    response = client.get("/healthz")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["channels"]["sms"]


@pytest.fixture
def two_hospitals(app, factory, client, configure):
    """Two institutions, each with an equipment manager (phone, no WeChat) reminded by SMS and the
    inbox of a 设备操作证 expiring 2026-12-10 (warned 3 days ahead, at 09:30). One SMS call at a
    time, so the order of calls is the test's to know."""
    configure(DELIVERY_CONCURRENCY=1)
    managers = []
    for number in (1, 2):
        institution = factory.institution(f"医疗机构测试{number}")
        manager = factory.user(
            Role.EQUIPMENT_MANAGER, institution=institution, display_name=f"张{number}", phone=f"1380000000{number}"
        )
        device = factory.device(institution, name="检眼镜")
        with frozen(at(8, 0) - timedelta(days=1)):
            response = factory.api(client, manager).post(
                "/api/v1/credentials",
                json={
                    "kind": "operation_certificate",
                    "device_ids": [device.id],
                    "number": f"C00000000{number}",
                    "valid_until": "2026-12-10",
                    "warn_days": 3,
                    "send_time": "09:30:00",
                    "alert": {"channels": ["inbox", "sms"], "notify_related": True, "recipient_ids": []},
                },
            )
        assert response.status_code == 201, response.get_json()
        managers.append(manager)
    return managers


def test_an_sms_account_out_of_balance_holds_the_reminders_until_it_is_topped_up(app, client, two_hospitals, sms_sim):
    first, second = two_hospitals
    sms_sim.state.inject(SEND_SMS, times=2, code="isv.AMOUNT_NOT_ENOUGH")  # until someone tops up

    tick(app, at(9, 30))
    # One refusal is enough: the channel is down, and the other SMS was not even tried.
    assert sms_sim.state.count(SEND_SMS) == 1
    assert [row[:3] for row in deliveries(app, "sms")] == [("pending", 0, HELD_SMS)] * 2
    assert {row[3] for row in deliveries(app, "sms")} == {at(9, 31)}  # the next probe
    assert {row[0] for row in deliveries(app, "inbox")} == {"sent"}  # the inbox is ours: never down
    down = sms_channel(client)
    assert (down["state"], down["reason"], down["code"]) == ("down", "阿里云短信账户余额不足", "isv.AMOUNT_NOT_ENOUGH")
    assert (down["since"], down["until"]) == ("2026-12-07T09:30:00+08:00", "2026-12-07T09:31:00+08:00")
    shown = app.test_cli_runner().invoke(args=["channels"])
    assert shown.exit_code == 0
    assert "sms\t短信通道\t暂停\t自 2026-12-07T09:30:00+08:00 起：阿里云短信账户余额不足" in shown.output
    assert "wechat\t微信通道\t正常" in shown.output
    # Each institution with held messages hears of it once, in its equipment manager's inbox.
    assert outage_notices(app) == Counter({(first.id, SMS_DOWN): 1, (second.id, SMS_DOWN): 1})

    tick(app, at(9, 30, 30))  # before the probe is due: nobody is called
    assert sms_sim.state.count(SEND_SMS) == 1

    tick(app, at(9, 31))  # the probe: still refused, so the channel waits longer
    assert sms_sim.state.count(SEND_SMS) == 2
    assert [row[:3] for row in deliveries(app, "sms")] == [("pending", 0, HELD_SMS)] * 2
    assert sms_channel(client)["until"] == "2026-12-07T09:33:00+08:00"
    assert sum(outage_notices(app).values()) == 2  # the same outage: no second notice

    tick(app, at(9, 32))
    assert sms_sim.state.count(SEND_SMS) == 2

    tick(app, at(9, 33))  # topped up meanwhile: the probe goes through, and everything follows
    sent = [record.payload["PhoneNumbers"] for record in sms_sim.state.records(SEND_SMS)[2:]]
    assert sorted(sent) == ["13800000001", "13800000002"]  # each once
    assert [row[:2] for row in deliveries(app, "sms")] == [("sent", 1)] * 2  # held was not an attempt
    assert sms_channel(client)["state"] == "up"
    assert "sms\t短信通道\t正常" in app.test_cli_runner().invoke(args=["channels"]).output


def test_a_new_outage_is_announced_again(app, client, two_hospitals, sms_sim):
    first, second = two_hospitals
    sms_sim.state.inject(SEND_SMS, times=1, code="isv.ACCOUNT_ABNORMAL")
    tick(app, at(9, 30))
    tick(app, at(9, 31))  # back: all sent
    assert sms_channel(client)["state"] == "up"
    assert {row[0] for row in deliveries(app, "sms")} == {"sent"}

    sms_sim.state.inject(SEND_SMS, times=1, code="InvalidAccessKeyId.Inactive")  # the next day's outage
    tick(app, at(9, 30) + timedelta(days=1))
    assert (sms_channel(client)["state"], sms_channel(client)["reason"]) == ("down", "短信 AccessKey 已停用")
    assert outage_notices(app) == Counter(
        {
            (first.id, "短信通道暂停，提醒将延后送达"): 2,
            (second.id, "短信通道暂停，提醒将延后送达"): 2,
        }
    )


def test_wechat_refusing_the_servers_ip_holds_the_push_and_the_sms_goes_meanwhile(
    app, factory, client, configure, wechat_sim, sms_sim
):
    configure(DELIVERY_CONCURRENCY=1)
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    manager = factory.manager(institution)
    engineer = factory.user(
        Role.VENDOR_ENGINEER, vendor=vendor, display_name="李工", phone="13800000003", wechat_openid="openid-li"
    )
    nurse = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    device = factory.device(institution, name="高压注射器", category="注射泵")
    factory.authorization(device, vendor, starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31), scopes={Scope.REPAIR})
    wechat_sim.state.inject(TEMPLATE_SEND, times=1, errcode=40164)
    report({"api": {"nurse": factory.api(client, nurse)}, "device": device}, at(9, 0))
    drain(app, at(9, 0))

    (push,) = deliveries(app, "wechat")
    assert push[:3] == ("pending", 0, "微信通道暂停：服务器IP不在公众号IP白名单")
    # The order asks 李工 to take it: WeChat cannot reach anyone for now, so the SMS goes at once.
    assert [record.payload["PhoneNumbers"] for record in sms_sim.state.records(SEND_SMS)] == ["13800000003"]
    channels = client.get("/healthz").get_json()["channels"]
    assert (channels["wechat"]["state"], channels["wechat"]["code"]) == ("down", "40164")
    assert outage_notices(app) == Counter({(manager.id, "微信通道暂停，提醒将延后送达"): 1})

    tick(app, at(9, 1))  # whitelisted meanwhile: the probe goes through
    assert [row[:2] for row in deliveries(app, "wechat")] == [("sent", 1)]
    sent = [r for r in wechat_sim.state.records(TEMPLATE_SEND) if r.response.get("errcode") == 0]
    assert [record.payload["body"]["touser"] for record in sent] == ["openid-li"]
    assert client.get("/healthz").get_json()["channels"]["wechat"]["state"] == "up"
    # 李工 heard twice: by SMS at once, by WeChat once it was back (better twice than late).
    assert [r.payload["PhoneNumbers"] for r in sms_sim.state.records(SEND_SMS)] == [engineer.phone]


def test_verification_codes_are_never_held(app, client, two_hospitals, wechat_sim, sms_sim):
    """A code is useless a minute later: during an outage it fails at once, with the reason."""
    sms_sim.state.inject(SEND_SMS, times=2, code="isv.AMOUNT_NOT_ENOUGH")
    tick(app, at(9, 30))
    assert sms_channel(client)["state"] == "down"
    phone = sign_in(client, wechat_sim, "o-during-the-outage")
    refused = phone.post("/bind/sms-code", json={"phone": two_hospitals[0].phone})
    assert refused.status_code == 502
    assert refused.get_json()["error"]["message"] == "短信发送失败，请稍后重试"
    assert sms_sim.state.count(SEND_SMS) == 2  # tried at once, not held behind the reminders
