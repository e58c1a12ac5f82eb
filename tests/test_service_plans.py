"""保养计划 / 计量计划 as the equipment office meets them: plans made through the PC API, the minute
sweep raising their orders under the controlled clock (a year of days), the orders worked through
the API, overdue reminders through the alert plans, and the per-person summary of many new orders,
on a real queue with the WeChat simulator."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from jobs import scheduler
from jobs.runtime import make_worker
from jobs.service_plans import sweep_service_plans
from models import (
    AlertPlan,
    AlertSubject,
    AuditEntry,
    Delivery,
    InboxMessage,
    OutboxMessage,
    Role,
    ServicePlan,
    User,
    WorkOrder,
    db,
)
from operations.clock import LOCAL_TZ, frozen

TEMPLATE_SEND = "/cgi-bin/message/template/send"


def at(day: date, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


def days(start: date, end: date):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


@pytest.fixture
def office(app, factory, client, wechat_sim):
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三", phone="13800000001")
    engineer = factory.user(
        Role.INSTITUTION_ENGINEER,
        institution=institution,
        display_name="院内王工",
        phone="13800000006",
        wechat_openid="openid-inhouse",
    )
    departments = factory.departments(institution)
    nurse = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士", phone="13800000002")
    with app.app_context():
        user = db.session.get(User, nurse.id)
        user.department_id = departments["口腔科"]
        db.session.commit()
    device = factory.device(institution, name="高压注射器", department="口腔科", category="注射泵")
    other = factory.device(institution, name="检眼镜", department="口腔科", category="注射泵")
    return {
        "app": app,
        "institution": institution,
        "manager": factory.api(client, manager),
        "engineer": factory.api(client, engineer),
        "nurse": factory.api(client, nurse),
        "nurse_id": nurse.id,
        "manager_id": manager.id,
        "engineer_id": engineer.id,
        "device": device,
        "other": other,
        "departments": departments,
    }


def make_plan(office, moment, kind="maintenance", device=None, expect=201, **fields):
    body = {"interval_count": 1, "interval_unit": "month", "lead_days": 7} | fields
    device = device or office["device"]
    with frozen(moment):
        response = office["manager"].post(f"/api/v1/devices/{device.id}/service-plans/{kind}", json=body)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def sweep(app, moment):
    with frozen(moment), app.app_context():
        result = sweep_service_plans()
        db.session.remove()
    return result


def orders_of(app, plan_id) -> list[WorkOrder]:
    with app.app_context():
        orders = list(
            db.session.scalars(
                select(WorkOrder).where(WorkOrder.service_plan_id == plan_id).order_by(WorkOrder.plan_due_on)
            )
        )
        for order in orders:
            db.session.expunge(order)
        db.session.remove()
    return orders


def finish_order(office, order_id, moment):
    with frozen(moment):
        accepted = office["engineer"].post(f"/api/v1/work-orders/{order_id}/accept")
        assert accepted.status_code == 200, accepted.get_json()
        arrived = office["engineer"].post(f"/api/v1/work-orders/{order_id}/arrive", json={})
        assert arrived.status_code == 200, arrived.get_json()
        if arrived.get_json()["kind"] == "metrology":  # a 计量 order is completed with its certificate
            attached = attach_certificate(office["engineer"], order_id, calibrated_on=moment.date().isoformat())
            assert attached.status_code == 201, attached.get_json()
        done = office["engineer"].post(
            f"/api/v1/work-orders/{order_id}/complete",
            json={
                "work_done": "按检查项保养",
                "test_result": "正常",
                "test_passed": True,
                "device_condition": "normal",
                "checklist": all_passing(arrived.get_json()["checklist"]),
            },
        )
        assert done.status_code == 200, done.get_json()


PDF = b"%PDF-1.4\n% a calibration certificate\n"


def attach_certificate(api, order_id, data=PDF, filename="证书.pdf", **fields):
    """上传计量证书: the document and its fields as one multipart form (no 有效期至 unless given)."""
    form = {"number": "JL-2027-001", "conclusion": "passed", "issuer": "市计量检定测试所"} | fields
    # Encoded in memory: the test client spools a big body to a temporary file it never closes.
    boundary, body = encode_multipart(
        {**form, "file": FileStorage(io.BytesIO(data), filename=filename, content_type="application/pdf")}
    )
    return api.post(
        f"/api/v1/work-orders/{order_id}/certificate",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def all_passing(items: list[dict]) -> list[dict]:
    """Every item recorded as passing: checks 合格, measurements a value within their limits."""
    return [
        {"result": "pass"}
        if item["kind"] == "check"
        else {"value": item["lower"] if item["lower"] is not None else item["upper"]}
        for item in items
    ]


def run_year(office, plan_id, year, complete_on=None):
    """Every day of the year at 08:00 the sweep runs; each open order is completed on the day
    `complete_on(due)` says (None: never)."""
    app = office["app"]
    for day in days(date(year, 1, 1), date(year, 12, 31)):
        sweep(app, at(day))
        if complete_on is None:
            continue
        for order in orders_of(app, plan_id):
            if order.completed_at is None and complete_on(order.plan_due_on) == day:
                finish_order(office, order.id, at(day, 15))
    return orders_of(app, plan_id)


def test_a_monthly_schedule_plan_raises_exactly_twelve_orders_in_a_year_whatever_the_completions(office):
    plan = make_plan(office, at(date(2026, 12, 20)), first_due_on="2027-01-31")
    assert plan["anchor"] == "schedule" and plan["next_due_on"] == "2027-01-31" and plan["raise_on"] == "2027-01-24"
    # Completed at all sorts of times: early, late, never: the calendar does not move.
    offsets = iter([-3, 0, 12, None, 5, -6, 25, 0, None, 1, 2, 3])
    chosen = {}

    def complete_on(due):
        if due not in chosen:
            offset = next(offsets, None)
            chosen[due] = None if offset is None else due + timedelta(days=offset)
        return chosen[due]

    orders = run_year(office, plan["id"], 2027, complete_on)
    assert [order.plan_due_on.isoformat() for order in orders] == [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
        "2027-05-31",
        "2027-06-30",
        "2027-07-31",
        "2027-08-31",
        "2027-09-30",
        "2027-10-31",
        "2027-11-30",
        "2027-12-31",
    ]
    first = orders[0]
    assert first.reporter_id is None and first.kind.value == "maintenance"
    assert first.created_at == at(date(2027, 1, 24))
    assert first.expected_by.astimezone(LOCAL_TZ).date() == date(2027, 1, 31)
    # Two more sweeps in the same minute raise nothing twice.
    sweep(office["app"], at(date(2027, 12, 31)))
    assert len(orders_of(office["app"], plan["id"])) == 12


def test_a_completion_plan_completed_on_each_due_date_gives_twelve(office):
    plan = make_plan(office, at(date(2026, 12, 20)), kind="metrology", first_due_on="2027-01-31")
    assert plan["anchor"] == "completion"
    orders = run_year(office, plan["id"], 2027, complete_on=lambda due: due)
    assert len(orders) == 12
    assert [order.plan_due_on.day for order in orders] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def test_a_completion_plan_completed_ten_days_late_each_time_counts_from_each_completion(office):
    plan = make_plan(office, at(date(2026, 12, 20)), kind="metrology", first_due_on="2027-01-10")
    orders = run_year(office, plan["id"], 2027, complete_on=lambda due: due + timedelta(days=10))
    assert [order.plan_due_on.isoformat() for order in orders] == [
        "2027-01-10",
        "2027-02-20",
        "2027-04-02",
        "2027-05-12",
        "2027-06-22",
        "2027-08-02",
        "2027-09-12",
        "2027-10-22",
        "2027-12-01",
    ]
    detail = office["manager"].get(f"/api/v1/service-plans/{plan['id']}").get_json()
    assert detail["next_due_on"] == "2028-01-11"  # the last completion, 2027-12-11, plus a month
    assert [item["due_on"] for item in detail["occurrences"]][:2] == ["2027-12-01", "2027-10-22"]


def test_bad_input_is_refused_in_chinese_and_a_scrapped_device_gets_no_plan(office, app):
    moment = at(date(2026, 12, 20))
    bad = make_plan(office, moment, expect=422, interval_count=0, first_due_on="2027-01-31")
    assert "interval_count" in bad["error"]["fields"]
    bad = make_plan(
        office, moment, expect=422, interval_count=10, interval_unit="day", lead_days=10, first_due_on="2027-01-31"
    )
    assert bad["error"]["fields"]["lead_days"] == "提前天数须小于周期（10 天）"
    bad = make_plan(office, moment, expect=422, first_due_on="2026-12-01")
    assert bad["error"]["fields"]["first_due_on"] == "到期日不能早于今天"
    bad = make_plan(office, moment, expect=422, first_due_on="2027-01-31", contact_id=office["manager_id"])
    assert bad["error"]["fields"]["contact_id"] == "科室联系人须为设备所属科室的在用账号"
    bad = make_plan(office, moment, expect=422, first_due_on="2027-01-31", checklist=["检查电源", " "])
    assert bad["error"]["fields"]["checklist.1.label"] == "第2项：检查项不能为空"
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ServicePlan)) == 0

    plan = make_plan(office, moment, first_due_on="2027-01-31")
    with frozen(moment):
        scrapped = office["manager"].patch(
            f"/api/v1/devices/{office['device'].id}", json={"archive_status": "scrapped"}
        )
    assert scrapped.status_code == 200, scrapped.get_json()
    refused = make_plan(office, moment, expect=409, first_due_on="2027-01-31")
    assert refused["error"]["message"] == "设备已报废，不能制定保养或计量计划"
    ended = office["manager"].get(f"/api/v1/service-plans/{plan['id']}").get_json()
    assert ended["status"] == "ended" and ended["ended_reason"] == "设备已报废"
    with app.app_context():
        logged = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_type == "service_plan").order_by(AuditEntry.id)
        ).all()
    assert logged == ["create", "end"]


def test_editing_the_interval_recalculates_without_repeating_or_skipping(office, app):
    plan = make_plan(office, at(date(2026, 12, 20)), first_due_on="2027-01-31", contact_id=office["nurse_id"])
    sweep(app, at(date(2027, 1, 24)))  # 01-31 raised
    with frozen(at(date(2027, 1, 25))):
        edited = office["manager"].patch(
            f"/api/v1/service-plans/{plan['id']}", json={"interval_count": 3, "checklist": ["外观", "电气安全"]}
        )
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["next_due_on"] == "2027-04-30"  # 01-31 + 3 months, clamped
    with frozen(at(date(2027, 1, 25))):
        moved = office["manager"].patch(f"/api/v1/service-plans/{plan['id']}", json={"next_due_on": "2027-01-31"})
    assert moved.status_code == 422
    assert moved.get_json()["error"]["fields"]["next_due_on"].startswith("下次到期日须晚于已生成工单的到期日")
    for day in days(date(2027, 1, 25), date(2027, 4, 30)):
        sweep(app, at(day))
    orders = orders_of(app, plan["id"])
    assert [order.plan_due_on.isoformat() for order in orders] == ["2027-01-31", "2027-04-30"]
    assert [item["label"] for item in orders[1].checklist] == ["外观", "电气安全"] and orders[0].checklist == []
    assert {item["kind"] for item in orders[1].checklist} == {"check"}
    assert orders[1].contact_id == office["nurse_id"]
    # The contact signs off and rates as the reporter would; the order says where it came from.
    finish_order(office, orders[1].id, at(date(2027, 4, 28), 10))
    detail = office["nurse"].get(f"/api/v1/work-orders/{orders[1].id}").get_json()
    assert detail["service_plan_id"] == plan["id"] and detail["plan_due_on"] == "2027-04-30"
    assert "confirm" in detail["actions"] and "reject" in detail["actions"]
    with frozen(at(date(2027, 4, 28), 11)):
        assert office["nurse"].post(f"/api/v1/work-orders/{orders[1].id}/confirm", json={}).status_code == 200
        assert office["nurse"].post(f"/api/v1/work-orders/{orders[1].id}/rate", json={"rating": 5}).status_code == 200
    # Ending keeps the history.
    with frozen(at(date(2027, 5, 1))):
        ended = office["manager"].post(f"/api/v1/service-plans/{plan['id']}/end", json={"reason": "改为委外保养"})
    assert ended.status_code == 200
    body = ended.get_json()
    assert body["status"] == "ended" and len(body["occurrences"]) == 2
    listed = office["manager"].get(f"/api/v1/service-plans?device_id={office['device'].id}").get_json()
    assert [item["status"] for item in listed["items"]] == ["ended"]


def test_an_overdue_occurrence_reminds_the_managers_until_the_order_is_done(office, app):
    plan = make_plan(office, at(date(2026, 12, 20)), first_due_on="2027-01-31")
    sweep(app, at(date(2027, 1, 24)))
    for moment in (at(date(2027, 2, 1), 8, 0), at(date(2027, 2, 1), 8, 1)):
        with frozen(moment), app.app_context():
            scheduler.tick(moment)
        with frozen(moment):
            make_worker(app, simple=True).work(burst=True)
    with frozen(at(date(2027, 2, 1), 9)):
        listed = office["manager"].get("/api/v1/service-plans?status=overdue").get_json()
    assert [item["id"] for item in listed["items"]] == [plan["id"]]
    assert listed["items"][0]["overdue_since"] == "2027-01-31"
    with app.app_context():
        alert = db.session.scalar(select(AlertPlan).where(AlertPlan.service_plan_id == plan["id"]))
        assert alert.subject is AlertSubject.SERVICE_PLAN and alert.status.value == "active"
        inbox = db.session.scalars(
            select(InboxMessage.body).where(
                InboxMessage.user_id == office["manager_id"], InboxMessage.alert_plan_id == alert.id
            )
        ).all()
        alert_id = alert.id
    assert len(inbox) == 1 and "已逾期1天" in inbox[0] and "应于2027-01-31完成" in inbox[0]
    shown = office["manager"].get(f"/api/v1/alert-plans/{alert_id}").get_json()
    assert shown["subject"] == "service_plan"
    order = orders_of(app, plan["id"])[0]
    finish_order(office, order.id, at(date(2027, 2, 1), 15))
    with app.app_context():
        assert db.session.get(AlertPlan, alert_id).status.value == "handled"
    with frozen(at(date(2027, 2, 1), 16)):
        assert office["manager"].get("/api/v1/service-plans?status=overdue").get_json()["items"] == []


def test_many_new_orders_reach_an_engineer_in_one_message_per_kind(office, app, wechat_sim):
    moment = at(date(2026, 12, 20))
    for device in (office["device"], office["other"]):
        make_plan(office, moment, device=device, first_due_on="2027-01-31")
    raised_at = at(date(2027, 1, 24))
    with frozen(raised_at), app.app_context():
        scheduler.tick(raised_at)
    with frozen(raised_at):
        make_worker(app, simple=True).work(burst=True)
    pushes = [
        record.payload["body"]
        for record in wechat_sim.state.records(TEMPLATE_SEND)
        if record.payload["body"].get("touser") == "openid-inhouse"
    ]
    assert len(pushes) == 1
    assert "今日新增保养工单2张" in str(pushes[0])
    with app.app_context():
        inbox = db.session.scalars(
            select(InboxMessage.title).where(InboxMessage.user_id == office["engineer_id"])
        ).all()
        summary = db.session.scalar(select(OutboxMessage).where(OutboxMessage.topic == "work_order.planned"))
        statuses = db.session.scalars(select(Delivery.status).where(Delivery.message_id == summary.id)).all()
    assert len(inbox) == 2  # each order in the PC inbox
    assert [status.value for status in statuses] == ["sent"]


def tick(app, day):
    """The scheduler's 08:00 and 08:01 minutes: the sweep opens or carries on the alert, the alert
    sweep sends what is due."""
    for moment in (at(day, 8, 0), at(day, 8, 1)):
        with frozen(moment), app.app_context():
            scheduler.tick(moment)
        with frozen(moment):
            make_worker(app, simple=True).work(burst=True)


def reminders(app, alert_id) -> list[str]:
    with app.app_context():
        return db.session.scalars(
            select(InboxMessage.body).where(InboxMessage.alert_plan_id == alert_id).order_by(InboxMessage.id)
        ).all()


def test_an_overdue_occurrence_reminds_every_day_past_its_first_window_until_handled(office, app):
    plan = make_plan(office, at(date(2026, 12, 20)), first_due_on="2027-01-31")
    sweep(app, at(date(2027, 1, 24)))
    for day in days(date(2027, 2, 1), date(2027, 3, 17)):  # day 1 … day 45 past the due date
        tick(app, day)
    with app.app_context():
        alert = db.session.scalar(select(AlertPlan).where(AlertPlan.service_plan_id == plan["id"]))
        alert_id, status = alert.id, alert.status.value
    sent = reminders(app, alert_id)
    assert status == "active" and len(sent) == 45  # the manager's inbox: one a day, no last notice
    assert "已逾期45天" in sent[-1] and "应于2027-01-31完成" in sent[-1]
    assert not any("每日提醒已结束" in body for body in sent)
    # What the alert list shows is the occurrence's own due date, not its window's end.
    with frozen(at(date(2027, 3, 17), 9)):
        shown = office["manager"].get(f"/api/v1/alert-plans/{alert_id}").get_json()
        listed = office["manager"].get("/api/v1/alert-plans?subject=service_plan").get_json()["items"]
        overdue = office["manager"].get("/api/v1/alert-plans?phase=overdue").get_json()["items"]
        warning = office["manager"].get("/api/v1/alert-plans?phase=warning").get_json()["items"]
    assert shown["due_on"] == "2027-01-31" and shown["window_starts_on"] == "2027-02-01"
    # An occurrence past its due date is 到期未处理 from its first reminder on, never 预警中.
    assert shown["phase_label"] == "到期未处理"
    assert alert_id in [item["id"] for item in overdue] and alert_id not in [item["id"] for item in warning]
    assert [item["due_on"] for item in listed if item["id"] == alert_id] == ["2027-01-31"]
    # 已处理 stops it for good: the sweep no longer carries it on.
    with frozen(at(date(2027, 3, 17), 10)):
        handled = office["manager"].post(f"/api/v1/alert-plans/{alert_id}/handle", json={"note": "已安排厂家"})
    assert handled.status_code == 200, handled.get_json()
    for day in days(date(2027, 3, 18), date(2027, 4, 20)):
        tick(app, day)
    assert len(reminders(app, alert_id)) == 45
    with app.app_context():
        assert db.session.get(AlertPlan, alert_id).status.value == "handled"


def test_an_overdue_reminder_whose_last_notice_went_out_is_carried_on(office, app):
    """An alert that expired before reminders were carried on (or while the sweep was away)
    reminds again while its occurrence is open; completing the order stops it."""
    plan = make_plan(office, at(date(2026, 12, 20)), first_due_on="2027-01-31")
    sweep(app, at(date(2027, 1, 24)))
    tick(app, date(2027, 2, 1))
    with app.app_context():
        alert = db.session.scalar(select(AlertPlan).where(AlertPlan.service_plan_id == plan["id"]))
        alert.status, alert.next_run_at = alert.status.EXPIRED, None
        alert.last_occurrence_on = date(2027, 3, 3)
        alert_id = alert.id
        db.session.commit()
    tick(app, date(2027, 3, 10))
    with app.app_context():
        alert = db.session.get(AlertPlan, alert_id)
        assert alert.status.value == "active" and alert.due_on > date(2027, 3, 10)
    assert "已逾期38天" in reminders(app, alert_id)[-1]
    finish_order(office, orders_of(app, plan["id"])[0].id, at(date(2027, 3, 10), 15))
    with app.app_context():
        assert db.session.get(AlertPlan, alert_id).status.value == "handled"
    # The next occurrence (02-28) is overdue too: the same alert starts its own cycle.
    tick(app, date(2027, 3, 11))
    with frozen(at(date(2027, 3, 11), 9)):
        shown = office["manager"].get(f"/api/v1/alert-plans/{alert_id}").get_json()
    assert shown["status"] == "active" and shown["due_on"] == "2027-02-28"
    assert "已逾期11天(应于2027-02-28完成" in reminders(app, alert_id)[-1]
