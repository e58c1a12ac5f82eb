"""Mini-program subscribe messages, end to end: whom the official account cannot reach (no binding,
or not following: 43004) but who accepted the work-order subscribe template in the mini-program
gets the new order as a subscribe message instead of an SMS — one message per accepted consent.

The cast (服务商测试1, all of them engineers who may take the order):
- 小程序工 (mini): no official-account binding, a mini-program openid, a phone.
- 取关工 (unfollowed): bound to the official account, which answers 43004; a mini-program openid.
- 李工 (li): bound and following, and a mini-program user too: the official account reaches him.
- 赵工 (plain): a phone only.
The work order is created through operations.work_orders.create_work_order and sent by a real RQ
worker under a frozen clock, through the WeChat and SMS simulators.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update
from test_bot_webhook import OfficialAccount, popup
from test_miniprogram_push import MiniProgramPush, configure_push

from channels.subscribe import PROVIDER_PREFIX, REFUSED_REASON, SENT_AS_SUBSCRIBE
from jobs.runtime import make_worker
from models import (
    ConsentStatus,
    Delivery,
    Device,
    OutboxMessage,
    Role,
    Scope,
    SubscribeConsent,
    User,
    WeChatApp,
    WorkOrderKind,
    db,
)
from models.work_order import Urgency
from operations.actors import Actor
from operations.clock import LOCAL_TZ, frozen
from operations.subscribe_consents import give_back_consent, record_consent, use_consent
from operations.work_orders import orders as work_orders

TEMPLATE_SEND = "/cgi-bin/message/template/send"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
SEND_SMS = "SendSms"
WORK_ORDER_SUBSCRIBE = "sim-subscribe-work-order"
MINI = WeChatApp.MINIPROGRAM
DAY = date(2026, 11, 23)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


def drain(app, moment: datetime) -> None:
    with frozen(moment):
        make_worker(app, simple=True).work(burst=True)


@pytest.fixture
def cast(app, factory, wechat_sim):
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    people = {
        "clinician": factory.user(Role.CLINICIAN, institution=institution, display_name="王护士"),
        "mini": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="小程序工", phone="13900000001"),
        "unfollowed": factory.user(
            Role.VENDOR_ENGINEER,
            vendor=vendor,
            display_name="取关工",
            phone="13900000002",
            wechat_openid="openid-unfollowed",
        ),
        "li": factory.user(
            Role.VENDOR_ENGINEER, vendor=vendor, display_name="李工", phone="13900000003", wechat_openid="openid-li"
        ),
        "plain": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="赵工", phone="13900000004"),
    }
    # The official account says 43004 to 取关工; the platform has not heard of the unfollow yet.
    wechat_sim.state.set_user("openid-unfollowed", follows=False)
    with app.app_context():
        for name in ("mini", "unfollowed", "li"):
            db.session.execute(
                update(User).where(User.id == people[name].id).values(wechat_miniprogram_openid=f"mp-{name}")
            )
        db.session.commit()
    device = factory.device(institution, name="高压注射器", category="注射泵")
    factory.authorization(device, vendor, starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31), scopes={Scope.REPAIR})
    return {"people": people, "ids": {name: user.id for name, user in people.items()}, "device": device}


def accept(app, *openids: str, times: int = 1) -> None:
    """The person accepted the work-order template in wx.requestSubscribeMessage, `times` times."""
    with app.app_context():
        for openid in openids:
            for _ in range(times):
                record_consent(MINI, openid, WORK_ORDER_SUBSCRIBE, ConsentStatus.ACCEPT, at(8, 0))
        db.session.commit()


def consent(app, openid: str) -> tuple[str, int] | None:
    with app.app_context():
        row = db.session.get(SubscribeConsent, (MINI, openid, WORK_ORDER_SUBSCRIBE))
        result = (row.status.value, row.remaining) if row else None
        db.session.remove()
    return result


def create_order(app, cast, moment: datetime, description: str = "开机后报错 E21") -> int:
    clinician = cast["people"]["clinician"]
    intake = work_orders.Intake(
        kind=WorkOrderKind.REPAIR,
        urgency=Urgency.NORMAL,
        contact_name="王护士",
        contact_methods=[
            work_orders.ContactMethod("mobile", "13800000002"),
            work_orders.ContactMethod("landline", "8021"),
        ],
        fault_description=description,
    )
    with frozen(moment), app.app_context():
        order = work_orders.create_work_order(
            Actor(clinician.id, clinician.role, clinician.institution_id, clinician.vendor_id),
            db.session.get(Device, cast["device"].id),
            intake,
        )
        db.session.commit()  # the new order's messages reach the queue after this commit
        order_id = order.id
        db.session.remove()
    return order_id


def deliveries_to(app, order_id: int, user_id: int) -> dict[str, tuple[str, str | None, str | None]]:
    """channel -> (status, provider id, reason) of the new-order deliveries to this person."""
    with app.app_context():
        rows = db.session.execute(
            select(Delivery.channel, Delivery.status, Delivery.provider_id, Delivery.reason)
            .join(OutboxMessage, Delivery.message_id == OutboxMessage.id)
            .where(
                OutboxMessage.work_order_id == order_id,
                OutboxMessage.topic == "work_order.created",
                Delivery.recipient_id == user_id,
            )
        ).all()
        db.session.remove()
    return {channel.value: (status.value, provider_id, reason) for channel, status, provider_id, reason in rows}


def subscribe_sent(wechat_sim, openid: str) -> list[dict]:
    return [
        record.payload["body"]
        for record in wechat_sim.state.records(SUBSCRIBE_SEND)
        if record.payload["body"].get("touser") == openid and record.response.get("errcode") == 0
    ]


def sms_to(sms_sim, phone: str) -> list[dict]:
    return [
        record.payload
        for record in sms_sim.state.records(SEND_SMS)
        if record.payload.get("PhoneNumbers") == phone and record.response.get("Code") == "OK"
    ]


def order_number(app, order_id: int) -> str:
    from models import WorkOrder

    with app.app_context():
        number = db.session.get(WorkOrder, order_id).number
        db.session.remove()
    return number


def test_an_engineer_without_the_official_account_gets_a_subscribe_message_once_per_consent(
    app, cast, wechat_sim, sms_sim
):
    ids = cast["ids"]
    accept(app, "mp-mini", "mp-li")
    order_id = create_order(app, cast, at(9, 0))
    drain(app, at(9, 0))

    # 小程序工: the order went as a subscribe message, recorded on the WeChat delivery; no SMS.
    (body,) = subscribe_sent(wechat_sim, "mp-mini")
    number = order_number(app, order_id)
    assert body["template_id"] == WORK_ORDER_SUBSCRIBE
    assert body["page"] == f"pages/work-orders/detail?id={order_id}"
    assert body["miniprogram_state"] == "developer"
    assert body["data"]["character_string1"] == {"value": number}
    assert body["data"]["thing2"]["value"].startswith("高压注射器")
    assert body["data"]["phrase3"] == {"value": "待接单"}
    assert body["data"]["time4"] == {"value": "2026-11-23 09:00"}
    assert all(len(field["value"]) <= 20 for field in body["data"].values())
    status, provider_id, reason = deliveries_to(app, order_id, ids["mini"])["wechat"]
    assert status == "sent" and provider_id.startswith(PROVIDER_PREFIX) and len(provider_id) > len(PROVIDER_PREFIX)
    assert reason == SENT_AS_SUBSCRIBE
    assert "sms" not in deliveries_to(app, order_id, ids["mini"])
    assert sms_to(sms_sim, "13900000001") == []
    assert consent(app, "mp-mini") == ("accept", 0)  # the one consent is used up

    # 李工 is reached by the official account: his consent is left alone.
    assert deliveries_to(app, order_id, ids["li"])["wechat"][0] == "sent"
    assert not deliveries_to(app, order_id, ids["li"])["wechat"][1].startswith(PROVIDER_PREFIX)
    assert subscribe_sent(wechat_sim, "mp-li") == []
    assert consent(app, "mp-li") == ("accept", 1)
    # 赵工 never subscribed: SMS as before.
    assert deliveries_to(app, order_id, ids["plain"])["sms"][0] == "sent"
    assert len(sms_to(sms_sim, "13900000004")) == 1

    # The next order finds no consent left: 小程序工 gets it by SMS.
    second = create_order(app, cast, at(9, 10), "屏幕无显示")
    drain(app, at(9, 10))
    assert len(subscribe_sent(wechat_sim, "mp-mini")) == 1
    told = deliveries_to(app, second, ids["mini"])
    assert told["sms"][0] == "sent"
    assert told.get("wechat", ("skipped",))[0] == "skipped"
    assert len(sms_to(sms_sim, "13900000001")) == 1


def test_a_consent_the_mini_programs_push_brings_is_spent_by_its_subscribe_message(
    app, client, configure, cast, wechat_sim, sms_sim
):
    configure_push(configure, safe=True)
    push = MiniProgramPush(client, json_format=True, safe=True)
    assert push.event("mp-mini", "subscribe_msg_popup_event", [(WORK_ORDER_SUBSCRIBE, "accept")]) == "success"
    order_id = create_order(app, cast, at(9, 0))
    drain(app, at(9, 0))
    assert len(subscribe_sent(wechat_sim, "mp-mini")) == 1
    assert deliveries_to(app, order_id, cast["ids"]["mini"])["wechat"][2] == SENT_AS_SUBSCRIBE
    assert consent(app, "mp-mini") == ("accept", 0)


def test_the_official_accounts_consents_are_not_spent_by_mini_program_messages(app, client, cast, wechat_sim, sms_sim):
    """A 服务号订阅通知 answer on the official account, even under the same openid and template
    as a mini-program one would have, is the official account's: the mini-program sender leaves
    it, and 小程序工 gets the order by SMS."""
    official = OfficialAccount(client, safe=True)
    answered = popup([(WORK_ORDER_SUBSCRIBE, "accept")])
    assert official.event("mp-mini", "subscribe_msg_popup_event", answered) == "success"
    order_id = create_order(app, cast, at(9, 0))
    drain(app, at(9, 0))
    assert subscribe_sent(wechat_sim, "mp-mini") == []
    assert deliveries_to(app, order_id, cast["ids"]["mini"])["sms"][0] == "sent"
    assert consent(app, "mp-mini") is None
    with app.app_context():
        kept = db.session.get(SubscribeConsent, (WeChatApp.OFFICIAL_ACCOUNT, "mp-mini", WORK_ORDER_SUBSCRIBE))
        assert (kept.status.value, kept.remaining) == ("accept", 1)


def test_a_person_the_official_account_answers_43004_for_gets_a_subscribe_message(app, cast, wechat_sim, sms_sim):
    accept(app, "mp-unfollowed")
    order_id = create_order(app, cast, at(9, 0))
    drain(app, at(9, 0))
    assert len(subscribe_sent(wechat_sim, "mp-unfollowed")) == 1
    told = deliveries_to(app, order_id, cast["ids"]["unfollowed"])
    assert told["wechat"][0] == "sent" and told["wechat"][1].startswith(PROVIDER_PREFIX)
    assert "sms" not in told and sms_to(sms_sim, "13900000002") == []
    assert consent(app, "mp-unfollowed") == ("accept", 0)


def test_a_refusal_clears_the_consent_and_the_sms_follows(app, cast, wechat_sim, sms_sim):
    accept(app, "mp-mini", times=2)
    wechat_sim.state.set_user("mp-mini", refuses_subscribe=True)  # switched off in WeChat's settings
    order_id = create_order(app, cast, at(9, 0))
    drain(app, at(9, 0))
    told = deliveries_to(app, order_id, cast["ids"]["mini"])
    assert told["wechat"][0] == "skipped" and REFUSED_REASON in told["wechat"][2]
    assert told["sms"][0] == "sent"
    assert len(sms_to(sms_sim, "13900000001")) == 1
    assert consent(app, "mp-mini") == ("reject", 0)  # not given back: WeChat said there is none


def test_a_transient_error_gives_the_consent_back_and_the_delivery_is_retried(app, cast, wechat_sim, sms_sim):
    accept(app, "mp-mini")
    wechat_sim.state.inject(SUBSCRIBE_SEND, errcode=45009)
    order_id = create_order(app, cast, at(9, 0))
    drain(app, at(9, 0))
    status, _, reason = deliveries_to(app, order_id, cast["ids"]["mini"])["wechat"]
    assert status == "pending" and "45009" in reason
    assert consent(app, "mp-mini") == ("accept", 1)
    assert sms_to(sms_sim, "13900000001") == []

    # The relay hands it to a job once its retry is due; the consent carries it this time.
    from jobs import outbox as outbox_jobs

    with frozen(at(9, 1)), app.app_context():
        assert outbox_jobs.relay() >= 1
    drain(app, at(9, 1))
    assert deliveries_to(app, order_id, cast["ids"]["mini"])["wechat"][0] == "sent"
    assert len(subscribe_sent(wechat_sim, "mp-mini")) == 1
    assert consent(app, "mp-mini") == ("accept", 0)
    assert sms_to(sms_sim, "13900000001") == []


def test_one_consent_serves_one_message(app_context):
    record_consent(MINI, "mp-x", WORK_ORDER_SUBSCRIBE, ConsentStatus.ACCEPT, at(8, 0))
    db.session.commit()
    assert use_consent(MINI, "mp-x", WORK_ORDER_SUBSCRIBE) is True
    assert use_consent(MINI, "mp-x", WORK_ORDER_SUBSCRIBE) is False  # the racing second job finds none
    give_back_consent(MINI, "mp-x", WORK_ORDER_SUBSCRIBE)
    # A later reject in the popup keeps what was accepted before, as WeChat does.
    record_consent(MINI, "mp-x", WORK_ORDER_SUBSCRIBE, ConsentStatus.REJECT, at(8, 5))
    assert use_consent(MINI, "mp-x", WORK_ORDER_SUBSCRIBE) is True
    # A ban leaves nothing, and nothing is given back after it.
    record_consent(MINI, "mp-x", WORK_ORDER_SUBSCRIBE, ConsentStatus.ACCEPT, at(8, 6))
    record_consent(MINI, "mp-x", WORK_ORDER_SUBSCRIBE, ConsentStatus.BAN, at(8, 7))
    give_back_consent(MINI, "mp-x", WORK_ORDER_SUBSCRIBE)
    assert use_consent(MINI, "mp-x", WORK_ORDER_SUBSCRIBE) is False
    assert use_consent(MINI, "mp-nobody", WORK_ORDER_SUBSCRIBE) is False


def test_racing_jobs_spend_one_consent_once(app):
    accept(app, "mp-race")
    barrier = threading.Barrier(4)
    taken: list[bool] = []

    def job() -> None:
        with app.app_context():
            barrier.wait()
            result = use_consent(MINI, "mp-race", WORK_ORDER_SUBSCRIBE)
            time.sleep(0.05)  # still holding the row while the others try
            db.session.commit()
            taken.append(result)
            db.session.remove()

    threads = [threading.Thread(target=job) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == [False, False, False, True]
    assert consent(app, "mp-race") == ("accept", 0)
