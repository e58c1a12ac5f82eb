"""Planned orders (保养计划 / 计量计划) over /mp/v1: raised by the sweep, they show the system as
reporter ("系统（保养计划）"), their 来源, due date, checklist and 科室联系人; the summary message opens
the list of the orders its sweep raised; the contact does what a reporter does on the phone (待我确认,
退回返修, 确认 by their own signature, 评价) and nobody else on the hospital's side may; without a
contact, the equipment office stands in."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from jobs.service_plans import sweep_service_plans
from models import OutboxMessage, Role, Scope, User, WorkOrder, db
from operations.clock import to_local, today_local
from operations.service_plans.raising import SUMMARY_PAGE, SUMMARY_TOPIC
from tests.test_miniprogram_work import PNG, bound

CHECKLIST = ["外观清洁", "电源线检查", "功能测试"]
ALL_PASS = [{"result": "pass"}] * len(CHECKLIST)  # every item recorded, or the report is refused
COMPLETE = {"work_done": "按检查项保养", "test_result": "正常", "test_passed": True, "device_condition": "normal"}


@pytest.fixture
def ward(app, factory, client, wechat_sim):
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    other_vendor = factory.accepted_vendor(institution, "服务商测试2")
    today = today_local()
    devices = [factory.device(institution, name=f"高压注射器{n}", department="口腔科") for n in range(3)]
    for device in devices:
        factory.authorization(
            device, vendor, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=365), scopes=set(Scope)
        )
    departments = factory.departments(institution)
    users = {
        "manager": factory.manager(institution),
        "contact": factory.user(Role.CLINICIAN, institution=institution, display_name="王护士", phone="13800000002"),
        "colleague": factory.user(Role.CLINICIAN, institution=institution, display_name="李医生"),
        "engineer": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="孙工", wechat_openid="o-sun"),
        "stranger": factory.user(Role.VENDOR_ENGINEER, vendor=other_vendor, display_name="别家工程师"),
    }
    with app.app_context():
        for name in ("contact", "colleague"):
            db.session.get(User, users[name].id).department_id = departments["口腔科"]
        db.session.commit()
    manager_pc = factory.api(client, users["manager"])
    # The first two plans name 王护士 as 科室联系人; the third has none (the equipment office stands in).
    for index, device in enumerate(devices):
        body = {
            "interval_count": 1,
            "interval_unit": "month",
            "lead_days": 7,
            "first_due_on": (today + timedelta(days=3)).isoformat(),  # raised 4 days ago: due now
            "checklist": CHECKLIST,
        }
        if index < 2:
            body["contact_id"] = users["contact"].id
        created = manager_pc.post(f"/api/v1/devices/{device.id}/service-plans/maintenance", json=body)
        assert created.status_code == 201, created.get_json()
    with app.app_context():
        assert sweep_service_plans()["raised"] == 3
        orders = list(db.session.scalars(select(WorkOrder).order_by(WorkOrder.id)))
        ids = [order.id for order in orders]
        raised = to_local(orders[0].created_at)
        summary = db.session.scalar(select(OutboxMessage).where(OutboxMessage.topic == SUMMARY_TOPIC))
        summary_page = summary.payload["values"]["page"]
        db.session.remove()
    phones = {name: bound(app, client, wechat_sim, user, f"o-mp-{name}") for name, user in users.items()}
    return {
        "ids": ids,
        "raised": raised,
        "summary_page": summary_page,
        "mp": phones,
        "users": users,
        "due": today + timedelta(days=3),
    }


def test_planned_rows_and_detail_name_the_system_source_contact_and_checklist(ward):
    engineer = ward["mp"]["engineer"]
    queue = engineer.get("/work-orders/queue").get_json()["items"]
    assert sorted(row["id"] for row in queue) == ward["ids"]
    for row in queue:
        assert row["reporter"] == "系统（保养计划）" and row["reporter_id"] is None
        assert row["source_label"] == "保养计划" and row["plan_due_on"] == ward["due"].isoformat()
    detail = engineer.get(f"/work-orders/{ward['ids'][0]}").get_json()
    assert detail["reporter"] is None and detail["reporter_label"] == "系统（保养计划）"
    assert detail["source_label"] == "保养计划" and detail["plan_due_on"] == ward["due"].isoformat()
    assert detail["contact"]["name"] == "王护士" and detail["contact_name"] == "王护士"
    assert [item["label"] for item in detail["checklist"]] == CHECKLIST
    assert detail["expected_by"].startswith(f"{ward['due'].isoformat()}T23:59:59")
    assert detail["requester"] is False and "accept" in detail["actions"]
    # the office's stand-in order: its contact name is the manager's, nobody is named as contact
    third = engineer.get(f"/work-orders/{ward['ids'][2]}").get_json()
    assert third["contact"] is None and third["contact_name"] == "张三"
    # a reported order keeps its reporter
    reported = ward["mp"]["colleague"].get("/work-orders?mine=reported").get_json()
    assert reported["items"] == []


def test_the_summary_opens_the_orders_its_sweep_raised(ward):
    raised = f"{ward['raised']:%Y%m%d%H%M}"
    assert ward["summary_page"] == f"{SUMMARY_PAGE}?kind=maintenance&raised={raised}"
    engineer, stranger = ward["mp"]["engineer"], ward["mp"]["stranger"]
    listed = engineer.get(f"/work-orders/planned?kind=maintenance&raised={raised}")
    assert listed.status_code == 200, listed.get_json()
    assert [row["id"] for row in listed.get_json()["items"]] == ward["ids"]
    # another minute, another kind, or another vendor's engineer: none of them
    later = f"{ward['raised'] + timedelta(minutes=1):%Y%m%d%H%M}"
    assert engineer.get(f"/work-orders/planned?kind=maintenance&raised={later}").get_json()["items"] == []
    assert engineer.get(f"/work-orders/planned?kind=metrology&raised={raised}").get_json()["items"] == []
    assert stranger.get(f"/work-orders/planned?kind=maintenance&raised={raised}").get_json()["items"] == []
    for query, field in (
        ("kind=repair&raised=" + raised, "kind"),
        ("kind=maintenance&raised=20261340", "raised"),
        ("kind=maintenance&raised=202613010800", "raised"),
        ("kind=maintenance", "raised"),
    ):
        refused = engineer.get(f"/work-orders/planned?{query}")
        assert refused.status_code == 422, query
        assert field in refused.get_json()["error"]["fields"], query


def complete(ward, order_id: int) -> None:
    engineer = ward["mp"]["engineer"]
    assert engineer.post(f"/work-orders/{order_id}/accept").status_code == 200
    assert engineer.post(f"/work-orders/{order_id}/arrive", json={"reason": "设备无二维码"}).status_code == 200
    done = engineer.post(f"/work-orders/{order_id}/complete", json=COMPLETE | {"checklist": ALL_PASS})
    assert done.status_code == 200, done.get_json()


def sign(phone, order_id: int, name: str):
    return phone.post(
        f"/work-orders/{order_id}/sign-offs",
        data={"signer_name": name, "file": (io.BytesIO(PNG), "signature.png")},
        content_type="multipart/form-data",
    )


def test_the_contact_confirms_rejects_signs_and_rates_as_a_reporter_would(ward):
    contact, colleague = ward["mp"]["contact"], ward["mp"]["colleague"]
    order_id = ward["ids"][0]
    mine = contact.get("/work-orders?mine=reported&open=true").get_json()["items"]
    assert sorted(row["id"] for row in mine) == ward["ids"][:2]
    assert contact.get("/work-orders/to-confirm").get_json()["items"] == []
    opened = contact.get(f"/work-orders/{order_id}").get_json()
    assert opened["requester"] is True and "cancel" in opened["actions"]

    complete(ward, order_id)
    waiting = contact.get("/work-orders/to-confirm").get_json()["items"]
    assert [row["id"] for row in waiting] == [order_id] and waiting[0]["reporter"] == "系统（保养计划）"
    detail = contact.get(f"/work-orders/{order_id}").get_json()
    assert {"confirm", "reject", "sign_off"} <= set(detail["actions"])
    # a colleague of the department sees the order, and may not act for the contact
    seen = colleague.get(f"/work-orders/{order_id}").get_json()
    assert seen["requester"] is False and not {"confirm", "reject", "sign_off"} & set(seen["actions"])
    assert colleague.post(f"/work-orders/{order_id}/confirm", json={}).status_code == 403
    assert sign(colleague, order_id, "李医生").status_code == 403
    assert colleague.get("/work-orders/to-confirm").get_json()["items"] == []

    rejected = contact.post(f"/work-orders/{order_id}/reject", json={"reason": "功能测试未做"})
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rework"
    engineer = ward["mp"]["engineer"]
    assert engineer.post(f"/work-orders/{order_id}/arrive", json={"reason": "设备无二维码"}).status_code == 200
    done = engineer.post(f"/work-orders/{order_id}/complete", json=COMPLETE | {"checklist": ALL_PASS})
    assert done.status_code == 200, done.get_json()
    signed = sign(contact, order_id, "王护士")
    assert signed.status_code == 201, signed.get_json()
    assert signed.get_json()["confirms"] is True and signed.get_json()["place_label"] == "报修人手机"
    confirmed = contact.get(f"/work-orders/{order_id}").get_json()
    assert confirmed["status"] == "confirmed" and "rate" in confirmed["actions"]
    rated = contact.post(f"/work-orders/{order_id}/rate", json={"rating": 5, "response": 5, "skill": 4, "attitude": 5})
    assert rated.status_code == 200 and rated.get_json()["rating"] == 5
    assert contact.get("/work-orders/to-confirm").get_json()["items"] == []
    # the timeline names the system for the step nobody took
    assert confirmed["timeline"][0]["actor"] == "系统"


def test_without_a_contact_the_equipment_office_stands_in(ward):
    manager, contact = ward["mp"]["manager"], ward["mp"]["contact"]
    order_id = ward["ids"][2]
    complete(ward, order_id)
    assert [row["id"] for row in manager.get("/work-orders/to-confirm").get_json()["items"]] == [order_id]
    assert contact.get("/work-orders/to-confirm").get_json()["items"] == []
    assert contact.post(f"/work-orders/{order_id}/confirm", json={}).status_code == 403
    detail = manager.get(f"/work-orders/{order_id}").get_json()
    assert detail["requester"] is True and "confirm" in detail["actions"]
    confirmed = manager.post(f"/work-orders/{order_id}/confirm", json={})
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed"
