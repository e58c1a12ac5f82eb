"""A plan's fields and its 发送记录 say what happened and what will: last_sent_on is the last day
something was actually sent, a day a late sweep dropped is listed as dropped, and next_send_at is
the occurrence the sweep will send (due_now while no sweep has taken it), never one it will drop.

Through the PC API under a controlled clock, with the minute scheduler and the send jobs on a
real queue, and SMS over real HTTP to the simulator. The plan: 设备操作证 expiring 2026-12-10,
warned 3 days ahead (12-07 … 12-10, the expiry notice 12-11), sent at 09:30 Shanghai by inbox
and SMS to 张三 (who entered it) and 李工.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models import Role
from operations.clock import frozen
from tests.test_alert_delivery import SEND_SMS, at, run_minute

DAY = {n: date(2026, 12, n) for n in range(5, 13)}
DROPPED_REASON = "错过发送时间（定时任务未运行），当天的提醒不再补发"


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三", phone="13800000001")
    engineer = factory.user(
        Role.INSTITUTION_ENGINEER, institution=institution, display_name="李工", phone="13800000002"
    )
    return {
        "device": factory.device(institution, name="检眼镜"),
        "manager": manager,
        "engineer": engineer,
        "api": factory.api(client, manager),
    }


def enter_credential(hospital, moment, channels=("inbox", "sms"), related=True) -> int:
    """The credential form, sent at `moment`; returns its plan's id."""
    with frozen(moment):
        response = hospital["api"].post(
            "/api/v1/credentials",
            json={
                "kind": "operation_certificate",
                "device_ids": [hospital["device"].id],
                "valid_until": "2026-12-10",
                "warn_days": 3,
                "send_time": "09:30:00",
                "alert": {
                    "channels": list(channels),
                    "notify_related": related,
                    "recipient_ids": [hospital["engineer"].id],
                },
            },
        )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["alert"]["id"]


@pytest.fixture
def plan_id(hospital) -> int:
    return enter_credential(hospital, at(DAY[6], 8, 0))


def read_plan(hospital, plan_id: int, moment) -> dict:
    with frozen(moment):
        return hospital["api"].get(f"/api/v1/alert-plans/{plan_id}").get_json()


def next_send(plan: dict) -> tuple[str | None, bool]:
    return plan["next_send_at"], plan["due_now"]


def record(hospital, plan_id: int, **query) -> dict:
    response = hospital["api"].get(f"/api/v1/alert-plans/{plan_id}/deliveries", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def summary(entries: list[dict]) -> list[tuple]:
    return [(entry["date"], entry["status"]) for entry in entries]


def test_a_day_dropped_after_a_scheduler_outage_is_listed_and_never_counted_as_sent(app, hospital, plan_id, sms_sim):
    run_minute(app, at(DAY[7], 9, 30))
    assert read_plan(hospital, plan_id, at(DAY[7], 9, 31))["last_sent_on"] == "2026-12-07"

    # The scheduler stops after 12-07. At noon on 12-08 the manager changes the template: the
    # day already owed stays owed, so its loss is recorded rather than forgotten.
    with frozen(at(DAY[8], 12, 0)):
        edited = hospital["api"].put(
            f"/api/v1/alert-plans/{plan_id}",
            json={"channels": ["inbox", "sms"], "recipient_ids": [hospital["engineer"].id], "template": "请复审"},
        )
    assert edited.status_code == 200, edited.get_json()
    assert next_send(edited.get_json()) == ("2026-12-08T09:30:00+08:00", True)

    # Back at 07:00 on 12-09: the 12-08 reminder is dropped for today's.
    run_minute(app, at(DAY[9], 7, 0))
    plan = read_plan(hospital, plan_id, at(DAY[9], 7, 1))
    assert plan["last_sent_on"] == "2026-12-07"
    assert next_send(plan) == ("2026-12-09T09:30:00+08:00", False)
    listed = record(hospital, plan_id)
    assert listed["total"] == 5
    assert listed["items"][0] == {
        "date": "2026-12-08",
        "status": "dropped",
        "status_label": "已错过",
        "reason": DROPPED_REASON,
    }
    assert summary(listed["items"][1:]) == [("2026-12-07", "sent")] * 4

    run_minute(app, at(DAY[9], 9, 30))
    plan = read_plan(hospital, plan_id, at(DAY[9], 9, 31))
    assert plan["last_sent_on"] == "2026-12-09" and plan["deliveries"] == {"sent": 8}
    assert next_send(plan) == ("2026-12-10T09:30:00+08:00", False)
    assert sms_sim.state.count(SEND_SMS) == 4  # two a day on 12-07 and 12-09, none for 12-08

    # Newest day first, the dropped day in its place, and pages that add up to the whole list.
    whole = record(hospital, plan_id, per_page=100)["items"]
    assert summary(whole) == [("2026-12-09", "sent")] * 4 + [("2026-12-08", "dropped")] + [("2026-12-07", "sent")] * 4
    assert whole[0]["body"] == "请复审"
    pages = [record(hospital, plan_id, per_page=3, page=page) for page in (1, 2, 3)]
    assert all(page["total"] == 9 for page in pages)
    assert [entry for page in pages for entry in page["items"]] == whole
    assert hospital["api"].get(f"/api/v1/alert-plans/{plan_id}/deliveries?per_page=3&page=4").status_code == 404


def test_a_plan_whose_only_delivery_failed_has_sent_nothing(app, hospital, sms_sim):
    plan_id = enter_credential(hospital, at(DAY[6], 8, 0), channels=("sms",), related=False)
    sms_sim.state.inject(SEND_SMS, code="isv.MOBILE_NUMBER_ILLEGAL")
    run_minute(app, at(DAY[7], 9, 30))

    plan = read_plan(hospital, plan_id, at(DAY[7], 9, 31))
    assert plan["deliveries"] == {"failed": 1} and plan["last_sent_on"] is None
    (entry,) = record(hospital, plan_id)["items"]
    assert (entry["date"], entry["status"]) == ("2026-12-07", "failed")
    assert "isv.MOBILE_NUMBER_ILLEGAL" in entry["reason"]

    run_minute(app, at(DAY[8], 9, 30))
    assert read_plan(hospital, plan_id, at(DAY[8], 9, 31))["last_sent_on"] == "2026-12-08"


def test_next_send_at_is_what_the_sweep_will_send(app, hospital, plan_id):
    assert next_send(read_plan(hospital, plan_id, at(DAY[7], 9, 29))) == ("2026-12-07T09:30:00+08:00", False)
    # Due, and the minute's sweep has not run yet.
    due = read_plan(hospital, plan_id, at(DAY[7], 9, 30) + timedelta(seconds=20))
    assert next_send(due) == ("2026-12-07T09:30:00+08:00", True)
    run_minute(app, at(DAY[7], 9, 30))
    assert next_send(read_plan(hospital, plan_id, at(DAY[7], 9, 31))) == ("2026-12-08T09:30:00+08:00", False)

    # The scheduler is down from then on. Before 09:30 on 12-09 the plan waits for 12-08, which the
    # sweep will drop: today's is the next one sent. After 09:30, today's is due now.
    assert next_send(read_plan(hospital, plan_id, at(DAY[9], 7, 0))) == ("2026-12-09T09:30:00+08:00", False)
    assert next_send(read_plan(hospital, plan_id, at(DAY[9], 15, 0))) == ("2026-12-09T09:30:00+08:00", True)
    # Down through the expiry date: the expiry notice goes out however late.
    expired = read_plan(hospital, plan_id, at(DAY[12], 7, 0))
    assert next_send(expired) == ("2026-12-11T09:30:00+08:00", True)
    run_minute(app, at(DAY[12], 7, 0))
    ended = read_plan(hospital, plan_id, at(DAY[12], 7, 1))
    assert ended["status"] == "expired" and next_send(ended) == (None, False)
    assert ended["last_sent_on"] == "2026-12-11"
    assert summary(record(hospital, plan_id, per_page=100)["items"]) == (
        [("2026-12-11", "sent")] * 4
        + [("2026-12-10", "dropped"), ("2026-12-09", "dropped"), ("2026-12-08", "dropped")]
        + [("2026-12-07", "sent")] * 4
    )


def test_a_plan_entered_inside_its_window_owes_nothing_from_before_it(app, hospital):
    # Entered at 03:00 on 12-08, a day into its window: yesterday's reminder was never owed.
    plan_id = enter_credential(hospital, at(DAY[8], 3, 0))
    assert next_send(read_plan(hospital, plan_id, at(DAY[8], 3, 0))) == ("2026-12-08T09:30:00+08:00", False)
    run_minute(app, at(DAY[8], 3, 1))
    assert record(hospital, plan_id)["items"] == []

    # Entered after the day's send time: today's reminder is due at once.
    later = enter_credential(hospital, at(DAY[8], 11, 0), channels=("inbox",), related=False)
    assert next_send(read_plan(hospital, later, at(DAY[8], 11, 0))) == ("2026-12-08T09:30:00+08:00", True)
    run_minute(app, at(DAY[8], 11, 1))
    assert summary(record(hospital, later)["items"]) == [("2026-12-08", "sent")]
    assert summary(record(hospital, plan_id)["items"]) == [("2026-12-08", "sent")] * 4  # and no 12-07
