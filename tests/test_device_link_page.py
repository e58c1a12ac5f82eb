"""The device page a sticker opens in a phone's browser (/d/<token>) at the HTTP level: what the
signed-in person may do with the device (GET /api/v1/device-links/<token>/orders: its open orders
they may see, whether they may report), refused with a clear reason to another hospital's people;
and the PC's 报修 under an Idempotency-Key, so a phone resending after a lost answer raises one
order. The page itself is driven in Chromium (tests/browser/test_device_link_mobile.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import ArchiveStatus, Role, Scope, WorkOrder, db
from operations.clock import today_local

CONTACTS = [{"kind": "mobile", "value": "13800000003"}, {"kind": "landline", "value": "8021"}]


@pytest.fixture
def world(factory, client):
    institution = factory.institution("第一人民医院")
    vendor = factory.accepted_vendor(institution, "迈瑞售后")
    device = factory.device(institution, name="高压注射器", department="CT室")
    today = today_local()
    factory.authorization(
        device, vendor, starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=90), scopes={Scope.REPAIR}
    )
    other = factory.institution("第二人民医院")
    return {
        "device": device,
        "clinician": factory.api(client, factory.user(Role.CLINICIAN, institution=institution, phone="13800000003")),
        "manager": factory.api(client, factory.manager(institution)),
        "engineer": factory.api(client, factory.user(Role.VENDOR_ENGINEER, vendor=vendor)),
        "stranger": factory.api(client, factory.manager(other)),
        "other_device": factory.device(other, name="监护仪"),
    }


def report(api, token: str, key: str | None = None, **fields):
    headers = {"Idempotency-Key": key} if key else {}
    body = {"device_token": token, "contact_name": "王医生", "contact_methods": CONTACTS, "fault_description": "报错"}
    return api.post("/api/v1/work-orders", json=body | fields, headers=headers)


def test_a_person_of_the_devices_hospital_sees_its_open_orders_and_may_report(world):
    token = world["device"].link_token
    empty = world["clinician"].get(f"/api/v1/device-links/{token}/orders")
    assert empty.status_code == 200
    assert empty.get_json() == {"device_id": world["device"].id, "open_orders": [], "can_report": True, "notice": None}
    created = report(world["clinician"], token)
    assert created.status_code == 201, created.get_json()
    listed = world["clinician"].get(f"/api/v1/device-links/{token}/orders").get_json()
    assert [(row["id"], row["status"]) for row in listed["open_orders"]] == [(created.get_json()["id"], "pending")]
    assert world["manager"].get(f"/api/v1/device-links/{token}/orders").get_json()["can_report"] is True


def test_another_hospitals_person_is_told_why_and_offered_nothing(world):
    refused = world["stranger"].get(f"/api/v1/device-links/{world['device'].link_token}/orders")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"] == "该设备属于第一人民医院，您的账号不能查看它的工单，也不能为它报修"
    # and a report naming the sticker's token is no device of theirs
    assert report(world["stranger"], world["device"].link_token).status_code == 404


def test_a_vendors_engineer_may_look_but_not_report(world):
    answer = world["engineer"].get(f"/api/v1/device-links/{world['device'].link_token}/orders").get_json()
    assert answer["can_report"] is False
    assert answer["notice"] == "服务商账号不能报修；可查看本设备您有权查看的未完成工单"


def test_a_scrapped_device_takes_no_report(app, world):
    with app.app_context():
        db.session.get(type(world["device"]), world["device"].id).archive_status = ArchiveStatus.SCRAPPED
        db.session.commit()
    answer = world["clinician"].get(f"/api/v1/device-links/{world['device'].link_token}/orders").get_json()
    assert answer["can_report"] is False and answer["notice"] == "设备已报废，不能报修"


def test_signed_out_the_page_gets_the_public_card_only(client, world):
    token = world["device"].link_token
    assert client.get(f"/api/v1/device-links/{token}").status_code == 200
    signed_out = client.get(f"/api/v1/device-links/{token}/orders")
    assert signed_out.status_code == 401 and signed_out.get_json()["error"]["message"] == "请先登录"
    assert world["clinician"].get("/api/v1/device-links/no-such-token/orders").status_code == 404


def orders_of(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WorkOrder))


def test_a_report_sent_again_under_its_key_answers_the_same_order(app, world):
    token = world["device"].link_token
    first = report(world["clinician"], token, key="draft-0001-abcdef")
    assert first.status_code == 201, first.get_json()
    again = report(world["clinician"], token, key="draft-0001-abcdef", fault_description="另一段文字")
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["fault_description"] == "报错"  # the first one's, nothing written again
    assert orders_of(app) == 1
    # another person's same key is their own report
    assert report(world["manager"], token, key="draft-0001-abcdef").status_code == 201
    assert report(world["clinician"], token).status_code == 201  # no key: every send is a new one
    assert orders_of(app) == 3
    bad = report(world["clinician"], token, key="short")
    assert bad.status_code == 422 and "请求标识" in bad.get_json()["error"]["fields"]["Idempotency-Key"]
    assert orders_of(app) == 3


def test_the_pc_document_names_the_key_and_the_repeat(client):
    create = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/work-orders"]["post"]
    header = next(parameter for parameter in create["parameters"] if parameter["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["required"] is False
    assert create["responses"]["200"]["content"] == create["responses"]["201"]["content"]
