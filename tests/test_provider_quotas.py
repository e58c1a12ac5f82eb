"""The providers' quotas (issue 14, item 10): the sender keeps to Aliyun's flow control and WeChat's
daily template sends, counted in Redis by every worker, and never calls a provider past a limit; on
a real queue with real workers, the simulators enforcing the same limits, under a controlled clock
(the app's: operations.clock.frozen; the simulators': advance_clock).

- A person with 60 certificates expiring on one day gets 50 SMS that day; the other 10 wait (not
  failed, not refused by Aliyun) and go when the rolling window frees, the next morning.
- Whitelisted numbers are exempt.
- An emergency whose SMS would pass the limit goes at once by WeChat and the inbox; its SMS waits,
  and is withdrawn once the order is taken.
- Aliyun's own refusal (isv.BUSINESS_LIMIT_CONTROL) still comes now and then: the message waits for
  the window Aliyun names, no attempt counted, and the number is not called meanwhile.
- WeChat's template sends used up (by our count, or by WeChat's 45009): template sends pause until
  quota/get reports room after 00:00 (then hourly), the institutions hear it once, whoever is asked
  to act gets a subscribe message or an SMS at once, and the rest go after the day turns, once each.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from test_channel_outages import outage_notices
from test_stale_notices import accept, drain, report, tick

from connections import provider_quotas
from connections import redis as redis_connection
from models import ConsentStatus, Delivery, Institution, OutboxMessage, Role, Scope, User, WeChatApp, db
from operations.clock import LOCAL_TZ, frozen
from operations.subscribe_consents import record_consent
from simulators.state import BEIJING, SmsLimits, WeChatLimits

SEND_SMS = "SendSms"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
QUOTA_GET = "/cgi-bin/openapi/quota/get"
DAY = date(2026, 12, 7)
PAUSED = "微信模板消息暂停：今日额度已用完"
PAUSE_NOTICE = "微信模板消息今日额度已用完，提醒将延后送达"


# One message per reminder, as without digest templates: the quota itself is under test here
# (a person with many reminders at one slot gets a digest: tests/test_alert_digests.py).
NO_DIGESTS = {"SMS_DIGEST_TEMPLATE_CODE": None, "WECHAT_DIGEST_TEMPLATE_ID": None}


def at(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=LOCAL_TZ).astimezone(UTC)


def next_day(hour: int, minute: int = 0) -> datetime:
    return at(hour, minute, day=DAY + timedelta(days=1))


@pytest.fixture
def limits(sms_sim, wechat_sim):
    """Set the simulators' limits for one test (their counters start empty); restored after."""

    def change(*, sms: SmsLimits | None = None, wechat: WeChatLimits | None = None) -> None:
        if sms is not None:
            sms_sim.state.limits = sms
            sms_sim.state.reset()
        if wechat is not None:
            wechat_sim.state.limits = wechat
            wechat_sim.state.reset()

    yield change
    change(sms=SmsLimits(), wechat=WeChatLimits())


def sim_day_turns(wechat_sim) -> None:
    """The WeChat simulator's clock moves just past its next 00:00 (Asia/Shanghai): a new day."""
    now = datetime.fromtimestamp(wechat_sim.state.now(), BEIJING)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=BEIJING)
    wechat_sim.state.advance_clock((midnight - now).total_seconds() + 30)


def sms_answers(sms_sim) -> Counter:
    """Aliyun's answers by code (OK, isv.BUSINESS_LIMIT_CONTROL, …)."""
    return Counter(record.response.get("Code") for record in sms_sim.state.records(SEND_SMS))


def template_answers(wechat_sim) -> Counter:
    return Counter(record.response.get("errcode") for record in wechat_sim.state.records(TEMPLATE_SEND))


def deliveries(app, channel: str, **where) -> list[tuple]:
    """(status, attempts, reason, next attempt) of the channel's deliveries, oldest first, leaving
    out the outage notices."""
    with app.app_context():
        query = (
            select(Delivery.status, Delivery.attempts, Delivery.reason, Delivery.next_attempt_at)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.channel == channel, OutboxMessage.topic != "channel.down")
            .order_by(Delivery.id)
        )
        for column, value in where.items():
            query = query.where(getattr(OutboxMessage, column) == value)
        rows = [(status.value, *rest) for status, *rest in db.session.execute(query)]
        db.session.remove()
    return rows


def by_recipient(app, channel: str, **where) -> dict[int, tuple]:
    """Recipient -> (status, attempts, reason) of the channel's deliveries of one message."""
    with app.app_context():
        query = (
            select(Delivery.recipient_id, Delivery.status, Delivery.attempts, Delivery.reason)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.channel == channel)
        )
        for column, value in where.items():
            query = query.where(getattr(OutboxMessage, column) == value)
        rows = {
            recipient: (status.value, attempts, reason)
            for recipient, status, attempts, reason in db.session.execute(query)
        }
        db.session.remove()
    return rows


def sms_to(sms_sim, phone: str) -> Counter:
    """Aliyun's answers to the SMS sent to `phone`, by code."""
    return Counter(
        record.response.get("Code")
        for record in sms_sim.state.records(SEND_SMS)
        if record.payload.get("PhoneNumbers") == phone
    )


def certificates(factory, client, institution, manager, count: int, channels: list[str], send_time="08:00:00"):
    """`count` 设备操作证 the manager enters, each with its own plan reminding them by `channels`,
    all expiring on DAY - 1: their expiry notices are due on DAY at `send_time` (the notice that
    still goes however late)."""
    device = factory.device(institution, name="检眼镜")
    api = factory.api(client, manager)
    with frozen(at(8, 0) - timedelta(days=2)):
        for number in range(count):
            response = api.post(
                "/api/v1/credentials",
                json={
                    "kind": "operation_certificate",
                    "device_ids": [device.id],
                    "number": f"C{manager.id:03d}{number:06d}",
                    "valid_until": (DAY - timedelta(days=1)).isoformat(),
                    "warn_days": 1,
                    "send_time": send_time,
                    "alert": {"channels": channels, "notify_related": True, "recipient_ids": []},
                },
            )
            assert response.status_code == 201, response.get_json()


# -- SMS: 50 notices a day per signature, template and number ----------------------------------------


def test_sixty_certificates_due_on_one_day_give_fifty_sms_and_the_rest_go_when_the_window_frees(
    app, factory, client, configure, sms_sim
):
    configure(**NO_DIGESTS)
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三", phone="13800000001")
    certificates(factory, client, institution, manager, 60, ["inbox", "sms"])

    tick(app, at(8, 0))
    assert sms_answers(sms_sim) == Counter({"OK": 50})  # nobody called past the limit: no refusal
    sms = deliveries(app, "sms")
    assert Counter(status for status, *_ in sms) == Counter({"sent": 50, "pending": 10})
    waiting = [row for row in sms if row[0] == "pending"]
    assert {row[1:] for row in waiting} == {
        (0, "短信额度已满（同一号码同一模板24小时内至多50条），12-08 08:00后发送", next_day(8, 0))
    }
    assert Counter(status for status, *_ in deliveries(app, "inbox")) == Counter({"sent": 60})

    for moment in (at(12, 0), at(23, 59, 30), next_day(7, 59)):  # the window is full all day
        tick(app, moment)
    assert sms_answers(sms_sim) == Counter({"OK": 50})

    sms_sim.state.advance_clock(24 * 3600)  # Aliyun's day has rolled on as ours has
    tick(app, next_day(8, 0))
    assert sms_answers(sms_sim) == Counter({"OK": 60})
    assert Counter(row[:2] for row in deliveries(app, "sms")) == Counter({("sent", 1): 60})
    # Each certificate's notice once: 60 different messages, nothing twice.
    out_ids = [record.payload["OutId"] for record in sms_sim.state.records(SEND_SMS)]
    assert len(set(out_ids)) == 60


def test_whitelisted_numbers_are_exempt(app, factory, client, configure, sms_sim, limits):
    configure(SMS_NOTICES_PER_DAY=1, SMS_WHITELIST=frozenset({"13800000001"}))
    limits(sms=SmsLimits(notices_per_day=1, whitelist=frozenset({"13800000001"})))
    institution = factory.institution("医疗机构测试1")
    exempt = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三", phone="13800000001")
    counted = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="李四", phone="13800000002")
    certificates(factory, client, institution, exempt, 3, ["sms"])
    certificates(factory, client, institution, counted, 3, ["sms"])

    tick(app, at(8, 0))
    sent = Counter(record.payload["PhoneNumbers"] for record in sms_sim.state.records(SEND_SMS))
    assert sent == Counter({"13800000001": 3, "13800000002": 1})
    assert sms_answers(sms_sim) == Counter({"OK": 4})
    assert Counter(status for status, *_ in deliveries(app, "sms")) == Counter({"sent": 4, "pending": 2})


@pytest.fixture
def vendor_cast(app, factory, client):
    """A hospital with one device serviced by 服务商测试1, whose engineer 李工 works from WeChat and
    has a phone; 王工 is bound to the official account and uses the mini-program, where he accepted
    the work-order subscribe template; the vendor's admin has neither; 王护士 reports."""
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    manager = factory.user(
        Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三", phone="13800000001", wechat_openid="o-zs"
    )
    li = factory.user(
        Role.VENDOR_ENGINEER, vendor=vendor, display_name="李工", phone="13800000003", wechat_openid="o-li"
    )
    wang = factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="王工", wechat_openid="o-wang")
    nurse = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    with app.app_context():
        db.session.get(User, wang.id).wechat_miniprogram_openid = "mp-wang"
        record_consent(WeChatApp.MINIPROGRAM, "mp-wang", "sim-subscribe-work-order", ConsentStatus.ACCEPT, at(7, 0))
        db.session.commit()
    device = factory.device(institution, name="高压注射器", category="注射泵")
    factory.authorization(device, vendor, starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31), scopes={Scope.REPAIR})
    return {
        "institution": institution,
        "manager": manager,
        "li": li,
        "wang": wang,
        "device": device,
        "api": {"nurse": factory.api(client, nurse), "li": factory.api(client, li)},
    }


def test_an_emergency_whose_sms_would_pass_the_limit_goes_at_once_by_wechat_and_the_inbox(
    app, configure, vendor_cast, sms_sim, wechat_sim, limits
):
    configure(SMS_NOTICES_PER_DAY=2)
    limits(sms=SmsLimits(notices_per_day=2))
    li = vendor_cast["li"]
    for moment in (at(9, 0), at(9, 5)):  # two emergencies: 李工's two SMS of the day
        report(vendor_cast, moment, urgency="downtime")
        drain(app, moment)
    assert sms_to(sms_sim, li.phone) == Counter({"OK": 2})

    third = report(vendor_cast, at(9, 10), urgency="downtime")["id"]
    drain(app, at(9, 10))
    # 李工's push and inbox went at once; his SMS would pass the limit: it waits, and Aliyun was
    # not asked (no refusal).
    assert sms_to(sms_sim, li.phone) == Counter({"OK": 2})
    assert by_recipient(app, "sms", work_order_id=third)[li.id] == (
        "pending",
        0,
        "短信额度已满（同一号码同一模板24小时内至多2条），12-08 09:00后发送",
    )
    assert by_recipient(app, "wechat", work_order_id=third)[li.id][0] == "sent"
    assert by_recipient(app, "inbox", work_order_id=third)[li.id][0] == "sent"
    pushed = [r.payload["body"]["touser"] for r in wechat_sim.state.records(TEMPLATE_SEND)]
    assert pushed.count("o-li") == 3

    accept(vendor_cast, "li", third, at(9, 12))
    sms_sim.state.advance_clock(24 * 3600)
    tick(app, next_day(9, 0))  # its window frees, but the order is taken: no late SMS
    assert by_recipient(app, "sms", work_order_id=third)[li.id] == ("withdrawn", 0, "工单已接单，通知已撤回")
    assert sms_to(sms_sim, li.phone) == Counter({"OK": 2})


def test_aliyuns_own_refusal_waits_for_the_window_it_names_without_an_attempt(app, factory, client, configure, sms_sim):
    """Aliyun counts more than we do (Redis lost our count, another sender shares the account): the
    refused SMS waits, the number is not called again for the window Aliyun names (a day's limit:
    an hour at a time, since its window cannot be seen), and nothing fails."""
    configure(DELIVERY_CONCURRENCY=1)
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三", phone="13800000001")
    certificates(factory, client, institution, manager, 3, ["sms"])
    sms_sim.state.inject(SEND_SMS, code="isv.BUSINESS_LIMIT_CONTROL", message="触发天级流控Permits:50")

    tick(app, at(8, 0))
    assert sms_answers(sms_sim) == Counter({"isv.BUSINESS_LIMIT_CONTROL": 1})  # the others not tried
    assert set(deliveries(app, "sms")) == {
        ("pending", 0, "阿里云短信限流（isv.BUSINESS_LIMIT_CONTROL），12-07 09:00后再试", at(9, 0))
    }

    tick(app, at(8, 30))
    assert sum(sms_answers(sms_sim).values()) == 1
    tick(app, at(9, 0))
    assert sms_answers(sms_sim) == Counter({"isv.BUSINESS_LIMIT_CONTROL": 1, "OK": 3})
    assert {row[:2] for row in deliveries(app, "sms")} == {("sent", 1)}


def test_places_are_shared_by_every_worker_and_never_overdrawn(app_context):
    """Eight workers taking places on one number at once: exactly the limit is given, and a place
    given back is free again."""
    redis = redis_connection.redis()
    now = time.time()
    answers: list = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        places = [provider_quotas.Place("sms:test:13800000001", f"{number}:{n}") for n in range(20)]
        got = provider_quotas.take_rolling(redis, places, 50, 86400, now)
        with lock:
            answers.extend(zip(places, got, strict=True))

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [place for place, free in answers if free is None]
    assert len(taken) == 50
    assert {free for _, free in answers if free is not None} == {float(int(now + 86400) + 1)}
    provider_quotas.give_back_rolling(redis, taken[:1])
    assert provider_quotas.take_rolling(
        redis, [provider_quotas.Place("sms:test:13800000001", "late")], 50, 86400, now
    ) == [None]


# -- WeChat: template sends a day per official account -----------------------------------------------


def test_wechat_template_sends_used_up_pause_until_the_day_turns_and_resume_without_loss_or_duplicates(
    app, client, factory, configure, vendor_cast, sms_sim, wechat_sim, limits
):
    configure(WECHAT_TEMPLATE_SENDS_PER_DAY=3, **NO_DIGESTS)
    limits(wechat=WeChatLimits(template_sends_per_day=3))
    manager = vendor_cast["manager"]
    certificates(factory, client, vendor_cast["institution"], manager, 4, ["inbox", "wechat"], send_time="09:30:00")

    tick(app, at(9, 30))
    assert template_answers(wechat_sim) == Counter({0: 3})  # no 45009: our count stopped first
    reminders = deliveries(app, "wechat", topic="alert.expired")
    assert Counter(row[0] for row in reminders) == Counter({"sent": 3, "pending": 1})
    assert [row[1:] for row in reminders if row[0] == "pending"] == [(0, PAUSED, next_day(0, 1))]
    channels = client.get("/healthz").get_json()["channels"]
    paused = channels["wechat_template"]
    assert (paused["state"], paused["reason"], paused["code"]) == ("down", "今日额度已用完", "3/3")
    assert paused["until"] == "2026-12-08T00:01:00+08:00"
    assert channels["wechat"]["state"] == "up"  # subscribe messages still go
    assert outage_notices(app) == Counter({(manager.id, PAUSE_NOTICE): 1})
    assert "wechat_template\t微信模板消息\t暂停" in app.test_cli_runner().invoke(args=["channels"]).output

    # A new order meanwhile asks the engineers to take it: not tomorrow. 李工 gets his SMS, 王工 a
    # subscribe message; their pushes wait with the rest. (Its 服务时限 run past tomorrow here: this
    # test counts the day's pushes, not the sweep's warnings.)
    with app.app_context():
        institution = db.session.get(Institution, vendor_cast["institution"].id)
        institution.sla_policy = {"targets": {"repair": {"normal": {"response": 2880, "arrival": 2880}}}}
        db.session.commit()
    order = report(vendor_cast, at(10, 0))["id"]
    drain(app, at(10, 0))
    assert [r.payload["PhoneNumbers"] for r in sms_sim.state.records(SEND_SMS)] == [vendor_cast["li"].phone]
    assert [r.payload["body"]["touser"] for r in wechat_sim.state.records(SUBSCRIBE_SEND)] == ["mp-wang"]
    pushes = by_recipient(app, "wechat", work_order_id=order)
    assert pushes[vendor_cast["li"].id] == ("pending", 0, PAUSED)
    assert pushes[vendor_cast["wang"].id] == ("sent", 1, "公众号无法送达，已作为小程序订阅消息发送")
    assert template_answers(wechat_sim) == Counter({0: 3})
    assert sum(outage_notices(app).values()) == 1  # the same pause: told once

    tick(app, at(23, 59))
    assert template_answers(wechat_sim) == Counter({0: 3})

    sim_day_turns(wechat_sim)
    tick(app, next_day(0, 1))  # quota/get reports room: everything held goes, once
    assert client.get("/healthz").get_json()["channels"]["wechat_template"]["state"] == "up"
    assert template_answers(wechat_sim) == Counter({0: 5})
    sent = Counter(
        (r.payload["body"]["touser"], r.payload["body"]["client_msg_id"])
        for r in wechat_sim.state.records(TEMPLATE_SEND)
    )
    assert set(sent.values()) == {1}  # nobody got the same message twice
    assert Counter(touser for touser, _ in sent) == Counter({"o-zs": 4, "o-li": 1})
    assert {row[0] for row in deliveries(app, "wechat")} == {"sent"}
    assert len(wechat_sim.state.records(QUOTA_GET)) == 2  # when our count ran out, and after 00:00


def test_a_45009_reads_the_quota_and_pauses_until_quota_get_reports_room(
    app, client, factory, configure, vendor_cast, wechat_sim, limits
):
    """WeChat's quota is smaller than we were told (or someone else used it): its 45009 is read with
    quota/get, and template sends pause (the job's next one is not even tried); a look after 00:00
    that finds no room yet waits an hour."""
    configure(WECHAT_TEMPLATE_SENDS_PER_DAY=10, DELIVERY_CONCURRENCY=1, **NO_DIGESTS)
    limits(wechat=WeChatLimits(template_sends_per_day=2))
    manager = vendor_cast["manager"]
    certificates(factory, client, vendor_cast["institution"], manager, 4, ["wechat"], send_time="09:30:00")

    tick(app, at(9, 30))
    assert template_answers(wechat_sim) == Counter({0: 2, 45009: 1})
    assert [row[:3] for row in deliveries(app, "wechat")] == [("sent", 1, None)] * 2 + [("pending", 0, PAUSED)] * 2
    paused = client.get("/healthz").get_json()["channels"]["wechat_template"]
    assert (paused["code"], paused["until"]) == ("2/2", "2026-12-08T00:01:00+08:00")
    assert outage_notices(app) == Counter({(manager.id, PAUSE_NOTICE): 1})

    tick(app, next_day(0, 1))  # WeChat's day has not turned yet (its clock): no room, an hour more
    assert client.get("/healthz").get_json()["channels"]["wechat_template"]["until"] == "2026-12-08T01:01:00+08:00"
    assert {row[3] for row in deliveries(app, "wechat")[2:]} == {next_day(1, 1)}
    assert template_answers(wechat_sim) == Counter({0: 2, 45009: 1})

    sim_day_turns(wechat_sim)
    tick(app, next_day(1, 1))
    assert template_answers(wechat_sim) == Counter({0: 4, 45009: 1})
    assert [row[:2] for row in deliveries(app, "wechat")] == [("sent", 1)] * 4
    # WeChat's limit is what we count by today: 2 of its 2 used, not 2 of our 10.
    with app.app_context():
        today = DAY + timedelta(days=1)
        day = provider_quotas.take_daily(redis_connection.redis(), "wechat:template:wx-sim-official", today, 0, 10)
    assert (day.used, day.limit) == (2, 2)
