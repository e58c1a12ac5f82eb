"""The mini-program's work at the HTTP level: scanning a device (by the QR's URL and by 唯一码,
for whom it is visible), a clinician reporting and following an order, the engineer working it,
confirm and rate, device records within scope, a manager handling an alert, the inbox, and the
OpenAPI document covering every rule."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest

from models import Role, Scope, db
from operations.clock import LOCAL_TZ, today_local
from tests.test_miniprogram_session import MiniProgram, bind_code_for, sign_in

CONTACTS = [{"kind": "mobile", "value": "13800000001"}, {"kind": "landline", "value": "8021"}]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def bound(app, client, wechat_sim, user, openid: str) -> MiniProgram:
    phone = sign_in(client, wechat_sim, openid)
    response = phone.post("/bind", json={"bind_code": bind_code_for(app, user)})
    assert response.status_code == 200, response.get_json()
    return phone


@pytest.fixture
def world(app, factory, client, wechat_sim):
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    device = factory.device(institution, name="高压注射器", department="口腔科", model="XZ-100")
    today = today_local()
    factory.authorization(
        device, vendor, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=365), scopes={Scope.REPAIR}
    )
    other_vendor = factory.accepted_vendor(institution, "服务商测试2")
    other_institution = factory.institution("医疗机构测试2")
    foreign = factory.device(other_institution, name="监护仪")
    users = {
        "manager": factory.manager(institution),
        "clinician": factory.user(Role.CLINICIAN, institution=institution, display_name="王医生"),
        "engineer": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="孙工", phone="13900000001"),
        "stranger": factory.user(Role.VENDOR_ENGINEER, vendor=other_vendor, display_name="别家工程师"),
        "foreigner": factory.user(Role.CLINICIAN, institution=other_institution, display_name="外院医生"),
    }
    phones = {name: bound(app, client, wechat_sim, user, f"o-{name}") for name, user in users.items()}
    return {"device": device, "foreign": foreign, "users": users, "mp": phones, "institution": institution}


def link_of(app, device) -> str:
    return f"{app.config['PUBLIC_BASE_URL']}/d/{device.link_token}"


# --- scan --------------------------------------------------------------------------------------


def test_scan_by_link_and_by_unique_code(app, world):
    device, mp = world["device"], world["mp"]
    by_link = mp["clinician"].get(f"/scan?q={quote(link_of(app, device), safe='')}")
    assert by_link.status_code == 200, by_link.get_json()
    card = by_link.get_json()
    assert card["id"] == device.id and card["name"] == "高压注射器" and card["model"] == "XZ-100"
    assert card["unique_code"] == device.unique_code and card["department"] == "口腔科"
    assert card["archive_status_label"] and card["open_orders"] == [] and card["can_report"] is True
    # double-encoded, as the mini-program's onLoad hands `q` on
    twice = quote(quote(link_of(app, device), safe=""), safe="")
    assert mp["clinician"].get(f"/scan?q={twice}").get_json()["id"] == device.id
    by_code = mp["clinician"].get(f"/scan?q={device.unique_code}")
    assert by_code.status_code == 200 and by_code.get_json()["id"] == device.id


def test_scan_is_refused_to_whoever_may_not_see_the_device(app, world):
    device, mp = world["device"], world["mp"]
    q = quote(link_of(app, device), safe="")
    for who in ("foreigner", "stranger"):
        response = mp[who].get(f"/scan?q={q}")
        assert response.status_code == 404, who
        assert response.get_json()["error"]["message"] == "设备不存在"
    # the same 唯一码 in another hospital is that hospital's own device, never ours
    assert mp["foreigner"].get(f"/scan?q={device.unique_code}").get_json()["id"] == world["foreign"].id
    authorized = mp["engineer"].get(f"/scan?q={q}")
    assert authorized.status_code == 200 and authorized.get_json()["can_report"] is False
    assert authorized.get_json()["scopes"] == ["repair"] and authorized.get_json()["device_token"] is None
    assert mp["engineer"].get(f"/scan?q={device.unique_code}").status_code == 200


def test_scan_input_is_checked(app, world):
    mp = world["mp"]["clinician"]
    assert mp.get("/scan").status_code == 422
    foreign_link = quote("https://evil.example/d/abc", safe="")
    response = mp.get(f"/scan?q={foreign_link}")
    assert response.status_code == 422 and response.get_json()["error"]["fields"]["q"] == "不是本平台的设备二维码"
    assert mp.get("/scan?q=" + quote("<script>", safe="")).status_code == 422


# --- the work order ----------------------------------------------------------------------------


def report(app, world, **fields):
    body = {
        "device_token": world["device"].link_token,
        "kind": "repair",
        "urgency": "urgent",
        "contact_name": "王医生",
        "contact_methods": CONTACTS,
        "fault_description": "注射压力报警，无法推注",
        **fields,
    }
    return world["mp"]["clinician"].post("/work-orders", json=body)


def test_report_follow_accept_work_confirm_and_rate(app, world):
    mp = world["mp"]
    created = report(app, world)
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    assert order["status"] == "pending" and order["vendor"] == "服务商测试1"
    assert "cancel" in order["actions"] and order["timeline"][0]["kind"] == "created"
    order_id = order["id"]

    mine = mp["clinician"].get("/work-orders?mine=reported").get_json()
    assert [row["id"] for row in mine["items"]] == [order_id] and mine["total"] == 1
    scanned = mp["clinician"].get(f"/scan?q={world['device'].unique_code}").get_json()
    assert [row["id"] for row in scanned["open_orders"]] == [order_id]

    # the engineer: queue, then the steps
    queue = mp["engineer"].get("/work-orders/queue").get_json()["items"]
    assert [row["id"] for row in queue] == [order_id]
    assert mp["stranger"].get("/work-orders/queue").get_json()["items"] == []
    assert mp["stranger"].post(f"/work-orders/{order_id}/accept").status_code == 404
    accepted = mp["engineer"].post(f"/work-orders/{order_id}/accept")
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "accepted" and "depart" in accepted.get_json()["actions"]
    assert mp["engineer"].post(f"/work-orders/{order_id}/accept").status_code == 409
    assert mp["engineer"].post(f"/work-orders/{order_id}/depart", json={"note": "10 分钟到"}).status_code == 200
    arrived = mp["engineer"].post(f"/work-orders/{order_id}/arrive", json={"q": link_of(app, world["device"])})
    assert arrived.status_code == 200, arrived.get_json()
    diagnosed = mp["engineer"].post(f"/work-orders/{order_id}/diagnose", json={"diagnosis": "压力传感器故障"})
    assert diagnosed.status_code == 200, diagnosed.get_json()
    part = mp["engineer"].post(
        f"/work-orders/{order_id}/parts", json={"name": "压力传感器", "model": "PS-2", "serial_number": "SN001"}
    )
    assert part.status_code == 201, part.get_json()
    bad = mp["engineer"].post(f"/work-orders/{order_id}/complete", json={"work_done": "更换传感器"})
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) >= {"test_result", "test_passed"}
    completed = mp["engineer"].post(
        f"/work-orders/{order_id}/complete",
        json={"work_done": "更换传感器", "test_result": "推注正常", "test_passed": True, "device_condition": "normal"},
    )
    assert completed.status_code == 200, completed.get_json()

    # the clinician follows, confirms and rates
    detail = mp["clinician"].get(f"/work-orders/{order_id}").get_json()
    kinds = [event["kind"] for event in detail["timeline"]]
    assert kinds[0] == "created" and "accepted" in kinds and kinds[-1] == "completed"
    assert detail["parts"][0]["serial_number"] == "SN001"
    assert {"confirm", "reject"} <= set(detail["actions"])
    assert mp["engineer"].post(f"/work-orders/{order_id}/confirm").status_code in (403, 404)
    confirmed = mp["clinician"].post(f"/work-orders/{order_id}/confirm")
    assert confirmed.status_code == 200 and "rate" in confirmed.get_json()["actions"]
    assert mp["clinician"].post(f"/work-orders/{order_id}/rate", json={"rating": 6}).status_code == 422
    rated = mp["clinician"].post(f"/work-orders/{order_id}/rate", json={"rating": 5, "comment": "很及时"})
    assert rated.status_code == 200, rated.get_json()
    assert rated.get_json()["rating"] == 5
    assert mp["foreigner"].get(f"/work-orders/{order_id}").status_code == 404


def test_depart_with_an_eta_in_one_request(app, world):
    """The engineer leaves and says when they will be there: one request; a bad time refuses both."""
    mp = world["mp"]
    order_id = report(app, world).get_json()["id"]
    eta = (datetime.now(LOCAL_TZ) + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    refused = mp["engineer"].post(f"/work-orders/{order_id}/depart", json={"eta": eta})
    assert refused.status_code == 403, refused.get_json()  # not theirs until accepted
    assert mp["engineer"].post(f"/work-orders/{order_id}/accept").status_code == 200
    past = (datetime.now(LOCAL_TZ) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    bad = mp["engineer"].post(f"/work-orders/{order_id}/depart", json={"eta": past, "note": "马上到"})
    assert bad.status_code == 422 and "预计到场时间" in bad.get_json()["error"]["fields"]["eta"]
    shown = mp["clinician"].get(f"/work-orders/{order_id}").get_json()
    assert shown["status"] == "accepted" and shown["eta"] is None

    departed = mp["engineer"].post(f"/work-orders/{order_id}/depart", json={"eta": eta, "note": "马上到"})
    assert departed.status_code == 200, departed.get_json()
    shown = mp["clinician"].get(f"/work-orders/{order_id}").get_json()
    assert shown["status"] == "departed" and shown["eta"] == f"{eta}:00+08:00"
    assert [event["kind"] for event in shown["timeline"]][-2:] == ["accepted", "departed"]
    document = mp["engineer"].get("/openapi.json").get_json()
    depart = document["paths"]["/mp/v1/work-orders/{work_order_id}/depart"]["post"]["requestBody"]
    assert "eta" in depart["content"]["application/json"]["schema"]["properties"]


def test_reject_sends_it_back(app, world):
    mp = world["mp"]
    order_id = report(app, world).get_json()["id"]
    for step, body in (
        ("accept", None),
        ("arrive", {"reason": "二维码被遮挡"}),
        ("diagnose", {"diagnosis": "电源故障"}),
        ("complete", {"work_done": "换电源", "test_result": "正常", "test_passed": True, "device_condition": "normal"}),
    ):
        response = mp["engineer"].post(f"/work-orders/{order_id}/{step}", json=body)
        assert response.status_code == 200, (step, response.get_json())
    assert mp["clinician"].post(f"/work-orders/{order_id}/reject", json={}).status_code == 422
    rejected = mp["clinician"].post(f"/work-orders/{order_id}/reject", json={"reason": "仍然报警"})
    assert rejected.status_code == 200 and rejected.get_json()["status"] != "completed"


def test_report_with_photos_by_multipart(app, world):
    import json

    body = {
        "device_token": world["device"].link_token,
        "contact_name": "王医生",
        "contact_methods": CONTACTS,
        "fault_description": "屏幕不亮",
    }
    response = world["mp"]["clinician"].post(
        "/work-orders",
        data={"data": json.dumps(body), "photos": [(io.BytesIO(PNG), "a.png", "image/png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()["photos"][0]
    assert photo["url"].startswith("/mp/v1/work-orders/")
    image = world["mp"]["clinician"].get(photo["url"].removeprefix("/mp/v1"))
    assert image.status_code == 200 and image.data == PNG


def test_bad_reports_change_nothing(app, world):
    from models import WorkOrder

    mp = world["mp"]
    assert report(app, world, urgency="whenever").status_code == 422
    assert report(app, world, contact_methods=CONTACTS[:1]).status_code == 422
    both = report(app, world, unique_code=world["device"].unique_code)
    assert both.status_code == 422
    foreign = report(app, world, device_token=world["foreign"].link_token)
    assert foreign.status_code == 404
    engineer = mp["engineer"].post("/work-orders", json={"device_token": world["device"].link_token})
    assert engineer.status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(WorkOrder)) == 0


def test_device_records_within_the_authorizations_scope(app, world, factory, client):
    device, mp = world["device"], world["mp"]
    manager_api = factory.api(client, world["users"]["manager"])
    added = manager_api.post(
        f"/api/v1/devices/{device.id}/records/repair", json={"performed_on": "2025-01-02", "summary": "更换电池"}
    )
    assert added.status_code == 201, added.get_json()
    repairs = mp["engineer"].get(f"/devices/{device.id}/records/repair")
    assert repairs.status_code == 200 and [r["summary"] for r in repairs.get_json()["items"]] == ["更换电池"]
    assert mp["engineer"].get(f"/devices/{device.id}/records/metrology").status_code == 403
    assert mp["stranger"].get(f"/devices/{device.id}/records/repair").status_code == 404
    assert mp["clinician"].get(f"/devices/{device.id}/records/repair").status_code == 200


# --- the manager -------------------------------------------------------------------------------


def test_manager_reads_the_reminder_and_handles_the_alert_from_the_phone(app, world, factory, client):
    from jobs.alerts import sweep_alert_plans
    from jobs.outbox import send_deliveries
    from models import Delivery

    manager_api = factory.api(client, world["users"]["manager"])
    created = manager_api.post(
        "/api/v1/credentials",
        json={
            "kind": "operation_certificate",
            "device_ids": [world["device"].id],
            "valid_until": today_local().isoformat(),
            "send_time": "00:00:00",
        },
    )
    assert created.status_code == 201, created.get_json()
    plan_id = created.get_json()["alert"]["id"]
    with app.app_context():
        sweep_alert_plans()
        send_deliveries(list(db.session.scalars(db.select(Delivery.id).where(Delivery.channel == "inbox"))))
    mp = world["mp"]

    listed = mp["manager"].get("/inbox").get_json()
    assert listed["unread"] == 1 and listed["items"][0]["alert_plan_id"] == plan_id
    assert listed["items"][0]["can_handle"] is True
    message_id = listed["items"][0]["id"]
    assert mp["clinician"].post(f"/inbox/{message_id}/read").status_code == 404
    read = mp["manager"].post(f"/inbox/{message_id}/read")
    assert read.status_code == 200 and read.get_json()["read"] is True
    assert mp["manager"].get("/inbox?unread=true").get_json()["items"] == []

    alerts = mp["manager"].get("/alerts")
    assert alerts.status_code == 200, alerts.get_json()
    assert [plan["id"] for plan in alerts.get_json()["items"]] == [plan_id]
    assert alerts.get_json()["items"][0]["can_handle"] is True
    assert mp["manager"].get(f"/alerts/{plan_id}").get_json()["id"] == plan_id
    assert mp["clinician"].get("/alerts").status_code == 403
    assert mp["foreigner"].post(f"/alerts/{plan_id}/handle").status_code == 404
    assert mp["manager"].post(f"/alerts/{plan_id}/handle", json={"note": 5}).status_code == 422
    handled = mp["manager"].post(f"/alerts/{plan_id}/handle", json={"note": "已送检"})
    assert handled.status_code == 200, handled.get_json()
    assert handled.get_json()["status"] == "handled"
    assert mp["manager"].get("/alerts").get_json()["items"] == []
    assert mp["manager"].get("/alerts?status=handled").get_json()["total"] == 1
    assert mp["manager"].post(f"/alerts/{plan_id}/handle").status_code == 409


# --- the OpenAPI document ----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/mp/v1", "/api/v1"])
def test_openapi_covers_every_rule(app, client, prefix):
    response = client.get(f"{prefix}/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.0")
    from console_api.route_table import openapi_path

    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(f"{prefix}/")]
    assert len(rules) > 25
    for rule in rules:
        operations = document["paths"].get(f"{prefix}{openapi_path(rule.rule.removeprefix(prefix))}")
        assert operations is not None, rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in operations, (rule.rule, method)
            assert operations[method.lower()]["summary"]


def test_the_mini_programs_document_names_its_bodies(client):
    document = client.get("/mp/v1/openapi.json").get_json()
    login = document["paths"]["/mp/v1/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"]["required"] == ["code"]
    create = document["paths"]["/mp/v1/work-orders"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in create
    assert create["application/json"]["schema"]["properties"]["urgency"]["enum"] == ["normal", "urgent", "downtime"]
    records = document["paths"]["/mp/v1/devices/{device_id}/records/{kind}"]["get"]["parameters"]
    assert {
        "name": "kind",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": ["repair", "maintenance", "metrology"]},
    } in records


def test_errors_under_mp_are_json(app, world):
    mp = world["mp"]["clinician"]
    response = mp.post("/work-orders/1/photos", data=b"x" * 10, content_type="multipart/form-data; boundary=zz")
    assert response.is_json
    big = mp.get(f"/work-orders/{2**70}")
    assert big.status_code == 404
