"""The equipment manager (设备科) in the mini-program, at the HTTP level: 回访 of a poorly rated order
(only the manager of its hospital, only while it waits for 回访, a note required), the lists the
manager's pages read (待回访, 紧急待接单, alerts by phase: 预警中 and 到期未处理), and 已处理 with
a note."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Role, Scope, WorkOrder, db
from operations.clock import today_local
from tests.test_miniprogram_work import CONTACTS, bound

COMPLETION = {"work_done": "更换传感器", "test_result": "推注正常", "test_passed": True, "device_condition": "normal"}


@pytest.fixture
def office(app, factory, client, wechat_sim):
    """A hospital with a device its vendor repairs; the manager, a clinician and the vendor's
    engineer on their phones, and another hospital's manager."""
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    device = factory.device(institution, name="高压注射器", department="口腔科")
    today = today_local()
    factory.authorization(
        device, vendor, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=365), scopes={Scope.REPAIR}
    )
    other = factory.institution("医疗机构测试2")
    users = {
        "manager": factory.manager(institution),
        "clinician": factory.user(Role.CLINICIAN, institution=institution, display_name="王医生"),
        "engineer": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="孙工"),
        "other_manager": factory.user(Role.EQUIPMENT_MANAGER, institution=other, display_name="外院"),
    }
    phones = {name: bound(app, client, wechat_sim, user, f"o-{name}") for name, user in users.items()}
    return {"device": device, "users": users, "mp": phones, "pc": factory.api(client, users["manager"])}


def report(office, urgency: str = "urgent") -> int:
    created = office["mp"]["clinician"].post(
        "/work-orders",
        json={
            "device_id": office["device"].id,
            "urgency": urgency,
            "contact_name": "王医生",
            "contact_methods": CONTACTS,
            "fault_description": "注射压力报警",
        },
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def rated(office, rating: int) -> int:
    """An order worked to the end and rated `rating` by its reporter, on the phones."""
    order_id = report(office)
    mp = office["mp"]
    for who, step, body in (
        ("engineer", "accept", None),
        ("engineer", "arrive", {"reason": "二维码被遮挡"}),
        ("engineer", "diagnose", {"diagnosis": "压力传感器故障"}),
        ("engineer", "complete", COMPLETION),
        ("clinician", "confirm", {}),
        ("clinician", "rate", {"rating": rating, "comment": "等了两天"}),
    ):
        response = mp[who].post(f"/work-orders/{order_id}/{step}", json=body)
        assert response.status_code == 200, (step, response.get_json())
    return order_id


# --- 回访 ----------------------------------------------------------------------------------------


def test_the_manager_follows_up_a_poorly_rated_order(app, office):
    mp = office["mp"]
    order_id = rated(office, 1)
    rated(office, 5)  # a good rating closes by itself: never waits for 回访

    waiting = mp["manager"].get("/work-orders?status=follow_up")
    assert waiting.status_code == 200, waiting.get_json()
    assert [row["id"] for row in waiting.get_json()["items"]] == [order_id]
    assert waiting.get_json()["items"][0]["status_label"] == "待回访"
    shown = mp["manager"].get(f"/work-orders/{order_id}").get_json()
    assert "follow_up" in shown["actions"] and shown["rating"] == 1
    assert "follow_up" not in mp["clinician"].get(f"/work-orders/{order_id}").get_json()["actions"]

    done = mp["manager"].post(
        f"/work-orders/{order_id}/follow-up",
        json={"note": "已电话回访，王医生反映等待过久", "improvement_action": "紧急报修 30 分钟内响应"},
    )
    assert done.status_code == 200, done.get_json()
    order = done.get_json()
    assert order["status"] == "closed" and order["status_label"] == "已归档"
    assert order["follow_up_note"] == "已电话回访，王医生反映等待过久"
    assert order["improvement_action"] == "紧急报修 30 分钟内响应"
    assert order["timeline"][-1]["kind"] == "followed_up" and order["timeline"][-1]["actor"] == "张三"
    assert "follow_up" not in order["actions"]
    assert mp["manager"].get("/work-orders?status=follow_up").get_json()["items"] == []
    # the PC sees the same record; archived, both orders are now the device's 维修 records
    assert office["pc"].get(f"/api/v1/work-orders/{order_id}").get_json()["follow_up_note"].startswith("已电话回访")
    assert len(mp["manager"].get(f"/devices/{office['device'].id}/records/repair").get_json()["items"]) == 2

    again = mp["manager"].post(f"/work-orders/{order_id}/follow-up", json={"note": "再次回访"})
    assert again.status_code == 409
    assert again.get_json()["error"]["message"] == "工单当前状态为「已归档」，不能回访"


def test_only_the_hospitals_manager_follows_up_with_a_note(app, office):
    mp = office["mp"]
    order_id = rated(office, 2)
    for who in ("clinician", "engineer"):
        refused = mp[who].post(f"/work-orders/{order_id}/follow-up", json={"note": "我来回访"})
        assert refused.status_code == 403, (who, refused.get_json())
        assert refused.get_json()["error"]["message"] == "仅设备科管理员可以回访"
    stranger = mp["other_manager"].post(f"/work-orders/{order_id}/follow-up", json={"note": "外院回访"})
    assert stranger.status_code == 404 and stranger.get_json()["error"]["message"] == "工单不存在"
    for body in ({}, {"note": ""}, {"note": "   "}, {"improvement_action": "加强培训"}):
        empty = mp["manager"].post(f"/work-orders/{order_id}/follow-up", json=body)
        assert empty.status_code == 422, (body, empty.get_json())
        assert empty.get_json()["error"]["fields"]["note"] == "必填"
    too_long = mp["manager"].post(f"/work-orders/{order_id}/follow-up", json={"note": "回" * 1001})
    assert too_long.status_code == 422 and "1000" in too_long.get_json()["error"]["fields"]["note"]
    wrong_type = mp["manager"].post(
        f"/work-orders/{order_id}/follow-up", json={"note": "已回访", "improvement_action": 3}
    )
    assert (
        wrong_type.status_code == 422 and wrong_type.get_json()["error"]["fields"]["improvement_action"] == "应为文本"
    )
    with app.app_context():
        order = db.session.get(WorkOrder, order_id)
        assert order.status.value == "follow_up" and order.follow_up_note is None


def test_follow_up_waits_for_a_poor_rating(app, office):
    mp = office["mp"]
    order_id = report(office)
    early = mp["manager"].post(f"/work-orders/{order_id}/follow-up", json={"note": "提前回访"})
    assert early.status_code == 409
    assert early.get_json()["error"]["message"] == "工单当前状态为「待接单」，不能回访"
    assert "follow_up" not in mp["manager"].get(f"/work-orders/{order_id}").get_json()["actions"]


# --- 紧急待接单 ----------------------------------------------------------------------------------


def test_emergencies_waiting_are_the_pending_orders_by_urgency(app, office):
    mp = office["mp"]
    downtime, urgent, normal = report(office, "downtime"), report(office, "urgent"), report(office, "normal")

    def waiting(urgency: str) -> list[int]:
        response = mp["manager"].get(f"/work-orders?status=pending&urgency={urgency}")
        assert response.status_code == 200, response.get_json()
        return [row["id"] for row in response.get_json()["items"]]

    assert waiting("downtime") == [downtime] and waiting("urgent") == [urgent] and waiting("normal") == [normal]
    assert mp["engineer"].post(f"/work-orders/{downtime}/accept").status_code == 200
    assert waiting("downtime") == []
    bad = mp["manager"].get("/work-orders?status=pending&urgency=soon")
    assert bad.status_code == 422 and "urgency" in bad.get_json()["error"]["fields"]


# --- 预警 by phase, 已处理 with a note ------------------------------------------------------------


def credential_plan(office, valid_until) -> int:
    created = office["pc"].post(
        "/api/v1/credentials",
        json={
            "kind": "operation_certificate",
            "device_ids": [office["device"].id],
            "valid_until": valid_until.isoformat(),
            "send_time": "00:00:00",
        },
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()["alert"]["id"]


def test_alerts_by_phase_and_handled_with_a_note(app, office):
    from jobs.alerts import sweep_alert_plans

    today = today_local()
    warning = credential_plan(office, today + timedelta(days=3))
    overdue = credential_plan(office, today - timedelta(days=1))
    later = credential_plan(office, today + timedelta(days=300))  # its window has not begun
    with app.app_context():
        sweep_alert_plans()  # the expiry notice of the overdue one goes: its plan has nothing more to send
    mp = office["mp"]["manager"]

    def listed(query: str) -> list[dict]:
        response = mp.get(f"/alerts{query}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    in_warning = listed("?phase=warning")
    assert [plan["id"] for plan in in_warning] == [warning]
    assert in_warning[0]["phase_label"] == "预警中" and in_warning[0]["subject_name"] == "高压注射器"
    past_due = listed("?phase=overdue")
    assert [plan["id"] for plan in past_due] == [overdue]
    assert past_due[0]["status"] == "expired" and past_due[0]["phase_label"] == "到期未处理"
    assert past_due[0]["can_handle"] is True
    assert [plan["id"] for plan in listed("?phase=waiting")] == [later]
    assert [plan["id"] for plan in listed("")] == [warning, later]  # a bare list: the plans still reminding
    bad = mp.get("/alerts?phase=soon")
    assert bad.status_code == 422 and "phase" in bad.get_json()["error"]["fields"]

    handled = mp.post(f"/alerts/{overdue}/handle", json={"note": "已送检，新证下月到"})
    assert handled.status_code == 200, handled.get_json()
    assert handled.get_json()["phase_label"] == "已处理" and handled.get_json()["handled_note"] == "已送检，新证下月到"
    assert handled.get_json()["handled_by"]["display_name"] == "张三" and handled.get_json()["can_handle"] is False
    assert listed("?phase=overdue") == []
    assert [plan["id"] for plan in listed("?phase=handled")] == [overdue]
    assert office["mp"]["clinician"].get("/alerts?phase=warning").status_code == 403
