"""Alert plans end to end: the minute scheduler, the sweep, the outbox jobs on a real queue, the
channels over real HTTP to the WeChat and SMS simulators, all under a controlled clock.

The plan: 设备操作证 expiring 2026-12-10, warned 3 days ahead, sent at 09:30 Shanghai, on all
three channels, to 相关人员 (the manager who entered it) and two 指定人员:
- the manager: phone and a followed WeChat binding: inbox + SMS + WeChat;
- an engineer with a phone and no WeChat binding: inbox + SMS, WeChat skipped;
- a clinician bound to WeChat who does not follow the official account: WeChat ends in 43004.
So each reminder day gives 9 deliveries: 3 inbox, 3 SMS, 1 WeChat sent and 2 WeChat skipped.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from connections import redis as redis_connection
from jobs import scheduler
from jobs.alerts import sweep_alert_plans
from jobs.runtime import make_worker
from models import AlertPlan, Delivery, InboxMessage, OutboxMessage, Role, db
from models.outbox import idempotency_key
from operations.clock import LOCAL_TZ, frozen

TEMPLATE_SEND = "/cgi-bin/message/template/send"
SEND_SMS = "SendSms"
WINDOW = [date(2026, 12, 6) + timedelta(days=n) for n in range(7)]  # 12-06 … 12-12
REMINDER_DAYS = {date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9), date(2026, 12, 10)}
NOTICE_DAY = date(2026, 12, 11)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


def run_minute(app, moment: datetime) -> None:
    """What production does each minute: a scheduler tick, then a worker drains the queue."""
    with frozen(moment):
        with app.app_context():
            scheduler.tick(moment)
        make_worker(app, simple=True).work(burst=True)


def run_day(app, day: date, minutes=((9, 29), (9, 30), (9, 31), (18, 0))) -> None:
    for hour, minute in minutes:
        run_minute(app, at(day, hour, minute))


def deliveries(app) -> list[SimpleNamespace]:
    """Every delivery with its message's key, topic and text, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(Delivery, OutboxMessage)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .order_by(Delivery.id)
        ).tuples()
        found = [
            SimpleNamespace(
                **{column.key: getattr(delivery, column.key) for column in Delivery.__table__.columns},
                key=idempotency_key(message.key, delivery.recipient_id, delivery.channel.value),
                topic=message.topic,
                body=message.body,
            )
            for delivery, message in rows
        ]
        db.session.remove()
        return found


def day_of(delivery) -> date:
    return datetime.strptime(delivery.key.split(":")[2], "%Y%m%d").date()


@pytest.fixture
def alerting(app, factory, client, wechat_sim):
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(
        Role.EQUIPMENT_MANAGER,
        institution=institution,
        display_name="张三",
        phone="13800000001",
        wechat_openid="openid-manager",
    )
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=institution, phone="13800000002")
    clinician = factory.user(
        Role.CLINICIAN, institution=institution, phone="13800000003", wechat_openid="openid-unfollowed"
    )
    wechat_sim.state.set_user("openid-unfollowed", follows=False)
    device = factory.device(institution, name="检眼镜")
    api = factory.api(client, manager)
    with frozen(at(WINDOW[0], 8, 0)):  # entered the day before its window opens
        response = api.post(
            "/api/v1/credentials",
            json={
                "kind": "operation_certificate",
                "device_ids": [device.id],
                "number": "C000000001",
                "valid_until": "2026-12-10",
                "warn_days": 3,
                "send_time": "09:30:00",
                "alert": {
                    "channels": ["inbox", "sms", "wechat"],
                    "notify_related": True,
                    "recipient_ids": [engineer.id, clinician.id],
                },
            },
        )
    assert response.status_code == 201, response.get_json()
    plan = response.get_json()["alert"]
    assert plan["next_send_at"] == "2026-12-07T09:30:00+08:00"
    return {
        "plan_id": plan["id"],
        "manager": manager,
        "engineer": engineer,
        "clinician": clinician,
        "api": api,
        "engineer_api": factory.api(client, engineer),
        "clinician_api": factory.api(client, clinician),
        "credential_id": response.get_json()["id"],
    }


def expected_day(alerting) -> Counter:
    manager, engineer, clinician = (alerting[name].id for name in ("manager", "engineer", "clinician"))
    return Counter(
        {
            (manager, "inbox", "sent"): 1,
            (manager, "sms", "sent"): 1,
            (manager, "wechat", "sent"): 1,
            (engineer, "inbox", "sent"): 1,
            (engineer, "sms", "sent"): 1,
            (engineer, "wechat", "skipped"): 1,
            (clinician, "inbox", "sent"): 1,
            (clinician, "sms", "sent"): 1,
            (clinician, "wechat", "skipped"): 1,
        }
    )


def per_day(rows) -> dict[date, Counter]:
    counts: dict[date, Counter] = {}
    for row in rows:
        counts.setdefault(day_of(row), Counter())[(row.recipient_id, row.channel.value, row.status.value)] += 1
    return counts


def test_seven_days_give_one_delivery_per_day_recipient_and_channel(app, alerting, wechat_sim, sms_sim):
    for day in WINDOW:
        run_day(app, day)

    rows = deliveries(app)
    counts = per_day(rows)
    assert set(counts) == REMINDER_DAYS | {NOTICE_DAY}
    for day in sorted(counts):
        assert counts[day] == expected_day(alerting), day
    assert len(rows) == 5 * 9
    # Each went out at 09:30 on its day, not a minute earlier or later.
    assert {row.created_at for row in rows} == {at(day, 9, 30) for day in REMINDER_DAYS | {NOTICE_DAY}}

    # Why the WeChat ones were skipped: no binding, and 43004 from WeChat for the unfollowed one.
    reasons = {row.reason for row in rows if row.status.value == "skipped"}
    assert any("未绑定微信" in reason for reason in reasons)
    assert any("43004" in reason for reason in reasons)
    # The providers saw exactly what the outbox says: 3 SMS and 2 WeChat calls a day.
    assert sms_sim.state.count(SEND_SMS) == 5 * 3
    assert wechat_sim.state.count(TEMPLATE_SEND) == 5 * 2
    assert {record.payload["PhoneNumbers"] for record in sms_sim.state.records(SEND_SMS)} == {
        "13800000001",
        "13800000002",
        "13800000003",
    }

    # The text: the guide's template filled in, then the expiry notice; the plan has ended.
    reminder = next(row for row in rows if day_of(row) == date(2026, 12, 7))
    assert reminder.body == "检眼镜已经快到设备操作证到期日了, 设备操作证到期日是: 2026-12-10, 请及时处理!"
    notice = next(row for row in rows if day_of(row) == NOTICE_DAY)
    assert notice.topic == "alert.expired" and "已于2026-12-10到期" in notice.body
    plan = alerting["api"].get(f"/api/v1/alert-plans/{alerting['plan_id']}").get_json()
    assert plan["status"] == "expired" and plan["next_send_at"] is None
    assert plan["deliveries"] == {"sent": 35, "skipped": 10}

    # The engineer's inbox: five messages, newest first, unread until read.
    inbox = alerting["engineer_api"].get("/api/v1/inbox").get_json()
    assert inbox["total"] == 5 and inbox["unread"] == 5
    assert inbox["items"][0]["title"] == "设备操作证已过期"
    assert inbox["items"][-1]["title"] == "设备操作证即将到期"


def test_handling_on_day_three_stops_the_following_days(app, alerting, sms_sim):
    for day in WINDOW[:4]:  # 12-06 … 12-09: reminders on the 7th, 8th and 9th
        run_day(app, day, minutes=((9, 30),))
    with frozen(at(date(2026, 12, 9), 11, 15)):
        inbox = alerting["engineer_api"].get("/api/v1/inbox").get_json()
        assert inbox["items"][0]["can_handle"] is True
        response = alerting["engineer_api"].post(
            f"/api/v1/alert-plans/{inbox['items'][0]['alert_plan_id']}/handle", json={"note": "已安排复审"}
        )
    assert response.status_code == 200, response.get_json()
    handled = response.get_json()
    assert handled["status"] == "handled" and handled["handled_at"] == "2026-12-09T11:15:00+08:00"
    assert handled["handled_by"]["id"] == alerting["engineer"].id and handled["handled_note"] == "已安排复审"
    for day in WINDOW[4:]:
        run_day(app, day)

    counts = per_day(deliveries(app))
    assert sorted(counts) == [date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9)]
    assert sms_sim.state.count(SEND_SMS) == 3 * 3
    again = alerting["api"].post(f"/api/v1/alert-plans/{alerting['plan_id']}/handle", json={})
    assert again.status_code == 409
    inbox = alerting["clinician_api"].get("/api/v1/inbox").get_json()
    assert inbox["items"][0]["alert_status"] == "handled" and inbox["items"][0]["can_handle"] is False


def test_a_second_scheduler_or_a_restart_sends_nothing_twice(app, alerting, sms_sim, wechat_sim):
    day = date(2026, 12, 7)
    moment = at(day, 9, 30)
    with frozen(moment), app.app_context():
        first = scheduler.tick(moment)
        assert scheduler.tick(moment) == []  # the other scheduler lost the minute's claim
        redis_connection.redis().delete(f"weixiu:scheduler:claim:{scheduler.minute_key(moment)}")
        restarted = scheduler.tick(moment)  # a restart that lost its claim: the same unique job ids
        assert first and restarted == []
        # A sweep run twice by hand, as a crashed-and-retried job would.
        assert sweep_alert_plans()["deliveries"] == 9  # 3 people × 3 channels
        assert sweep_alert_plans() == {"plans": 0, "deliveries": 0, "digests": 0}
    with frozen(moment):
        make_worker(app, simple=True).work(burst=True)
    run_minute(app, at(day, 9, 31))
    run_minute(app, at(day, 9, 30) + timedelta(seconds=30))

    assert per_day(deliveries(app)) == {day: expected_day(alerting)}
    assert sms_sim.state.count(SEND_SMS) == 3
    assert wechat_sim.state.count(TEMPLATE_SEND) == 2


def test_after_downtime_the_reminders_catch_up_once(app, alerting, sms_sim):
    day = date(2026, 12, 7)
    # Down from 09:30 to 09:36: the first tick after that is 09:37.
    run_day(app, day, minutes=((9, 0), (9, 37), (9, 38), (12, 0)))

    rows = deliveries(app)
    assert per_day(rows) == {day: expected_day(alerting)}
    assert {row.created_at for row in rows} == {at(day, 9, 37)}
    assert sms_sim.state.count(SEND_SMS) == 3


def test_with_redis_down_the_deliveries_wait_and_go_out_once_it_is_back(app, alerting, sms_sim, wechat_sim):
    day = date(2026, 12, 7)
    real_redis = app.extensions["weixiu.redis"]
    # Nothing listens on port 1: every Redis call fails the way a stopped server does.
    app.extensions["weixiu.redis"] = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        with frozen(at(day, 9, 30)), app.app_context():
            result = sweep_alert_plans()  # the sweep job had started; Redis stops under it
            assert result["deliveries"] == 9
            with pytest.raises(RedisConnectionError):
                scheduler.tick(at(day, 9, 31))
    finally:
        app.extensions["weixiu.redis"] = real_redis

    rows = deliveries(app)
    assert {row.status.value for row in rows} == {"pending", "skipped"}
    assert all(row.enqueued_at is None for row in rows)
    assert sms_sim.state.count(SEND_SMS) == 0 and wechat_sim.state.count(TEMPLATE_SEND) == 0

    run_minute(app, at(day, 9, 35))  # Redis is back: the relay finds them
    run_minute(app, at(day, 9, 36))
    run_minute(app, at(day, 9, 50))

    assert per_day(deliveries(app)) == {day: expected_day(alerting)}
    assert sms_sim.state.count(SEND_SMS) == 3
    assert wechat_sim.state.count(TEMPLATE_SEND) == 2


def test_transient_errors_are_retried_with_backoff_and_permanent_ones_fail(app, alerting, sms_sim, wechat_sim):
    day = date(2026, 12, 7)
    wechat_sim.state.inject(TEMPLATE_SEND, errcode=45009)  # the first WeChat call: rate limited
    sms_sim.state.inject(SEND_SMS, code="isv.MOBILE_NUMBER_ILLEGAL")  # the first SMS: a bad number
    run_minute(app, at(day, 9, 30))

    rows = deliveries(app)
    (waiting,) = [row for row in rows if row.status.value == "pending"]
    assert waiting.channel.value == "wechat" and waiting.attempts == 1 and "45009" in waiting.reason
    assert waiting.next_attempt_at == at(day, 9, 30) + timedelta(seconds=30)
    (failed,) = [row for row in rows if row.status.value == "failed"]
    assert failed.channel.value == "sms" and "isv.MOBILE_NUMBER_ILLEGAL" in failed.reason

    run_minute(app, at(day, 9, 30) + timedelta(seconds=20))  # the backoff has not passed yet
    assert wechat_sim.state.count(TEMPLATE_SEND) == 2
    run_minute(app, at(day, 9, 31))
    retried = {row.id: row for row in deliveries(app)}[waiting.id]
    assert retried.attempts == 2 and wechat_sim.state.count(TEMPLATE_SEND) == 3
    if waiting.recipient_id == alerting["manager"].id:
        assert retried.status.value == "sent"
    else:  # the clinician's: the retry reached WeChat, which answered 43004
        assert retried.status.value == "skipped" and "43004" in retried.reason
    assert sms_sim.state.count(SEND_SMS) == 3  # the failed one is not retried


def test_failure_reasons_group_without_wechats_request_ids(app, alerting, wechat_sim):
    """WeChat writes a new request id into every errmsg ("invalid template_id rid: …"): the
    reasons kept for the 发送记录 read the same for the same failure."""
    wechat_sim.state.inject(TEMPLATE_SEND, times=2, errcode=40037)
    run_minute(app, at(date(2026, 12, 7), 9, 30))
    answers = [r.response["errmsg"] for r in wechat_sim.state.records(TEMPLATE_SEND)]
    assert len(answers) == 2 and answers[0] != answers[1] and all(" rid: " in answer for answer in answers)
    listed = alerting["api"].get(f"/api/v1/alert-plans/{alerting['plan_id']}/deliveries?per_page=50").get_json()
    failed = [item["reason"] for item in listed["items"] if item["status"] == "failed"]
    assert failed == ["微信错误 40037: invalid template_id"] * 2


def test_retries_stop_after_the_cap_with_the_reason(app, alerting, wechat_sim):
    from operations import outbox

    day = date(2026, 12, 7)
    wechat_sim.state.inject(TEMPLATE_SEND, times=50, status=503)
    moment = at(day, 9, 30)
    run_minute(app, moment)
    for delay in outbox.RETRY_DELAYS:
        moment += delay + timedelta(minutes=1)
        run_minute(app, moment.replace(second=0))
    row = next(r for r in deliveries(app) if r.recipient_id == alerting["manager"].id and r.channel.value == "wechat")
    assert row.status.value == "failed" and row.attempts == outbox.MAX_ATTEMPTS
    assert row.reason.startswith(f"重试{outbox.MAX_ATTEMPTS}次仍未成功")


def test_a_new_expiry_date_reopens_a_handled_plan_and_a_new_send_time_moves_it(app, alerting):
    api = alerting["api"]
    run_day(app, date(2026, 12, 7), minutes=((9, 30),))
    with frozen(at(date(2026, 12, 7), 10, 0)):
        assert api.post(f"/api/v1/alert-plans/{alerting['plan_id']}/handle", json={}).status_code == 200
        body = api.get(f"/api/v1/credentials/{alerting['credential_id']}").get_json()
        form = {key: body[key] for key in ("number", "warn_days")} | {"device_ids": [d["id"] for d in body["devices"]]}
        response = api.put(
            f"/api/v1/credentials/{alerting['credential_id']}",
            json={**form, "valid_until": "2027-12-10", "send_time": "08:00:00"},
        )
    assert response.status_code == 200, response.get_json()
    plan = response.get_json()["alert"]
    assert plan["status"] == "active" and plan["handled_by"] is None
    assert plan["next_send_at"] == "2027-12-07T08:00:00+08:00"
    # The 人员通知 settings were not in the form this time: they are kept.
    assert plan["channels"] == ["inbox", "sms", "wechat"] and len(plan["recipients"]) == 2
    with app.app_context():
        assert db.session.scalar(select(AlertPlan.last_occurrence_on)) is None
        assert db.session.scalar(select(db.func.count()).select_from(InboxMessage)) == 3


def test_two_sweeps_at_once_share_the_work_and_duplicate_nothing(app, factory, alerting):
    """Two workers running the sweep in the same second (two schedulers, a retried job)."""
    import threading

    # More plans than one batch holds, so the two sweeps interleave.
    with app.app_context(), frozen(at(WINDOW[0], 8, 0)):
        from operations.alerts import sweep as alert_sweep

        credential_ids = []
        for number in range(30):
            response = alerting["api"].post(
                "/api/v1/credentials",
                json={
                    "kind": "staff_qualification",
                    "holder_name": f"员工{number}",
                    "valid_until": "2026-12-10",
                    "warn_days": 3,
                    "send_time": "09:30:00",
                    "alert": {"channels": ["inbox", "sms"], "recipient_ids": [alerting["engineer"].id]},
                },
            )
            credential_ids.append(response.get_json()["id"])
    batch_size = alert_sweep.BATCH_SIZE
    alert_sweep.BATCH_SIZE = 4
    results = []
    try:

        def sweep():
            with app.app_context():
                results.append(sweep_alert_plans())

        # One freeze around both threads: the clock is process-wide, and two overlapping
        # frozen() blocks would restore each other's moment and leave it frozen for later tests.
        with frozen(at(date(2026, 12, 7), 9, 30)):
            threads = [threading.Thread(target=sweep) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        alert_sweep.BATCH_SIZE = batch_size
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # SKIP LOCKED: each plan went to one sweep
            assert sum(result["plans"] for result in results) == 31
        # SQLite takes no row locks (both sweeps may decide a plan): the idempotency keys keep
        # the decision single, which is what the people on the other end see.
    rows = deliveries(app)
    # The fixture's plan, then 30 plans × 2 people × 2 channels, and for each person the digest of
    # the 31 SMS due at 09:30 (汇总提醒), once.
    assert len(rows) == 9 + 30 * 2 * 2 + 2
    assert len({row.key for row in rows}) == len(rows)
    assert sorted(row.recipient_id for row in rows if row.topic == "digest.alert") == sorted(
        [alerting["manager"].id, alerting["engineer"].id]
    )


def test_a_delivery_whose_jobs_keep_dying_fails_instead_of_circling(app, alerting):
    from jobs.outbox import relay
    from operations import outbox

    moment = at(date(2026, 12, 7), 9, 30)
    with frozen(moment), app.app_context():
        sweep_alert_plans()
        # A worker killed mid-send on every attempt: claimed, never recorded.
        for _ in range(outbox.MAX_ATTEMPTS):
            assert outbox.claim(moment, ids=[row.id for row in deliveries(app)])
            moment += timedelta(seconds=outbox.CLAIM_SECONDS + 1)
        db.session.commit()
    with frozen(moment), app.app_context():
        relay()
    rows = [row for row in deliveries(app) if row.status.value != "skipped"]
    assert {row.status.value for row in rows} == {"failed"}
    assert rows[0].reason == f"发送任务中断{outbox.MAX_ATTEMPTS}次，不再重试"
