"""汇总提醒 (alert digests) end to end: the minute scheduler, the sweep, the outbox jobs on a real
queue and the WeChat and SMS simulators under a controlled clock.

张三 (the equipment manager: a phone, a followed WeChat binding) enters certificates that all
expire on 2026-12-10, warned 3 days ahead at 08:00, on every channel. From 2026-12-07 08:00 each
is due at the same slot. Above the hospital's threshold (3 by default) he gets one SMS and one
WeChat (the digest) at the slot and one inbox entry per certificate; each is handled on its own,
and what is handled before the digest goes is left out of it.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from jobs import scheduler
from jobs.alerts import sweep_alert_plans
from jobs.runtime import make_worker
from models import Delivery, OutboxMessage, Role, db
from operations.clock import LOCAL_TZ, frozen
from simulators.local import DIGEST_TEMPLATE_ID, SMS_DIGEST_TEMPLATE_CODE

TEMPLATE_SEND = "/cgi-bin/message/template/send"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
SEND_SMS = "SendSms"
FIRST_DAY = date(2026, 12, 7)
ALERT_LIST = "packages/manager/pages/alerts/index"


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=LOCAL_TZ).astimezone(UTC)


def drain(app, moment: datetime) -> None:
    with frozen(moment):
        make_worker(app, simple=True).work(burst=True)


def run_minute(app, moment: datetime) -> None:
    """What production does each minute: a scheduler tick, then a worker drains the queues."""
    with frozen(moment), app.app_context():
        scheduler.tick(moment)
    drain(app, moment)


@pytest.fixture
def office(app, factory, client):
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(
        Role.EQUIPMENT_MANAGER,
        institution=institution,
        display_name="张三",
        phone="13800000001",
        wechat_openid="openid-zhangsan",
    )
    return {"institution": institution, "manager": manager, "api": factory.api(client, manager)}


def certificates(office, count: int, *, holder: str = "员工", valid_until: str = "2026-12-10", start: int = 0):
    """`count` 人员资质 expiring on `valid_until`, each with its plan on every channel to 张三
    (相关人员: he entered them). Returns the plan ids."""
    plans = []
    with frozen(at(FIRST_DAY - timedelta(days=1), 9)):
        for number in range(start, start + count):
            response = office["api"].post(
                "/api/v1/credentials",
                json={
                    "kind": "staff_qualification",
                    "holder_name": f"{holder}{number}",
                    "valid_until": valid_until,
                    "warn_days": 3,
                    "send_time": "08:00:00",
                    "alert": {"channels": ["inbox", "sms", "wechat"], "notify_related": True},
                },
            )
            assert response.status_code == 201, response.get_json()
            plans.append(response.get_json()["alert"]["id"])
    return plans


def set_threshold(office, value: int) -> None:
    response = office["api"].put("/api/v1/institution-settings", json={"alert_digest_threshold": value})
    assert response.status_code == 200, response.get_json()


def sms_sent(sms_sim) -> list[dict]:
    """What Aliyun accepted: each SMS's template and its variables."""
    sent = []
    for record in sms_sim.state.records(SEND_SMS):
        if record.response.get("Code") != "OK":
            continue
        params = record.payload["TemplateParam"]
        sent.append(
            {"template": record.payload["TemplateCode"], **(json.loads(params) if isinstance(params, str) else params)}
        )
    return sent


def wechat_sent(wechat_sim) -> list[dict]:
    """What WeChat delivered: each template message's body."""
    return [
        record.payload["body"]
        for record in wechat_sim.state.records(TEMPLATE_SEND)
        if record.response.get("errcode") == 0
    ]


def outcomes(app, user_id: int) -> Counter:
    """(channel, topic family, status) → deliveries to the person."""
    with app.app_context():
        rows = db.session.execute(
            select(Delivery.channel, OutboxMessage.topic, Delivery.status)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.recipient_id == user_id)
        ).all()
        db.session.remove()
    return Counter((channel.value, topic.split(".")[0], status.value) for channel, topic, status in rows)


def digest_messages(app) -> list[OutboxMessage]:
    with app.app_context():
        messages = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "digest.alert")))
        for message in messages:
            db.session.expunge(message)
        db.session.remove()
    return messages


def inbox(api) -> dict:
    response = api.get("/api/v1/inbox?per_page=100")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_sixty_certificates_due_at_one_slot_give_one_sms_one_wechat_and_sixty_inbox_entries(
    app, office, sms_sim, wechat_sim
):
    plans = certificates(office, 60)
    manager = office["manager"]

    run_minute(app, at(FIRST_DAY, 7, 59))
    assert sms_sent(sms_sim) == [] and wechat_sent(wechat_sim) == []
    run_minute(app, at(FIRST_DAY, 8, 0))

    (sms,) = sms_sent(sms_sim)
    assert sms == {"template": SMS_DIGEST_TEMPLATE_CODE, "count": "60", "name": "员工0", "date": "2026-12-10"}
    (wechat,) = wechat_sent(wechat_sim)
    assert wechat["template_id"] == DIGEST_TEMPLATE_ID and wechat["touser"] == "openid-zhangsan"
    assert {name: field["value"] for name, field in wechat["data"].items()} == {
        "thing1": "员工0等60项",
        "number2": "60",
        "time3": "2026-12-10",
        "thing4": "共60项待处理",
    }
    assert wechat["miniprogram"]["pagepath"] == ALERT_LIST  # the mini-program's alert list, not one alert
    # The inbox keeps one entry per certificate, each handled on its own.
    entries = inbox(office["api"])
    assert entries["total"] == 60 and entries["unread"] == 60
    assert {item["alert_plan_id"] for item in entries["items"]} == set(plans)
    assert all(item["can_handle"] for item in entries["items"])
    # Each certificate's SMS and WeChat went in the digest, as its 发送记录 says.
    assert outcomes(app, manager.id) == Counter(
        {
            ("inbox", "alert", "sent"): 60,
            ("sms", "alert", "sent"): 60,
            ("wechat", "alert", "sent"): 60,
            ("sms", "digest", "sent"): 1,
            ("wechat", "digest", "sent"): 1,
        }
    )
    record = office["api"].get(f"/api/v1/alert-plans/{plans[7]}/deliveries").get_json()["items"]
    assert {(entry["channel"], entry["status"], entry["reason"]) for entry in record} == {
        ("inbox", "sent", None),
        ("sms", "sent", "已随汇总提醒发送"),
        ("wechat", "sent", "已随汇总提醒发送"),
    }
    (digest_sms,) = [message for message in digest_messages(app) if message.key.endswith(":sms")]
    assert digest_sms.key == f"digest:202612070800:{office['institution'].id}:{manager.id}:sms"
    assert digest_sms.body.startswith("您有60项证照或授权到期预警") and "微信小程序「微修」" in digest_sms.body

    # The sweep run again, by hand and by the next minutes: nothing more goes out that day.
    with frozen(at(FIRST_DAY, 8, 0)), app.app_context():
        assert sweep_alert_plans() == {"plans": 0, "deliveries": 0, "digests": 0}
    run_minute(app, at(FIRST_DAY, 8, 1))
    run_minute(app, at(FIRST_DAY, 12, 0))
    assert len(sms_sent(sms_sim)) == 1 and len(wechat_sent(wechat_sim)) == 1

    # The next day's slot is another digest, once.
    run_minute(app, at(FIRST_DAY + timedelta(days=1), 8, 0))
    assert [sms["count"] for sms in sms_sent(sms_sim)] == ["60", "60"]
    assert len(wechat_sent(wechat_sim)) == 2
    assert inbox(office["api"])["total"] == 120


def test_two_certificates_give_two_of_each(app, office, sms_sim, wechat_sim):
    certificates(office, 2)
    run_minute(app, at(FIRST_DAY, 8, 0))

    assert sorted(sms["name"] for sms in sms_sent(sms_sim)) == ["员工0", "员工1"]
    assert {sms["template"] for sms in sms_sent(sms_sim)} == {"SMS_SIM_ALERT"}
    assert len(wechat_sent(wechat_sim)) == 2
    assert {body["template_id"] for body in wechat_sent(wechat_sim)} == {"sim-alert-template"}
    assert inbox(office["api"])["total"] == 2
    assert digest_messages(app) == []


@pytest.mark.parametrize(("threshold", "alone", "digested"), [(1, 1, 2), (50, 50, 51)])
def test_the_threshold_is_the_most_sent_one_by_one(
    app, factory, client, office, sms_sim, wechat_sim, threshold, alone, digested
):
    """At N, N reminders go one by one; at N + 1 they go as one digest (N = 1 and N = 50)."""
    set_threshold(office, threshold)
    colleague = factory.user(
        Role.EQUIPMENT_MANAGER,
        institution=office["institution"],
        display_name="李四",
        phone="13800000002",
        wechat_openid="openid-lisi",
    )
    certificates(office, alone)
    certificates({**office, "api": factory.api(client, colleague)}, digested, holder="证书")
    run_minute(app, at(FIRST_DAY, 8, 0))

    to_zhangsan = [sms for sms in sms_sent(sms_sim) if sms["name"].startswith("员工")]
    assert len(to_zhangsan) == alone and {sms["template"] for sms in to_zhangsan} == {"SMS_SIM_ALERT"}
    (to_lisi,) = [sms for sms in sms_sent(sms_sim) if sms["template"] == SMS_DIGEST_TEMPLATE_CODE]
    assert to_lisi["count"] == str(digested) and to_lisi["name"] == "证书0"
    by_person = Counter((body["touser"], body["template_id"]) for body in wechat_sent(wechat_sim))
    assert by_person == Counter(
        {("openid-zhangsan", "sim-alert-template"): alone, ("openid-lisi", DIGEST_TEMPLATE_ID): 1}
    )
    assert inbox(office["api"])["total"] == alone
    assert inbox(factory.api(client, colleague))["total"] == digested


def test_what_is_handled_before_the_digest_goes_is_left_out_of_it(app, office, sms_sim, wechat_sim):
    """59 of 60 handled between the sweep's decision and its send job: the digest says 1 (a digest
    stays a digest, whatever is left of it)."""
    plans = certificates(office, 60)
    moment = at(FIRST_DAY, 8, 0)
    with frozen(moment), app.app_context():
        assert sweep_alert_plans()["digests"] == 2  # decided and queued, not sent yet
    with frozen(moment + timedelta(seconds=5)):
        for plan_id in plans[:59]:
            response = office["api"].post(f"/api/v1/alert-plans/{plan_id}/handle", json={"note": "已换证"})
            assert response.status_code == 200, response.get_json()
    drain(app, moment + timedelta(seconds=6))

    (sms,) = sms_sent(sms_sim)
    assert sms == {"template": SMS_DIGEST_TEMPLATE_CODE, "count": "1", "name": "员工59", "date": "2026-12-10"}
    (wechat,) = wechat_sent(wechat_sim)
    assert wechat["data"]["thing1"]["value"] == "员工59" and wechat["data"]["number2"]["value"] == "1"
    assert {message.body for message in digest_messages(app)} == {
        "您有1项证照或授权到期预警，最近到期的是员工59的人员资质（2026-12-10）。请在微信小程序「微修」查看。"
    }
    assert outcomes(app, office["manager"].id) == Counter(
        {
            ("inbox", "alert", "withdrawn"): 59,
            ("sms", "alert", "withdrawn"): 59,
            ("wechat", "alert", "withdrawn"): 59,
            ("inbox", "alert", "sent"): 1,
            ("sms", "alert", "sent"): 1,
            ("wechat", "alert", "sent"): 1,
            ("sms", "digest", "sent"): 1,
            ("wechat", "digest", "sent"): 1,
        }
    )
    record = office["api"].get(f"/api/v1/alert-plans/{plans[0]}/deliveries").get_json()["items"]
    assert {(entry["channel"], entry["status"], entry["reason"]) for entry in record} == {
        (channel, "withdrawn", "预警已处理，通知已撤回") for channel in ("inbox", "sms", "wechat")
    }


def test_a_digest_whose_every_reminder_was_handled_is_withdrawn(app, office, sms_sim, wechat_sim):
    plans = certificates(office, 60)
    moment = at(FIRST_DAY, 8, 0)
    with frozen(moment), app.app_context():
        assert sweep_alert_plans()["digests"] == 2
    with frozen(moment + timedelta(seconds=5)):
        for plan_id in plans:
            assert office["api"].post(f"/api/v1/alert-plans/{plan_id}/handle").status_code == 200
    drain(app, moment + timedelta(seconds=6))

    assert sms_sim.state.count(SEND_SMS) == 0 and wechat_sim.state.count(TEMPLATE_SEND) == 0
    counts = outcomes(app, office["manager"].id)
    assert counts[("sms", "digest", "withdrawn")] == 1 and counts[("wechat", "digest", "withdrawn")] == 1
    assert counts[("sms", "alert", "withdrawn")] == 60
    with app.app_context():
        reasons = set(
            db.session.scalars(
                select(Delivery.reason)
                .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
                .where(OutboxMessage.topic == "digest.alert")
            )
        )
    assert reasons == {"汇总的预警均已处理，通知已撤回"}


def test_a_sweep_that_died_before_deciding_leaves_the_digest_to_the_next_minute(app, office, sms_sim, wechat_sim):
    """The batches committed, then the job died: the reminders wait, held; the next minute's sweep
    decides them (one digest), and deciding again finds nothing to decide."""
    from jobs.outbox import dispatch_messages
    from operations.alerts import digests
    from operations.alerts.sweep import sweep_batch

    certificates(office, 10)
    moment = at(FIRST_DAY, 8, 0)
    with frozen(moment), app.app_context():
        processed, messages = sweep_batch(moment, digest_channels=frozenset({"sms", "wechat"}))
        db.session.commit()
        dispatch_messages(messages)  # as the job does after each batch; then it died
        assert processed == 10
    drain(app, moment)  # nothing but the inbox goes: the SMS and WeChat wait for the decision
    assert sms_sim.state.count(SEND_SMS) == 0 and wechat_sim.state.count(TEMPLATE_SEND) == 0
    assert inbox(office["api"])["total"] == 10

    run_minute(app, at(FIRST_DAY, 8, 1))
    assert [sms["count"] for sms in sms_sent(sms_sim)] == ["10"] and len(wechat_sent(wechat_sim)) == 1
    with frozen(at(FIRST_DAY, 8, 2)), app.app_context():
        again = digests.group(at(FIRST_DAY, 8, 2), frozenset({"sms", "wechat"}), ALERT_LIST)
        db.session.commit()
        assert again.released == [] and again.digests == []
    run_minute(app, at(FIRST_DAY, 8, 2))
    assert len(sms_sent(sms_sim)) == 1 and len(wechat_sent(wechat_sim)) == 1


def test_a_channel_without_a_digest_template_goes_one_by_one(app, office, configure, sms_sim, wechat_sim):
    configure(SMS_DIGEST_TEMPLATE_CODE=None)
    certificates(office, 5)
    run_minute(app, at(FIRST_DAY, 8, 0))

    assert [sms["template"] for sms in sms_sent(sms_sim)] == ["SMS_SIM_ALERT"] * 5
    assert [body["template_id"] for body in wechat_sent(wechat_sim)] == [DIGEST_TEMPLATE_ID]


def test_the_digests_fields_keep_within_the_providers_limits(app, office, sms_sim, wechat_sim):
    long_name = "心血管内科导管室介入手术组高级技师资格复审负责人员"  # 25 characters
    certificates(office, 12, holder=long_name)
    run_minute(app, at(FIRST_DAY, 8, 0))

    (wechat,) = wechat_sent(wechat_sim)
    subject = wechat["data"]["thing1"]["value"]
    assert len(subject) <= 20 and subject.endswith("…等12项")  # the count is never what gets cut
    (sms,) = sms_sent(sms_sim)
    assert sms["count"] == "12" and len(sms["name"]) <= 35 and sms["name"].startswith("心血管内科")


def test_a_digest_reaches_a_mini_program_user_on_the_alert_subscribe_template(
    app, factory, client, office, sms_sim, wechat_sim
):
    """Someone the official account cannot reach, who accepted the alert subscribe template in the
    mini-program, gets the digest as one subscribe message: one consent for the lot."""
    from models import ConsentStatus, User, WeChatApp
    from operations.subscribe_consents import record_consent

    with app.app_context():
        manager = db.session.get(User, office["manager"].id)
        manager.wechat_openid = None
        manager.wechat_miniprogram_openid = "mp-zhangsan"
        record_consent(
            WeChatApp.MINIPROGRAM, "mp-zhangsan", "sim-subscribe-alert", ConsentStatus.ACCEPT, at(FIRST_DAY, 7)
        )
        record_consent(
            WeChatApp.MINIPROGRAM, "mp-zhangsan", "sim-subscribe-alert", ConsentStatus.ACCEPT, at(FIRST_DAY, 7)
        )
        db.session.commit()
    certificates(office, 8)
    run_minute(app, at(FIRST_DAY, 8, 0))

    sent = [r.payload["body"] for r in wechat_sim.state.records(SUBSCRIBE_SEND) if r.response.get("errcode") == 0]
    (subscribe,) = sent
    assert subscribe["template_id"] == "sim-subscribe-alert" and subscribe["page"] == ALERT_LIST
    assert subscribe["data"]["thing1"]["value"] == "员工0等8项"
    assert subscribe["data"]["thing4"]["value"] == "共8项待处理"


def test_a_vendor_admin_gets_one_digest_per_hospital(app, factory, client, sms_sim, wechat_sim, monkeypatch):
    """A digest gathers one hospital's reminders: a vendor admin told about four authorizations
    ending at each of two hospitals gets two digests at the slot, one for each (written one
    statement each here, as a morning of many digests is written in chunks)."""
    from models import Invitation, InvitationStatus, User
    from operations.alerts import digests

    monkeypatch.setattr(digests, "CHUNK", 1)

    first, second = factory.institution("医疗机构测试1"), factory.institution("医疗机构测试2")
    vendor = factory.accepted_vendor(first, "服务商测试1")
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.vendor_id == vendor.id, User.role == Role.VENDOR_ADMIN))
        admin.phone, admin.wechat_openid = "13900000001", "openid-admin"
        db.session.add(
            Invitation(
                institution_id=second.id,
                vendor_id=vendor.id,
                status=InvitationStatus.ACCEPTED,
                invited_by_id=admin.id,
                responded_by_id=admin.id,
            )
        )
        db.session.commit()
        admin_id = admin.id
    for institution in (first, second):
        api = factory.api(client, factory.manager(institution))
        devices = [factory.device(institution, name=f"{institution.name[-1]}号监护仪{n}") for n in range(4)]
        with frozen(at(FIRST_DAY - timedelta(days=1), 9)):
            response = api.post(
                "/api/v1/authorizations",
                json={
                    "device_ids": [device.id for device in devices],
                    "vendor_id": vendor.id,
                    "starts_on": "2026-12-01",
                    "ends_on": "2026-12-10",
                    "scopes": ["repair"],
                    "warn_enabled": True,
                    "warn_days": 3,
                    "alert": {
                        "channels": ["inbox", "sms", "wechat"],
                        "notify_related": False,
                        "recipient_ids": [admin_id],
                        "send_time": "08:00",
                    },
                },
            )
        assert response.status_code == 201, response.get_json()
    run_minute(app, at(FIRST_DAY, 8, 0))

    assert sorted((sms["count"], sms["name"]) for sms in sms_sent(sms_sim)) == [
        ("4", "1号监护仪0"),
        ("4", "2号监护仪0"),
    ]
    assert [body["touser"] for body in wechat_sent(wechat_sim)] == ["openid-admin", "openid-admin"]
    assert sorted(message.key.split(":")[2] for message in digest_messages(app)) == sorted(
        [str(first.id), str(first.id), str(second.id), str(second.id)]
    )


def test_a_digest_waiting_when_its_hospital_is_deactivated_is_skipped_with_its_reminders(
    app, office, sms_sim, wechat_sim
):
    from operations import institutions

    certificates(office, 6)
    moment = at(FIRST_DAY, 8, 0)
    with frozen(moment), app.app_context():
        assert sweep_alert_plans()["digests"] == 2
        deactivated = institutions.deactivate(office["institution"].id, now=moment)
        db.session.commit()
        assert deactivated.deliveries_skipped == 2 + 6 * 3  # the digests, and every reminder
    drain(app, moment + timedelta(seconds=1))

    assert sms_sim.state.count(SEND_SMS) == 0 and wechat_sim.state.count(TEMPLATE_SEND) == 0
    counts = outcomes(app, office["manager"].id)
    assert counts == Counter(
        {(channel, "alert", "skipped"): 6 for channel in ("inbox", "sms", "wechat")}
        | {(channel, "digest", "skipped"): 1 for channel in ("sms", "wechat")}
    )
