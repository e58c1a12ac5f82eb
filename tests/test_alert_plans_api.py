"""预警计划 and 电脑首页通知 through the PC API: settings on the credential and authorization forms,
the list, who may see and handle a plan, re-planning, bad input, the inbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import AlertPlan, Delivery, InboxMessage, Role, db
from operations.alerts.templates import DEFAULT_TEMPLATES
from operations.clock import LOCAL_TZ, frozen, today_local

OPERATION = "operation_certificate"


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三")
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="李工")
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王医生")
    other = factory.institution("医疗机构测试2")
    outsider = factory.user(Role.EQUIPMENT_MANAGER, institution=other)
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    return {
        "institution": institution,
        "device": factory.device(institution, name="检眼镜"),
        "vendor": vendor,
        "manager": manager,
        "engineer": engineer,
        "clinician": clinician,
        "outsider": outsider,
        "api": factory.api(client, manager),
        "engineer_api": factory.api(client, engineer),
        "clinician_api": factory.api(client, clinician),
        "outsider_api": factory.api(client, outsider),
    }


def create(hospital, **fields):
    body = {"kind": OPERATION, "device_ids": [hospital["device"].id], "valid_until": "2026-12-10", **fields}
    return hospital["api"].post("/api/v1/credentials", json=body)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_credential_gets_a_plan_with_the_guides_defaults(hospital):
    with frozen(datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ)):
        response = create(hospital)
    assert response.status_code == 201, response.get_json()
    plan = response.get_json()["alert"]
    assert plan["channels"] == ["inbox"] and plan["channel_labels"] == ["电脑首页通知"]
    assert plan["notify_related"] is True and plan["related"] == [
        {"id": hospital["manager"].id, "display_name": "张三"}
    ]
    assert plan["template"] == DEFAULT_TEMPLATES[OPERATION]
    assert plan["warn_days"] == 5 and plan["send_time"] == "08:00:00" and plan["window_starts_on"] == "2026-12-05"
    assert plan["status"] == "active" and plan["status_label"] == "预警中"
    assert plan["next_send_at"] == "2026-12-05T08:00:00+08:00" and plan["due_now"] is False
    assert plan["can_handle"] is True and plan["deliveries"] == {} and plan["last_sent_on"] is None


def test_a_blank_template_means_the_default(hospital):
    response = create(hospital, alert={"channels": ["inbox"], "template": "  "})
    assert response.get_json()["alert"]["template"] == DEFAULT_TEMPLATES[OPERATION]


def test_a_staff_qualification_names_the_person(hospital):
    response = create(hospital, kind="staff_qualification", device_ids=[], holder_name="李四")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["alert"]["template"].startswith("[姓名]的人员资质")
    assert response.get_json()["alert"]["subject_name"] == "李四"


@pytest.mark.parametrize(
    ("alert", "field", "reason"),
    [
        ({"channels": ["inbox"], "template": "[设备名]快到期了"}, "alert.template", "[设备名]"),
        ({"channels": ["fax"]}, "alert.channels", "取值应为"),
        ({"channels": ["inbox"], "notify_related": False}, "alert.recipient_ids", "请选择通知人员"),
        ({"channels": ["inbox"], "recipient_ids": [999999]}, "alert.recipient_ids", "不存在"),
        ({"channels": ["inbox"], "send_time": "09:00:00"}, "alert.send_time", "基础设置"),
        ({"notify_related": True}, "alert.channels", "必填"),
        ({"channels": ["inbox"], "extra": 1}, "alert.extra", "不支持"),
        ("all", "alert", "应为对象"),
    ],
)
def test_bad_alert_settings_are_refused_and_change_nothing(hospital, app_context, alert, field, reason):
    response = create(hospital, alert=alert)
    assert response.status_code == 422, response.get_json()
    assert reason in response.get_json()["error"]["fields"][field]
    assert count(AlertPlan) == 0 and count(Delivery) == 0


def test_recipients_must_belong_to_the_institution(hospital, app_context):
    response = create(hospital, alert={"channels": ["inbox"], "recipient_ids": [hospital["outsider"].id]})
    assert response.status_code == 422
    assert "不属于本机构" in response.get_json()["error"]["fields"]["alert.recipient_ids"]
    assert count(AlertPlan) == 0


def test_no_channel_means_a_silent_plan(hospital, app):
    response = create(hospital, valid_until=today_local().isoformat(), alert={"channels": [], "notify_related": False})
    assert response.status_code == 201, response.get_json()
    from jobs.alerts import sweep_alert_plans

    with app.app_context():
        assert sweep_alert_plans()["deliveries"] == 0
        assert count(Delivery) == 0


def test_authorization_warnings_follow_the_authorization(hospital, app_context):
    api = hospital["api"]
    today = today_local()
    terms = {
        "device_ids": [hospital["device"].id],
        "vendor_id": hospital["vendor"].id,
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=100)).isoformat(),
        "scopes": ["repair"],
        "warn_enabled": True,
        "warn_days": 15,
        "alert": {"channels": ["inbox", "sms"], "recipient_ids": [hospital["engineer"].id], "send_time": "09:15"},
    }
    response = api.post("/api/v1/authorizations", json=terms)
    assert response.status_code == 201, response.get_json()
    authorization = response.get_json()["items"][0]
    plan = authorization["alert"]
    assert plan["subject"] == "authorization" and plan["vendor_name"] == "服务商测试1"
    assert plan["due_on"] == terms["ends_on"] and plan["warn_days"] == 15 and plan["send_time"] == "09:15:00"
    assert plan["template"] == DEFAULT_TEMPLATES["authorization"]
    assert plan["next_send_at"].startswith((today + timedelta(days=85)).isoformat() + "T09:15")

    modify = {key: terms[key] for key in ("starts_on", "ends_on", "scopes", "warn_enabled")} | {"warn_days": 30}
    changed = api.put(f"/api/v1/authorizations/{authorization['id']}", json=modify).get_json()
    assert changed["alert"]["warn_days"] == 30 and changed["alert"]["channels"] == ["inbox", "sms"]
    assert changed["alert"]["next_send_at"].startswith((today + timedelta(days=70)).isoformat())

    off = api.put(f"/api/v1/authorizations/{authorization['id']}", json=modify | {"warn_enabled": False}).get_json()
    assert off["alert"]["status"] == "cancelled" and off["alert"]["next_send_at"] is None
    on = api.put(f"/api/v1/authorizations/{authorization['id']}", json=modify).get_json()
    assert on["alert"]["status"] == "active"

    cancelled = api.post(f"/api/v1/authorizations/{authorization['id']}/cancel", json={}).get_json()
    assert cancelled["alert"]["status"] == "cancelled"


def test_the_list_filters_and_who_may_read_it(hospital):
    api = hospital["api"]
    create(hospital, number="C1", valid_until="2026-12-10")
    create(hospital, number="C2", valid_until="2026-11-30", holder_name="李四")
    listing = api.get("/api/v1/alert-plans").get_json()
    assert [item["due_on"] for item in listing["items"]] == ["2026-11-30", "2026-12-10"]  # soonest first
    assert api.get("/api/v1/alert-plans?q=李四").get_json()["total"] == 1
    assert api.get("/api/v1/alert-plans?q=检眼镜").get_json()["total"] == 2
    assert api.get("/api/v1/alert-plans?subject=authorization").get_json()["total"] == 0
    assert api.get("/api/v1/alert-plans?status=handled").get_json()["total"] == 0
    assert api.get("/api/v1/alert-plans?status=nope").status_code == 422
    assert hospital["engineer_api"].get("/api/v1/alert-plans").status_code == 200
    assert hospital["clinician_api"].get("/api/v1/alert-plans").status_code == 403
    assert hospital["outsider_api"].get("/api/v1/alert-plans").get_json()["total"] == 0


def test_vendor_people_get_403_from_the_plan_routes(hospital, factory, client):
    """预警计划 is not a vendor's menu: the list and a hospital plan's routes answer 403."""
    plan_id = create(hospital).get_json()["alert"]["id"]
    path = f"/api/v1/alert-plans/{plan_id}"
    for role in (Role.VENDOR_ENGINEER, Role.VENDOR_ADMIN):
        vendor_api = factory.api(client, factory.user(role, vendor=hospital["vendor"]))
        calls = [
            vendor_api.get("/api/v1/alert-plans"),
            vendor_api.put(path, json={"channels": ["inbox"]}),
        ]
        assert [call.status_code for call in calls] == [403, 403], role


def test_who_may_see_and_handle_a_plan(hospital):
    plan_id = create(hospital).get_json()["alert"]["id"]
    path = f"/api/v1/alert-plans/{plan_id}"
    assert hospital["outsider_api"].get(path).status_code == 404
    assert hospital["outsider_api"].post(f"{path}/handle", json={}).status_code == 404
    assert hospital["clinician_api"].get(path).status_code == 404  # not told about it
    assert hospital["clinician_api"].post(f"{path}/handle", json={}).status_code == 404
    engineer_view = hospital["engineer_api"].get(path).get_json()
    assert engineer_view["can_handle"] is False
    assert hospital["engineer_api"].post(f"{path}/handle", json={}).status_code == 403

    settings = {"channels": ["inbox"], "notify_related": True, "recipient_ids": [hospital["clinician"].id]}
    assert hospital["engineer_api"].put(path, json=settings).status_code == 403  # only the manager edits
    updated = hospital["api"].put(path, json=settings)
    assert updated.status_code == 200, updated.get_json()
    assert updated.get_json()["recipients"] == [{"id": hospital["clinician"].id, "display_name": "王医生"}]
    assert hospital["clinician_api"].get(path).get_json()["can_handle"] is True
    assert hospital["api"].put(path, json=settings | {"send_time": "10:00"}).status_code == 422

    with frozen(datetime(2026, 12, 6, 3, 0, tzinfo=UTC)):
        handled = hospital["clinician_api"].post(f"{path}/handle", json={"note": "已联系厂家"})
    assert handled.status_code == 200
    body = handled.get_json()
    assert body["status_label"] == "已处理" and body["handled_by"]["display_name"] == "王医生"
    assert body["handled_at"] == "2026-12-06T11:00:00+08:00" and body["next_send_at"] is None
    assert hospital["api"].post(f"{path}/handle", json={}).get_json()["error"]["message"] == "该预警已处理"


def test_an_expired_plan_can_still_be_handled(hospital, app):
    plan_id = create(hospital, valid_until="2025-01-31").get_json()["alert"]["id"]
    from jobs.alerts import sweep_alert_plans

    with app.app_context():
        assert sweep_alert_plans()["deliveries"] == 1  # the expiry notice, once
        assert sweep_alert_plans()["deliveries"] == 0
    plan = hospital["api"].get(f"/api/v1/alert-plans/{plan_id}").get_json()
    assert plan["status"] == "expired" and plan["can_handle"] is True
    assert hospital["api"].post(f"/api/v1/alert-plans/{plan_id}/handle", json={}).status_code == 200


def test_deleting_a_credential_withdraws_what_was_not_sent_and_keeps_the_inbox(hospital, app):
    from jobs.alerts import sweep_alert_plans
    from jobs.outbox import send_deliveries

    today = today_local()
    created = create(
        hospital,
        valid_until=today.isoformat(),
        send_time="00:00:00",
        alert={"channels": ["inbox", "sms"], "recipient_ids": [hospital["engineer"].id]},
    ).get_json()
    with app.app_context():
        sweep_alert_plans()
        inbox_ids = [d.id for d in db.session.scalars(select(Delivery).where(Delivery.channel == "inbox"))]
        send_deliveries(inbox_ids)  # the inbox ones went out; the SMS ones (no phones) were skipped
    deliveries = hospital["api"].get(f"/api/v1/alert-plans/{created['alert']['id']}/deliveries").get_json()
    assert deliveries["total"] == 4
    assert {(d["channel"], d["status"]) for d in deliveries["items"]} == {("inbox", "sent"), ("sms", "skipped")}
    assert {d["reason"] for d in deliveries["items"] if d["status"] == "skipped"} == {"未登记手机号"}

    assert hospital["api"].delete(f"/api/v1/credentials/{created['id']}").status_code == 204
    with app.app_context():
        assert count(AlertPlan) == 0
        assert count(InboxMessage) == 2
    inbox = hospital["engineer_api"].get("/api/v1/inbox").get_json()
    assert inbox["items"][0]["alert_plan_id"] is None and inbox["items"][0]["can_handle"] is False


def test_the_inbox_counts_and_marks_read(hospital, app):
    from jobs.alerts import sweep_alert_plans
    from jobs.outbox import send_deliveries

    today = today_local()
    for number in ("C1", "C2", "C3"):
        create(
            hospital,
            number=number,
            valid_until=today.isoformat(),
            send_time="00:00:00",
            alert={"channels": ["inbox"], "notify_related": False, "recipient_ids": [hospital["engineer"].id]},
        )
    with app.app_context():
        sweep_alert_plans()
        send_deliveries(list(db.session.scalars(select(Delivery.id))))
    engineer = hospital["engineer_api"]
    assert engineer.get("/api/v1/inbox/unread-count").get_json() == {"unread": 3}
    assert hospital["api"].get("/api/v1/inbox/unread-count").get_json() == {"unread": 0}
    listing = engineer.get("/api/v1/inbox?per_page=2").get_json()
    assert listing["total"] == 3 and len(listing["items"]) == 2 and listing["unread"] == 3
    first = listing["items"][0]
    assert first["title"] == "设备操作证即将到期" and first["body"].startswith("检眼镜已经快到设备操作证到期日了")
    assert first["read"] is False and first["can_handle"] is True

    read = engineer.post(f"/api/v1/inbox/{first['id']}/read")
    assert read.status_code == 200 and read.get_json()["read"] is True
    assert engineer.post(f"/api/v1/inbox/{first['id']}/read").status_code == 200  # again: no change
    assert hospital["api"].post(f"/api/v1/inbox/{first['id']}/read").status_code == 404  # not theirs
    assert engineer.get("/api/v1/inbox?unread=true").get_json()["total"] == 2
    assert engineer.post("/api/v1/inbox/read-all").get_json() == {"marked": 2, "unread": 0}
    assert engineer.get("/api/v1/inbox/unread-count").get_json() == {"unread": 0}
    assert engineer.get("/api/v1/inbox?page=9").status_code == 404


def test_a_new_expiry_date_keeps_the_days_already_sent_from_repeating(hospital, app):
    """Moving the send time on the day a reminder went out does not send that day again."""
    from jobs.alerts import sweep_alert_plans
    from jobs.runtime import make_worker

    with frozen(datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ)):
        created = create(hospital, valid_until="2026-12-10", send_time="08:00:00").get_json()
    moment = datetime(2026, 12, 7, 8, 0, tzinfo=LOCAL_TZ)
    with frozen(moment), app.app_context():
        assert sweep_alert_plans()["deliveries"] == 1
    with frozen(moment):
        make_worker(app, simple=True).work(burst=True)
    body = {"number": None, "device_ids": [hospital["device"].id], "valid_until": "2026-12-10", "send_time": "10:00"}
    with frozen(moment + timedelta(minutes=30)):
        updated = hospital["api"].put(f"/api/v1/credentials/{created['id']}", json=body).get_json()
    assert updated["alert"]["next_send_at"] == "2026-12-08T10:00:00+08:00"
    with frozen(datetime(2026, 12, 7, 10, 0, tzinfo=LOCAL_TZ)), app.app_context():
        assert sweep_alert_plans()["deliveries"] == 0
    assert date.fromisoformat(updated["alert"]["last_sent_on"]) == date(2026, 12, 7)
