"""Work orders end to end, as users meet them: the PC API, the outbox jobs on a real queue, the
WeChat and SMS simulators over HTTP, the minute scheduler, all under a controlled clock.

The cast (医疗机构测试1, 服务商测试1):
- 王护士 (clinician) reports; bound to WeChat and following.
- 张三 (equipment manager): phone and WeChat.
- 服务商测试1's admin: neither phone nor WeChat (every push to them ends skipped, inbox only).
- 李工 (vendor engineer): phone and WeChat; 赵工 (vendor engineer): phone only, so WeChat falls
  back to SMS; 孙工 (vendor engineer): bound but not following (43004), so an SMS follows.
- 院内王工 (the hospital's own engineer): phone and WeChat.
Device A is authorized to the vendor for repairs; device B is not (in-house).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from jobs import scheduler
from jobs.outbox import send_messages
from jobs.runtime import make_worker
from models import Delivery, DeviceRecord, InboxMessage, OutboxMessage, Role, Scope, WorkOrderEvent, db
from operations.clock import LOCAL_TZ, frozen

TEMPLATE_SEND = "/cgi-bin/message/template/send"
SEND_SMS = "SendSms"
DAY = date(2026, 11, 23)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


def local(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(UTC) if text else None


def drain(app, moment: datetime) -> None:
    """A worker empties the queue at `moment`: every job the last steps enqueued after their commit."""
    with frozen(moment):
        make_worker(app, simple=True).work(burst=True)


def run_minute(app, moment: datetime) -> None:
    with frozen(moment), app.app_context():
        scheduler.tick(moment)
    drain(app, moment)


@pytest.fixture
def cast(app, factory, client, wechat_sim):
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
        "clinician": factory.user(
            Role.CLINICIAN,
            institution=institution,
            display_name="王护士",
            phone="13800000002",
            wechat_openid="openid-nurse",
        ),
        "li": factory.user(
            Role.VENDOR_ENGINEER, vendor=vendor, display_name="李工", phone="13800000003", wechat_openid="openid-li"
        ),
        "zhao": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="赵工", phone="13800000004"),
        "sun": factory.user(
            Role.VENDOR_ENGINEER, vendor=vendor, display_name="孙工", phone="13800000005", wechat_openid="openid-sun"
        ),
        "in_house": factory.user(
            Role.INSTITUTION_ENGINEER,
            institution=institution,
            display_name="院内王工",
            phone="13800000006",
            wechat_openid="openid-inhouse",
        ),
    }
    wechat_sim.state.set_user("openid-sun", follows=False)
    with app.app_context():
        from models import User

        people["admin"] = db.session.scalar(
            select(User).where(User.vendor_id == vendor.id, User.role == Role.VENDOR_ADMIN)
        )
        db.session.expunge(people["admin"])
    device_a = factory.device(institution, name="高压注射器", category="注射泵", model="EP-1", serial_number="SN-A")
    device_b = factory.device(institution, name="检眼镜")
    factory.authorization(
        device_a, vendor, starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31), scopes={Scope.REPAIR}
    )
    apis = {name: factory.api(client, user) for name, user in people.items()}
    return {
        "app": app,
        "institution": institution,
        "vendor": vendor,
        "people": people,
        "api": apis,
        "a": device_a,
        "b": device_b,
    }


def report(cast, device, moment, **fields):
    body = {
        "device_id": device.id,
        "kind": "repair",
        "urgency": "normal",
        "contact_name": "王护士",
        "contact_methods": [{"kind": "mobile", "value": "13800000002"}, {"kind": "landline", "value": "8021"}],
        "fault_description": "开机后报错 E21",
        "fault_frequency": "persistent",
        "error_message": "E21",
        "recent_changes": "昨日搬动过设备",
        "expected_outcome": "恢复正常使用",
    } | fields
    with frozen(moment):
        response = cast["api"]["clinician"].post("/api/v1/work-orders", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def step(cast, who, order_id, action, moment, expect=200, **body):
    """One step; a worker then sends its messages, as right after its commit in production (sent
    later, a message asking for a step already taken would be withdrawn as stale)."""
    with frozen(moment):
        response = cast["api"][who].post(f"/api/v1/work-orders/{order_id}/{action}", json=body)
    assert response.status_code == expect, (action, response.get_json())
    drain(cast["app"], moment)
    return response.get_json()


def detail(cast, who, order_id):
    response = cast["api"][who].get(f"/api/v1/work-orders/{order_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def sent_by_topic(app, order_id) -> Counter:
    """(topic, recipient id, channel, status) of every delivery about the order."""
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.topic, Delivery.recipient_id, Delivery.channel, Delivery.status)
            .join(Delivery, Delivery.message_id == OutboxMessage.id)
            .where(OutboxMessage.work_order_id == order_id)
        ).all()
        db.session.remove()
    return Counter((topic, recipient, channel.value, status.value) for topic, recipient, channel, status in rows)


def wechat_to(wechat_sim, openid) -> list[dict]:
    """The template messages WeChat accepted for this person (the request bodies)."""
    return [
        record.payload["body"]
        for record in wechat_sim.state.records(TEMPLATE_SEND)
        if record.payload["body"].get("touser") == openid and record.response.get("errcode") == 0
    ]


def sms_to(sms_sim, phone) -> list[dict]:
    return [
        record.payload
        for record in sms_sim.state.records(SEND_SMS)
        if record.payload.get("PhoneNumbers") == phone and record.response.get("Code") == "OK"
    ]


def test_vendor_routed_order_walks_the_whole_sop(app, cast, wechat_sim, sms_sim):
    people = cast["people"]
    ids = {name: user.id for name, user in people.items()}
    order = report(cast, cast["a"], at(9, 0))
    order_id, number = order["id"], order["number"]
    assert order["status"] == "pending" and order["vendor"] == "服务商测试1"
    assert order["device"]["model"] == "EP-1" and order["device"]["serial_number"] == "SN-A"
    drain(app, at(9, 0))

    # The new order reached every engineer who may take it, and the dispatcher, right away.
    created = {key: n for key, n in sent_by_topic(app, order_id).items() if key[0] == "work_order.created"}
    assert created == {
        ("work_order.created", ids["li"], "wechat", "sent"): 1,
        ("work_order.created", ids["li"], "inbox", "sent"): 1,
        ("work_order.created", ids["zhao"], "sms", "sent"): 1,  # no WeChat: SMS instead
        ("work_order.created", ids["zhao"], "inbox", "sent"): 1,
        ("work_order.created", ids["sun"], "wechat", "skipped"): 1,  # 43004, then the SMS
        ("work_order.created", ids["sun"], "sms", "sent"): 1,
        ("work_order.created", ids["sun"], "inbox", "sent"): 1,
        ("work_order.created", ids["admin"], "sms", "skipped"): 1,  # neither: the inbox only
        ("work_order.created", ids["admin"], "inbox", "sent"): 1,
        ("work_order.created", ids["manager"], "inbox", "sent"): 1,
    }
    push = wechat_to(wechat_sim, "openid-li")[0]
    assert push["template_id"] == "sim-work-order-template"
    assert push["data"]["character_string1"]["value"] == number
    assert push["miniprogram"]["pagepath"] == f"pages/work-orders/detail?id={order_id}"
    assert sms_to(sms_sim, "13800000004")[0]["TemplateCode"] == "SMS_SIM_WORK_ORDER"
    assert len(sms_to(sms_sim, "13800000005")) == 1

    # A job run again sends nothing twice.
    with frozen(at(9, 1)), app.app_context():
        message_ids = list(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.work_order_id == order_id)))
        assert send_messages(message_ids) == {}
        db.session.remove()
    assert len(wechat_to(wechat_sim, "openid-li")) == 1

    step(cast, "li", order_id, "accept", at(9, 5))
    step(cast, "li", order_id, "eta", at(9, 6), eta="2026-11-23T09:40:00+08:00")
    step(cast, "li", order_id, "depart", at(9, 20))
    step(cast, "li", order_id, "arrive", at(9, 38))
    step(cast, "li", order_id, "diagnose", at(9, 50), diagnosis="电源板电容鼓包", fault_level="major")
    with frozen(at(10, 0)):
        part = cast["api"]["li"].post(
            f"/api/v1/work-orders/{order_id}/parts",
            json={"name": "电源板", "model": "PB-2", "serial_number": "PB2-0001", "quantity": 1},
        )
    assert part.status_code == 201, part.get_json()
    step(
        cast,
        "li",
        order_id,
        "complete",
        at(10, 30),
        work_done="更换电源板",
        test_result="自检通过",
        test_passed=True,
        device_condition="normal",
    )
    step(cast, "li", order_id, "confirm", at(10, 40), expect=403)  # only the reporter signs off
    step(cast, "clinician", order_id, "reject", at(10, 45), reason="仍偶发报错 E21")
    step(cast, "li", order_id, "arrive", at(11, 0))
    step(
        cast,
        "li",
        order_id,
        "complete",
        at(11, 20),
        work_done="更换电源板并紧固电源接口",
        test_result="连续运行 2 小时无报错",
        test_passed=True,
        device_condition="normal",
    )
    step(cast, "clinician", order_id, "confirm", at(11, 30))
    step(cast, "clinician", order_id, "rate", at(11, 35), rating=5, response=5, skill=5, attitude=5, comment="及时")
    drain(app, at(11, 35))

    final = detail(cast, "manager", order_id)
    assert final["status"] == "closed"
    assert local(final["created_at"]) == at(9, 0)
    assert local(final["accepted_at"]) == at(9, 5)
    assert local(final["eta"]) == at(9, 40)
    assert local(final["departed_at"]) == at(9, 20)
    assert local(final["arrived_at"]) == at(9, 38)  # the first arrival stays
    assert local(final["diagnosed_at"]) == at(9, 50)
    assert local(final["completed_at"]) == at(11, 20)  # the accepted repair
    assert local(final["confirmed_at"]) == at(11, 30)
    assert local(final["rated_at"]) == at(11, 35)
    assert local(final["closed_at"]) == at(11, 35)
    timeline = [(event["kind"], local(event["at"])) for event in final["timeline"]]
    assert timeline == [
        ("created", at(9, 0)),
        ("accepted", at(9, 5)),
        ("eta_set", at(9, 6)),
        ("departed", at(9, 20)),
        ("arrived", at(9, 38)),
        ("diagnosed", at(9, 50)),
        ("part_added", at(10, 0)),
        ("completed", at(10, 30)),
        ("rejected", at(10, 45)),
        ("arrived", at(11, 0)),
        ("completed", at(11, 20)),
        ("confirmed", at(11, 30)),
        ("rated", at(11, 35)),
    ]
    assert {event["actor"] for event in final["timeline"]} <= {"李工", "王护士"}
    report_json = final["service_report"]
    assert report_json["work_done"] == "更换电源板并紧固电源接口"
    assert report_json["parts"][0]["serial_number"] == "PB2-0001"
    assert report_json["engineer"]["name"] == "李工"

    # The reporter heard of each step on WeChat; the engineer of the rejection and the sign-off.
    to_nurse = [payload["data"]["thing5"]["value"] for payload in wechat_to(wechat_sim, "openid-nurse")]
    nurse_topics = sorted(
        topic
        for (topic, who, channel, status), n in sent_by_topic(app, order_id).items()
        if who == ids["clinician"] and channel == "wechat" and status == "sent"
        for _ in range(n)
    )
    assert nurse_topics == sorted(
        [
            "work_order.accepted",
            "work_order.eta_set",
            "work_order.departed",
            "work_order.arrived",
            "work_order.arrived",
            "work_order.completed",
            "work_order.completed",
        ]
    )
    assert len(to_nurse) == 7
    li_topics = Counter(
        topic
        for (topic, who, channel, status), n in sent_by_topic(app, order_id).items()
        if who == ids["li"] and channel == "wechat"
        for _ in range(n)
    )
    assert li_topics == {"work_order.created": 1, "work_order.rejected": 1, "work_order.confirmed": 1}
    # Nobody is told of their own step.
    assert not any(
        who == ids["li"] and topic in ("work_order.accepted", "work_order.completed")
        for (topic, who, _, _) in sent_by_topic(app, order_id)
    )
    assert all(status in ("sent", "skipped") for (_, _, _, status) in sent_by_topic(app, order_id))

    with app.app_context():
        record = db.session.scalar(select(DeviceRecord).where(DeviceRecord.work_order_id == order_id))
        assert record.kind.value == "repair" and record.performed_on == DAY and "李工" in record.performed_by
        db.session.remove()


def test_a_fault_description_with_a_link_an_e_mail_and_a_phone_number_still_reaches_the_engineer_by_sms(
    app, cast, sms_sim
):
    # Aliyun refuses a link, an e-mail address or a phone number in a template variable, on every
    # retry: the SMS goes out with "…" in their place (the full text is in the mini-program).
    fault = "屏幕闪烁 见https://pan.example.com/s/1AbC 或邮件fix@example.com 回电13912345678"
    order = report(cast, cast["a"], at(9, 0), fault_description=fault)
    drain(app, at(9, 0))

    (sms,) = sms_to(sms_sim, "13800000004")  # 赵工 has no WeChat: the new order reaches him by SMS
    assert sms["TemplateParam"] == {
        "number": order["number"],
        "device": f"高压注射器({cast['a'].unique_code})",
        "status": "待接单",
        "detail": "普通：屏幕闪烁 见… 或邮件… 回电…",
    }
    zhao = cast["people"]["zhao"].id
    assert sent_by_topic(app, order["id"])[("work_order.created", zhao, "sms", "sent")] == 1
    assert detail(cast, "zhao", order["id"])["fault_description"] == fault  # the whole text, where it is read


def test_in_house_order_with_dispatch_and_a_poor_rating_followed_up(app, cast, wechat_sim):
    ids = {name: user.id for name, user in cast["people"].items()}
    order = report(cast, cast["b"], at(13, 0))
    order_id = order["id"]
    assert order["in_house"] and order["vendor"] == "院内工程师" and order["status"] == "pending"
    drain(app, at(13, 0))
    created = {(who, channel, status) for (topic, who, channel, status) in sent_by_topic(app, order_id)}
    assert (ids["in_house"], "wechat", "sent") in created
    assert (ids["manager"], "wechat", "sent") in created  # the dispatcher of in-house orders
    assert not any(who in (ids["li"], ids["zhao"], ids["sun"]) for (who, _, _) in created)

    step(cast, "li", order_id, "accept", at(13, 1), expect=404)  # a vendor never sees it
    step(cast, "manager", order_id, "assign", at(13, 5), engineer_id=ids["in_house"])
    step(cast, "in_house", order_id, "accept", at(13, 6))
    step(cast, "in_house", order_id, "arrive", at(13, 10))
    step(
        cast,
        "in_house",
        order_id,
        "complete",
        at(13, 40),
        diagnosis="光源灯泡老化",
        work_done="更换灯泡",
        test_result="亮度正常",
        test_passed=True,
        device_condition="normal",
    )
    step(cast, "clinician", order_id, "confirm", at(14, 0))
    step(cast, "clinician", order_id, "rate", at(14, 5), rating=2, comment="等待时间太长")
    drain(app, at(14, 5))
    assert detail(cast, "manager", order_id)["status"] == "follow_up"
    assert any(
        topic == "work_order.rated" and who == ids["manager"] and channel == "wechat" and status == "sent"
        for (topic, who, channel, status) in sent_by_topic(app, order_id)
    )
    step(cast, "clinician", order_id, "follow-up", at(14, 20), expect=403, note="x")
    step(
        cast,
        "manager",
        order_id,
        "follow-up",
        at(14, 30),
        note="已电话回访，解释备件调货原因",
        improvement_action="常备灯泡两只",
    )
    final = detail(cast, "manager", order_id)
    assert final["status"] == "closed" and local(final["closed_at"]) == at(14, 30)
    assert local(final["assigned_at"]) == at(13, 5) and local(final["accepted_at"]) == at(13, 6)
    assert [event["kind"] for event in final["timeline"]] == [
        "created",
        "assigned",
        "accepted",
        "arrived",
        "completed",
        "confirmed",
        "rated",
        "followed_up",
    ]


def test_an_emergency_nobody_accepts_is_escalated_once_after_its_deadline(app, cast, wechat_sim, sms_sim):
    """The 停机 response deadline (服务时限, 15 minutes by default): the dispatcher hears at the
    deadline, the equipment managers 30 minutes later, once (tests/test_sla.py has every stage)."""
    ids = {name: user.id for name, user in cast["people"].items()}
    order = report(cast, cast["a"], at(9, 0), urgency="downtime")
    order_id = order["id"]
    assert local(order["respond_by"]) == at(9, 15)
    drain(app, at(9, 0))
    # The emergency path: WeChat and SMS to everyone who may take it, at once.
    created = sent_by_topic(app, order_id)
    assert ("work_order.created", ids["li"], "sms", "sent") in created
    assert ("work_order.created", ids["li"], "wechat", "sent") in created

    def escalations():
        with app.app_context():
            found = db.session.scalars(
                select(WorkOrderEvent).where(
                    WorkOrderEvent.work_order_id == order_id, WorkOrderEvent.kind == "sla_escalated"
                )
            ).all()
            db.session.remove()
            return found

    for minute in (1, 5, 14, 15, 44):
        run_minute(app, at(9, minute))
    assert escalations() == []
    run_minute(app, at(9, 45))
    (event,) = escalations()
    assert event.at == at(9, 45) and event.actor_id is None and event.detail["deadline"] == "response"
    for minute in (46, 47, 59):
        run_minute(app, at(9, minute))
    assert len(escalations()) == 1
    escalated = {key for key in sent_by_topic(app, order_id) if key[0] == "work_order.sla_escalated"}
    assert {(who, channel, status) for (_, who, channel, status) in escalated} >= {
        (ids["manager"], "wechat", "sent"),
        (ids["manager"], "sms", "sent"),
        (ids["manager"], "inbox", "sent"),
    }
    pushes = wechat_to(wechat_sim, "openid-zhangsan")
    assert len([p for p in pushes if p["data"]["thing5"]["value"].startswith("响应时限15分钟")]) == 1
    assert detail(cast, "manager", order_id)["sla"][0]["escalated_at"] is not None

    # Accepted in time, an emergency is not escalated.
    second = report(cast, cast["a"], at(10, 0), urgency="downtime")["id"]
    step(cast, "li", second, "accept", at(10, 10))
    run_minute(app, at(10, 50))
    with app.app_context():
        assert (
            db.session.scalar(
                select(WorkOrderEvent.id).where(
                    WorkOrderEvent.work_order_id == second, WorkOrderEvent.kind.in_(("sla_missed", "sla_escalated"))
                )
            )
            is None
        )
        db.session.remove()


def test_ten_engineers_accept_at_once_and_exactly_one_wins(app, cast, factory, client):
    vendor = cast["vendor"]
    engineers = [factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name=f"抢单工程师{n}") for n in range(10)]
    apis = [factory.api(app.test_client(), engineer) for engineer in engineers]
    order_id = report(cast, cast["a"], at(9, 0))["id"]
    barrier = threading.Barrier(len(apis))
    statuses: list[int] = [0] * len(apis)

    def accept(index: int) -> None:
        barrier.wait()
        statuses[index] = apis[index].post(f"/api/v1/work-orders/{order_id}/accept").status_code

    threads = [threading.Thread(target=accept, args=(index,)) for index in range(len(apis))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 9
    winner = engineers[statuses.index(200)]
    final = detail(cast, "manager", order_id)
    assert final["status"] == "accepted" and final["assignee"]["id"] == winner.id
    assert [event["kind"] for event in final["timeline"]].count("accepted") == 1
    with app.app_context():
        accepted = db.session.scalars(
            select(OutboxMessage.key).where(
                OutboxMessage.work_order_id == order_id, OutboxMessage.topic == "work_order.accepted"
            )
        ).all()
        accepted = {key.split(":")[2] for key in accepted}  # work_order:<order>:<event>:<channels>
        assert len(accepted) == 1  # the losers wrote nothing
        assert db.session.scalar(select(db.func.count()).select_from(InboxMessage)) == 0  # nothing sent in a request
        db.session.remove()


def test_with_redis_down_a_new_order_waits_for_the_relay_and_then_goes_out(app, cast, wechat_sim):
    from redis import Redis

    real_redis = app.extensions["weixiu.redis"]
    app.extensions["weixiu.redis"] = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        order_id = report(cast, cast["a"], at(9, 0))["id"]  # saved even though nothing could be enqueued
    finally:
        app.extensions["weixiu.redis"] = real_redis
    with app.app_context():
        pending = db.session.scalars(select(Delivery.enqueued_at).where(Delivery.status == "pending")).all()
        db.session.remove()
    assert pending and all(enqueued_at is None for enqueued_at in pending)  # the relay's at once
    run_minute(app, at(9, 1))
    assert len(wechat_to(wechat_sim, "openid-li")) == 1
    assert all(status in ("sent", "skipped") for (_, _, _, status) in sent_by_topic(app, order_id))


def test_a_reassigned_emergency_tells_the_engineer_taken_off_and_keeps_its_clocks(app, cast, wechat_sim):
    ids = {name: user.id for name, user in cast["people"].items()}
    order_id = report(cast, cast["a"], at(9, 0), urgency="downtime")["id"]
    step(cast, "li", order_id, "accept", at(9, 2))
    step(cast, "li", order_id, "depart", at(9, 5))
    reassigned = step(cast, "admin", order_id, "assign", at(9, 20), engineer_id=ids["zhao"])
    assert reassigned["status"] == "pending" and reassigned["assignee"]["id"] == ids["zhao"]
    assert local(reassigned["respond_by"]) == at(9, 15)  # 服务时限 count from the report, whoever holds it
    drain(app, at(9, 20))
    told = sent_by_topic(app, order_id)
    assert ("work_order.assigned", ids["li"], "wechat", "sent") in told  # 李工 may turn back
    assert ("work_order.assigned", ids["zhao"], "sms", "sent") in told  # no WeChat: by SMS
    assert ("work_order.assigned", ids["manager"], "inbox", "sent") in told  # the hospital follows it
    run_minute(app, at(9, 21))
    assert detail(cast, "manager", order_id)["sla"][0]["state"] == "met"  # 李工 accepted at 9:02
    step(cast, "admin", order_id, "assign", at(9, 40), expect=409, engineer_id=ids["zhao"])  # already theirs
