"""The engineer at the device, over /mp/v1: 到场 by scanning this order's device's sticker (a
wrong sticker or a typed 唯一码 is refused and changes nothing; without a sticker a reason, shown
as 未扫码到场), the ETA before 出发, and the customer's signature on the service report, which
confirms the order only when the order's contact person signs with their name. The migration
that adds the sign-off table upgrades a database holding the last release's rows."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from models import AuditEntry, WorkOrder, WorkOrderSignOff, db
from operations.clock import now_utc
from operations.work_orders import photo_links
from tests.test_miniprogram_work import PNG, link_of, report, world  # noqa: F401


@pytest.fixture
def site(request):
    """test_miniprogram_work's world: a hospital, its vendor's engineer and a clinician, bound."""
    return request.getfixturevalue("world")


COMPLETE = {"work_done": "更换传感器", "test_result": "推注正常", "test_passed": True, "device_condition": "normal"}


def accepted_order(app, site) -> int:
    order_id = report(app, site).get_json()["id"]
    assert site["mp"]["engineer"].post(f"/work-orders/{order_id}/accept").status_code == 200
    return order_id


def test_eta_then_depart(app, site):
    mp = site["mp"]["engineer"]
    order_id = accepted_order(app, site)
    eta = (now_utc() + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    set_eta = mp.post(f"/work-orders/{order_id}/eta", json={"eta": eta})
    assert set_eta.status_code == 200, set_eta.get_json()
    assert set_eta.get_json()["eta"] and "eta_set" in [event["kind"] for event in set_eta.get_json()["timeline"]]
    departed = mp.post(f"/work-orders/{order_id}/depart", json={})
    assert departed.status_code == 200 and departed.get_json()["status"] == "departed"
    assert "arrive" in departed.get_json()["actions"]


def test_arrive_only_with_this_devices_sticker_or_a_reason(app, site, factory):
    mp = site["mp"]["engineer"]
    order_id = accepted_order(app, site)
    other = factory.device(site["institution"], name="呼吸机")
    refusals = [
        ({}, "reason"),
        ({"q": link_of(app, other)}, "q"),  # another device's sticker
        ({"q": site["device"].unique_code}, "q"),  # typed, not scanned
        ({"q": "https://elsewhere.example/d/abc"}, "q"),
        ({"reason": "   "}, "reason"),
    ]
    for body, field in refusals:
        response = mp.post(f"/work-orders/{order_id}/arrive", json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert response.get_json()["error"]["fields"][field], body
    with app.app_context():
        assert db.session.get(WorkOrder, order_id).status.value == "accepted"
    assert site["mp"]["clinician"].post(f"/work-orders/{order_id}/arrive", json={"reason": "x"}).status_code == 403

    arrived = mp.post(f"/work-orders/{order_id}/arrive", json={"q": link_of(app, site["device"])})
    assert arrived.status_code == 200, arrived.get_json()
    event = arrived.get_json()["timeline"][-1]
    assert (event["kind"], event["label"], event["detail"]["scanned"]) == ("arrived", "到达现场", True)


def test_arrive_without_sticker_shows_on_the_timeline(app, site):
    order_id = accepted_order(app, site)
    arrived = site["mp"]["engineer"].post(f"/work-orders/{order_id}/arrive", json={"reason": "设备二维码已损坏"})
    assert arrived.status_code == 200, arrived.get_json()
    seen = site["mp"]["clinician"].get(f"/work-orders/{order_id}").get_json()["timeline"][-1]
    assert seen["label"] == "未扫码到场" and seen["detail"]["reason"] == "设备二维码已损坏"


def completed_order(app, site) -> int:
    mp = site["mp"]["engineer"]
    order_id = accepted_order(app, site)
    for step, body in (
        ("arrive", {"q": link_of(app, site["device"])}),
        ("diagnose", {"diagnosis": "压力传感器故障"}),
        ("complete", COMPLETE),
    ):
        response = mp.post(f"/work-orders/{order_id}/{step}", json=body)
        assert response.status_code == 200, (step, response.get_json())
    return order_id


def sign(phone, order_id: int, name: str, data: bytes = PNG):
    return phone.post(
        f"/work-orders/{order_id}/sign-offs",
        data={"signer_name": name, "file": (io.BytesIO(data), "signature.png")},
        content_type="multipart/form-data",
    )


def test_signature_by_the_contact_person_confirms_the_order(app, site):
    mp = site["mp"]
    order_id = completed_order(app, site)
    assert "sign_off" in mp["engineer"].get(f"/work-orders/{order_id}").get_json()["actions"]
    assert "sign_off" not in mp["manager"].get(f"/work-orders/{order_id}").get_json()["actions"]
    signed = sign(mp["engineer"], order_id, " 王医生 ")
    assert signed.status_code == 201, signed.get_json()
    record = signed.get_json()
    assert (record["signer_name"], record["place"], record["place_label"], record["confirms"]) == (
        "王医生",
        "engineer_phone",
        "工程师手机",
        True,
    )
    order = mp["clinician"].get(f"/work-orders/{order_id}").get_json()
    assert order["status"] == "confirmed" and "rate" in order["actions"]
    assert "sign_off" not in mp["engineer"].get(f"/work-orders/{order_id}").get_json()["actions"]
    assert [event["label"] for event in order["timeline"][-2:]] == ["客户签字", "客户确认"]
    with app.app_context():
        stored = db.session.scalar(select(WorkOrderSignOff).where(WorkOrderSignOff.work_order_id == order_id))
        assert stored.image == PNG and stored.captured_by_id == site["users"]["engineer"].id
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "sign_off")) is not None
    listed = mp["clinician"].get(f"/work-orders/{order_id}/sign-offs").get_json()["items"]
    assert [item["id"] for item in listed] == [record["id"]]
    # the order moved on: no second signature
    assert sign(mp["engineer"], order_id, "王医生").status_code == 409


def test_the_reporter_signing_on_their_own_phone_confirms(app, site):
    mp = site["mp"]
    order_id = completed_order(app, site)
    assert "sign_off" in mp["clinician"].get(f"/work-orders/{order_id}").get_json()["actions"]
    signed = sign(mp["clinician"], order_id, "王医生")
    assert signed.status_code == 201, signed.get_json()
    assert (signed.get_json()["place_label"], signed.get_json()["confirms"]) == ("报修人手机", True)
    order = mp["clinician"].get(f"/work-orders/{order_id}").get_json()
    assert order["status"] == "confirmed"
    assert order["timeline"][-1]["detail"]["note"] == "王医生（报修人）在报修人手机签字确认"


def test_signature_by_someone_else_attaches_and_the_reporter_still_confirms(app, site):
    mp = site["mp"]
    order_id = completed_order(app, site)
    signed = sign(mp["engineer"], order_id, "李护士")
    assert signed.status_code == 201 and signed.get_json()["confirms"] is False
    order = mp["clinician"].get(f"/work-orders/{order_id}").get_json()
    assert order["status"] == "completed" and "confirm" in order["actions"]
    assert mp["clinician"].post(f"/work-orders/{order_id}/confirm").status_code == 200


def test_the_signature_image_is_seen_by_who_may_see_the_order(app, site, factory, client):
    """The mini-program shows it through a signed link (`<image>` sends no bearer), the PC by its
    own route; a vendor without the order, or a photo's link with the same ids, sees nothing."""
    mp = site["mp"]
    order_id = completed_order(app, site)
    record = sign(mp["engineer"], order_id, "王医生").get_json()
    link = record["url"]
    assert link.startswith("/mp/v1/signature-links/")
    image = mp["clinician"].client.get(link)  # no bearer header
    assert image.status_code == 200 and image.data == PNG and image.mimetype == "image/png"
    assert "max-age=600" in image.headers["Cache-Control"]
    listed = mp["clinician"].get(f"/work-orders/{order_id}/sign-offs").get_json()["items"]
    assert mp["clinician"].client.get(listed[0]["url"]).data == PNG
    assert mp["stranger"].get(f"/work-orders/{order_id}/sign-offs").status_code == 404
    with app.app_context():
        as_photo = photo_links.photo_token(order_id, record["id"], app.config["SECRET_KEY"])
    crossed = mp["clinician"].client.get(f"/mp/v1/signature-links/{as_photo}")
    assert crossed.status_code == 404 and crossed.get_json()["error"]["message"] == photo_links.SIGNATURE_MISSING

    manager = factory.api(client, site["users"]["manager"])
    pc_listed = manager.get(f"/api/v1/work-orders/{order_id}/sign-offs").get_json()["items"]
    assert [(item["signer_name"], item["place_label"], item["confirms"]) for item in pc_listed] == [
        ("王医生", "工程师手机", True)
    ]
    pc_image = manager.get(pc_listed[0]["url"])
    assert pc_image.status_code == 200 and pc_image.data == PNG
    assert manager.get(f"/api/v1/work-orders/{order_id}/sign-offs/{record['id'] + 99}/image").status_code == 404
    stranger = factory.api(client, site["users"]["stranger"])
    assert stranger.get(f"/api/v1/work-orders/{order_id}/sign-offs/{record['id']}/image").status_code == 404


def test_bad_signatures_change_nothing(app, site):
    mp = site["mp"]
    order_id = accepted_order(app, site)
    assert sign(mp["engineer"], order_id, "王医生").status_code == 409  # no report yet
    order_id = completed_order(app, site)
    for phone, name, data, status in (
        (mp["engineer"], "", PNG, 422),
        (mp["engineer"], "王医生", b"GIF89a not a png", 422),
        (mp["manager"], "王医生", PNG, 403),  # neither the engineer's phone nor the reporter's
        (mp["stranger"], "王医生", PNG, 404),
    ):
        response = sign(phone, order_id, name, data)
        assert response.status_code == status, (name, response.get_json())
        assert re.search("[\u4e00-\u9fa5]", response.get_json()["error"]["message"]), name
    no_file = mp["engineer"].post(
        f"/work-orders/{order_id}/sign-offs", data={"signer_name": "王医生"}, content_type="multipart/form-data"
    )
    assert no_file.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(WorkOrderSignOff).where(WorkOrderSignOff.work_order_id == order_id)) is None
        assert db.session.get(WorkOrder, order_id).status.value == "completed"


def test_sign_off_migration_upgrades_the_last_release(legacy_database):
    from flask_migrate import downgrade

    legacy = legacy_database("0010_delivery_unconfirmed")
    legacy.execute(
        "INSERT INTO institutions (id, name, last_device_number, created_at) VALUES (1, '医院甲', 0, :now)",
        {"now": "2026-12-01 00:00:00"},
    )
    legacy.upgrade()
    assert legacy.execute("SELECT id, name FROM institutions") == [{"id": 1, "name": "医院甲"}]
    assert legacy.execute("SELECT id FROM work_order_sign_offs") == []
    with legacy.app.app_context():
        columns = {column["name"] for column in inspect(db.engine).get_columns("work_order_sign_offs")}
        assert {"signer_name", "image", "place", "confirms", "signed_at", "captured_by_id"} <= columns
        downgrade(revision="0010_delivery_unconfirmed")
        assert "work_order_sign_offs" not in inspect(db.engine).get_table_names()
