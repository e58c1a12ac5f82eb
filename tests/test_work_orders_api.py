"""工单 through the PC API: 报修 with photos, bad input, who sees and does what, the `actions`
each caller is offered, parts, photos, the service report, the polling feed and the SSE stream.

The whole SOP walk and the concurrent accepts are tested elsewhere (tests/test_work_order_flow.py
and the lead's suites); here every answer is checked at the HTTP level.
"""

from __future__ import annotations

import io
import json
import re
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from models import (
    ArchiveStatus,
    AuditEntry,
    Delivery,
    Device,
    OutboxMessage,
    Role,
    Scope,
    User,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
    db,
)
from operations.clock import LOCAL_TZ, today_local

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 100 + b"\xff\xd9"
TEXT = b"not an image at all, just some text pretending to be a photo"
CONTACTS = [{"kind": "mobile", "value": "13800000001"}, {"kind": "landline", "value": "8021"}]
BASE = "/api/v1/work-orders"


@pytest.fixture
def world(factory, client, app):
    """One hospital with a device whose repairs go to an authorized vendor, its people, and
    strangers: another department, another vendor, another hospital."""
    institution = factory.institution("医疗机构测试1")
    departments = factory.departments(institution)
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    device = factory.device(institution, name="高压注射器", department="口腔科", category="注射泵", model="XZ-100")
    today = today_local()
    factory.authorization(
        device, vendor, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=365), scopes={Scope.REPAIR}
    )
    manager = factory.manager(institution)
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    neighbour = factory.user(Role.CLINICIAN, institution=institution, display_name="眼科李护士")
    colleague = factory.user(Role.CLINICIAN, institution=institution, display_name="口腔科赵医生")
    _set_department(app, clinician, departments["口腔科"])
    _set_department(app, colleague, departments["口腔科"])
    _set_department(app, neighbour, departments["眼科"])
    engineers = [
        factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name=name, phone=phone)
        for name, phone in (("刘工", "13900000000"), ("陈工", "13900000009"))
    ]
    with app.app_context():
        admin = db.session.scalar(db.select(User).where(User.vendor_id == vendor.id, User.role == Role.VENDOR_ADMIN))
        db.session.expunge(admin)
    other_vendor = factory.accepted_vendor(institution, "服务商测试2")
    stranger = factory.user(Role.VENDOR_ENGINEER, vendor=other_vendor, display_name="别家工程师")
    other_institution = factory.institution("医疗机构测试2")
    foreign_device = factory.device(other_institution, name="监护仪")
    users = {
        "manager": manager,
        "clinician": clinician,
        "neighbour": neighbour,
        "colleague": colleague,
        "engineer": engineers[0],
        "engineer2": engineers[1],
        "admin": admin,
        "stranger": stranger,
        "in_house": factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="院内李工"),
    }
    return {
        "institution": institution,
        "departments": departments,
        "vendor": vendor,
        "device": device,
        "foreign_device": foreign_device,
        "users": users,
        "api": {name: factory.api(client, user) for name, user in users.items()},
    }


def _set_department(app, user, department_id: int) -> None:
    with app.app_context():
        db.session.get(User, user.id).department_id = department_id
        db.session.commit()


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def body(world, **overrides) -> dict:
    return {
        "device_id": world["device"].id,
        "contact_name": "王护士",
        "contact_methods": CONTACTS,
        "fault_description": "开机后报错 E21，无法注射",
        **overrides,
    }


def create(world, who="clinician", **overrides) -> dict:
    response = world["api"][who].post(BASE, json=body(world, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def step(world, who, order_id, name, expect=200, **payload):
    response = world["api"][who].post(f"{BASE}/{order_id}/{name}", json=payload)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def detail(world, who, order_id) -> dict:
    response = world["api"][who].get(f"{BASE}/{order_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def multipart(data: dict | str | None, photos=(), field="photos") -> dict:
    """Test-client arguments for a multipart body, encoded in memory (the test client spools
    bodies over 500 KB to a temporary file it never closes; see test_credentials_api)."""
    fields = MultiDict()
    if data is not None:
        fields.add("data", data if isinstance(data, str) else json.dumps(data))
    for content, name in photos:
        fields.add(field, FileStorage(io.BytesIO(content), filename=name, content_type="image/jpeg"))
    boundary, encoded = encode_multipart(fields)
    return {"data": encoded, "content_type": f"multipart/form-data; boundary={boundary}"}


def local_naive(delta: timedelta) -> str:
    """A wall-clock time in Asia/Shanghai without an offset, as a form sends it."""
    return (datetime.now(LOCAL_TZ) + delta).replace(microsecond=0, tzinfo=None).isoformat()


def to_completed(world, order_id) -> None:
    step(world, "engineer", order_id, "accept")
    step(world, "engineer", order_id, "arrive")
    step(world, "engineer", order_id, "diagnose", diagnosis="压力传感器老化", fault_level="major")
    step(
        world,
        "engineer",
        order_id,
        "complete",
        work_done="更换压力传感器并校准",
        test_result="注射压力测试 3 次均正常",
        test_passed=True,
        device_condition="normal",
    )


# --- 报修 -----------------------------------------------------------------------------------------


def test_report_by_device_id_unique_code_and_qr_token(world):
    occurred = local_naive(timedelta(hours=-2))
    by_id = create(world, fault_occurred_at=occurred, fault_frequency="intermittent", error_message="E21")
    by_code = create(world, device_id=None, unique_code=world["device"].unique_code, urgency="downtime")
    by_token = create(world, device_id=None, device_token=world["device"].link_token, kind="repair")
    assert {by_id["device_id"], by_code["device_id"], by_token["device_id"]} == {world["device"].id}

    assert by_id["number"] == f"GD{by_id['id']:06d}"
    assert (by_id["status"], by_id["status_label"]) == ("pending", "待接单")
    assert (by_id["kind"], by_id["kind_label"], by_id["urgency_label"]) == ("repair", "维修", "普通")
    assert by_id["vendor"] == "服务商测试1" and by_id["vendor_id"] == world["vendor"].id
    assert by_id["device"]["name"] == "高压注射器" and by_id["device"]["model"] == "XZ-100"
    assert by_id["department"] == "口腔科"
    assert by_id["reporter"] == {"id": world["users"]["clinician"].id, "name": "王护士"}
    assert by_id["contact_methods"][0] == {"kind": "mobile", "kind_label": "手机", "value": "13800000001"}
    # A time without an offset is a wall-clock time in Asia/Shanghai; every moment comes back in +08:00.
    assert by_id["fault_occurred_at"] == occurred + "+08:00"
    assert by_id["fault_frequency_label"] == "间歇出现" and by_id["error_message"] == "E21"
    assert by_id["created_at"].endswith("+08:00")
    assert [event["kind"] for event in by_id["timeline"]] == ["created"]
    assert by_id["timeline"][0]["actor"] == "王护士" and by_id["timeline"][0]["to_status_label"] == "待接单"
    assert by_id["actions"] == ["cancel", "photos"]
    assert by_id["respond_by"] is None and by_code["respond_by"] is not None  # 停机: the emergency deadline
    assert by_code["urgency_label"] == "停机影响诊疗"


def test_datetimes_with_an_offset_are_taken_as_given(world):
    moment = (datetime.now(LOCAL_TZ) + timedelta(days=3)).replace(microsecond=0)
    shown = moment.isoformat()  # …+08:00
    written = [
        moment.astimezone(UTC).isoformat(),  # +00:00
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        moment.astimezone(timezone(timedelta(hours=9))).strftime("%Y-%m-%dT%H:%M:%S%z"),  # +0900
        moment.replace(tzinfo=None).isoformat(),  # no offset: Asia/Shanghai
    ]
    for text in written:
        order = create(world, kind="maintenance", expected_by=text)
        assert order["expected_by"] == shown, text
        assert order["vendor"] == "院内工程师"  # the authorization covers repairs only


def test_multipart_report_with_photos_and_download(world):
    response = world["api"]["clinician"].post(BASE, **multipart(body(world), [(PNG, "a.png"), (JPEG, "b.jpg")]))
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert [(p["content_type"], p["size"]) for p in order["photos"]] == [
        ("image/png", len(PNG)),
        ("image/jpeg", len(JPEG)),
    ]
    for photo, content in zip(order["photos"], (PNG, JPEG), strict=True):
        for who in ("clinician", "engineer", "manager"):
            download = world["api"][who].get(photo["url"])
            assert download.status_code == 200
            assert download.data == content and download.mimetype == photo["content_type"]
            assert download.headers["Content-Disposition"].startswith("attachment")
            shown = world["api"][who].get(f"{photo['url']}?inline=1")
            assert shown.headers["Content-Disposition"].startswith("inline") and shown.data == content
    # Nobody else gets the bytes.
    assert world["api"]["stranger"].get(order["photos"][0]["url"]).status_code == 404
    assert world["api"]["neighbour"].get(order["photos"][0]["url"]).status_code == 404

    # More photos later: the engineer on the order may add them, a clinician of the ward may not.
    step(world, "engineer", order["id"], "accept")
    upload = {"file": (io.BytesIO(PNG), "site.png")}
    added = world["api"]["engineer"].post(f"{BASE}/{order['id']}/photos", data=upload)
    assert added.status_code == 201 and added.get_json()["content_type"] == "image/png"
    assert world["api"]["engineer"].get(added.get_json()["url"]).data == PNG
    refused = world["api"]["colleague"].post(f"{BASE}/{order['id']}/photos", data={"file": (io.BytesIO(PNG), "x.png")})
    assert refused.status_code == 403
    not_image = world["api"]["engineer"].post(
        f"{BASE}/{order['id']}/photos", data={"file": (io.BytesIO(TEXT), "x.jpg")}
    )
    assert not_image.status_code == 422 and "photos" in not_image.get_json()["error"]["fields"]
    assert len(detail(world, "manager", order["id"])["photos"]) == 3


BAD_REPORTS = [
    # (name, who, payload builder, status, field named in the answer)
    ("unknown device", "clinician", lambda w: {"json": body(w, device_id=999999)}, 404, None),
    (
        "device of another hospital",
        "clinician",
        lambda w: {"json": body(w, device_id=w["foreign_device"].id)},
        404,
        None,
    ),
    (
        "QR of another hospital",
        "clinician",
        lambda w: {"json": body(w, device_id=None, device_token=w["foreign_device"].link_token)},
        404,
        None,
    ),
    ("no device at all", "clinician", lambda w: {"json": body(w, device_id=None)}, 422, "device_id"),
    (
        "two ways to name the device",
        "clinician",
        lambda w: {"json": body(w, unique_code=w["device"].unique_code)},
        422,
        "unique_code",
    ),
    ("no contact methods", "clinician", lambda w: {"json": body(w, contact_methods=None)}, 422, "contact_methods"),
    (
        "one contact method",
        "clinician",
        lambda w: {"json": body(w, contact_methods=CONTACTS[:1])},
        422,
        "contact_methods",
    ),
    (
        "the same method twice",
        "clinician",
        lambda w: {"json": body(w, contact_methods=[CONTACTS[0], CONTACTS[0]])},
        422,
        "contact_methods",
    ),
    (
        "a bad mobile number",
        "clinician",
        lambda w: {"json": body(w, contact_methods=[{"kind": "mobile", "value": "12345"}, CONTACTS[1]])},
        422,
        "contact_methods",
    ),
    (
        "an unknown contact kind",
        "clinician",
        lambda w: {"json": body(w, contact_methods=[{"kind": "pager", "value": "1"}, *CONTACTS])},
        422,
        "contact_methods",
    ),
    ("no contact name", "clinician", lambda w: {"json": body(w, contact_name=" ")}, 422, "contact_name"),
    (
        "no fault description",
        "clinician",
        lambda w: {"json": body(w, fault_description=None)},
        422,
        "fault_description",
    ),
    ("unknown field", "clinician", lambda w: {"json": body(w, colour="red")}, 422, "colour"),
    ("wrong type", "clinician", lambda w: {"json": body(w, urgency=3)}, 422, "urgency"),
    ("unknown kind", "clinician", lambda w: {"json": body(w, kind="painting")}, 422, "kind"),
    ("too long", "clinician", lambda w: {"json": body(w, error_message="E" * 201)}, 422, "error_message"),
    (
        "a time in no known format",
        "clinician",
        lambda w: {"json": body(w, fault_occurred_at="23/11/2026 9:00")},
        422,
        "fault_occurred_at",
    ),
    (
        "an impossible date",
        "clinician",
        lambda w: {"json": body(w, expected_by="2026-02-30T09:00")},
        422,
        "expected_by",
    ),
    (
        "a fault in the future",
        "clinician",
        lambda w: {"json": body(w, fault_occurred_at=local_naive(timedelta(days=1)))},
        422,
        "fault_occurred_at",
    ),
    (
        "a photo that is not an image",
        "clinician",
        lambda w: multipart(body(w), [(PNG, "a.png"), (TEXT, "b.jpg")]),
        422,
        "photos",
    ),
    (
        "a photo over 5 MB",
        "clinician",
        lambda w: multipart(body(w), [(JPEG + b"\x00" * (5 * 1024 * 1024), "big.jpg")]),
        422,
        "photos",
    ),
    (
        "ten photos",
        "clinician",
        lambda w: multipart(body(w), [(PNG, f"{n}.png") for n in range(10)]),
        422,
        "photos",
    ),
    ("multipart without data", "clinician", lambda w: multipart(None, [(PNG, "a.png")]), 422, "data"),
    (
        "multipart with broken JSON",
        "clinician",
        lambda w: multipart("{not json", [(PNG, "a.png")]),
        422,
        "data",
    ),
    (
        "a multipart part whose name cannot be read",
        "clinician",
        lambda w: {
            "data": b'--XX\r\nContent-Disposition: form-data; name="\\"\r\n\r\nnull\r\n--XX--\r\n',
            "content_type": "multipart/form-data; boundary=XX",
        },
        422,
        "",
    ),
    ("a vendor engineer reporting", "engineer", lambda w: {"json": body(w)}, 403, None),
    ("a vendor admin reporting", "admin", lambda w: {"json": body(w)}, 403, None),
    # Values that would overflow further in (time zones, 64-bit ids) are refused at the edge.
    (
        "a year 9999 deadline",
        "clinician",
        lambda w: {"json": body(w, expected_by="9999-12-31T23:00:00Z")},
        422,
        "expected_by",
    ),
    (
        "a deadline years away",
        "clinician",
        lambda w: {"json": body(w, expected_by=local_naive(timedelta(days=1000)))},
        422,
        "expected_by",
    ),
    (
        "a fault in year 1",
        "clinician",
        lambda w: {"json": body(w, fault_occurred_at="0001-01-01T00:00Z")},
        422,
        "fault_occurred_at",
    ),
    ("a 100-digit device id", "clinician", lambda w: {"json": body(w, device_id=10**100)}, 422, "device_id"),
    (
        "a contact kind that is a list",
        "clinician",
        lambda w: {"json": body(w, contact_methods=[{"kind": ["mobile"], "value": "x"}, CONTACTS[1]])},
        422,
        "contact_methods",
    ),
    (
        "control characters in a contact",
        "clinician",
        lambda w: {"json": body(w, contact_methods=[{"kind": "wechat", "value": "a\x01b"}, CONTACTS[1]])},
        422,
        "contact_methods",
    ),
]


@pytest.mark.parametrize(("case", "who", "payload", "status", "field"), BAD_REPORTS, ids=[c[0] for c in BAD_REPORTS])
def test_bad_reports_are_refused_and_write_nothing(world, app, case, who, payload, status, field):
    before = (count(app, WorkOrder), count(app, WorkOrderPhoto), count(app, WorkOrderEvent))
    kwargs = payload(world)
    response = world["api"][who].post(BASE, **kwargs)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["message"] and not error["message"].isascii()  # a Chinese sentence for the person
    if field is not None:
        assert field in error["fields"], error
    assert (count(app, WorkOrder), count(app, WorkOrderPhoto), count(app, WorkOrderEvent)) == before


def test_unknown_fields_are_listed_together(world):
    response = world["api"]["clinician"].post(BASE, json=body(world, colour="red", size=3, urgency="soon"))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"colour", "size", "urgency"}


# --- who sees what ---------------------------------------------------------------------------


def test_lists_and_details_are_scoped(world):
    order = create(world)
    in_house = create(world, kind="metrology", expected_by=local_naive(timedelta(days=3)))

    def listed(who, query=""):
        response = world["api"][who].get(f"{BASE}?{query}")
        assert response.status_code == 200, response.get_json()
        return [row["id"] for row in response.get_json()["items"]]

    assert listed("manager") == [in_house["id"], order["id"]]
    assert listed("colleague") == [in_house["id"], order["id"]]  # the same ward
    assert listed("neighbour") == []  # a clinician of another department does not see it
    assert world["api"]["neighbour"].get(f"{BASE}/{order['id']}").status_code == 404
    assert listed("engineer") == [order["id"]]  # the vendor sees the order routed to it, not the in-house one
    assert world["api"]["engineer"].get(f"{BASE}/{in_house['id']}").status_code == 404
    assert listed("stranger") == []  # a user of another vendor
    assert world["api"]["stranger"].get(f"{BASE}/{order['id']}").status_code == 404
    assert world["api"]["stranger"].post(f"{BASE}/{order['id']}/accept").status_code == 404

    row = world["api"]["manager"].get(f"{BASE}?status=pending&kind=repair").get_json()["items"][0]
    assert row["number"] == order["number"] and row["vendor"] == "服务商测试1" and row["reporter"] == "王护士"
    assert row["device"] == {
        "id": world["device"].id,
        "name": "高压注射器",
        "unique_code": world["device"].unique_code,
        "model": "XZ-100",
        "department": "口腔科",
    }
    assert row["status_label"] == "待接单" and row["assignee"] is None and row["created_at"].endswith("+08:00")
    assert listed("manager", "in_house=1") == [in_house["id"]]
    assert listed("manager", f"vendor_id={world['vendor'].id}") == [order["id"]]
    assert listed("manager", f"keyword={order['number']}") == [order["id"]]
    assert listed("manager", f"keyword={order['number'].lower()}") == [order["id"]]
    assert listed("manager", "keyword=高压注射器") == [in_house["id"], order["id"]]
    assert listed("manager", "status=accepted,completed") == []
    assert listed("manager", "open=1&urgency=normal") == [in_house["id"], order["id"]]
    today = today_local().isoformat()
    assert listed("manager", f"from={today}&to={today}") == [in_house["id"], order["id"]]
    assert listed("clinician", "mine=reported") == [in_house["id"], order["id"]]
    assert listed("colleague", "mine=reported") == []
    for query, field in (
        ("status=open", "status"),
        ("mine=all", "mine"),
        ("from=2026-13-01", "from"),
        ("page=0", "page"),
    ):
        response = world["api"]["manager"].get(f"{BASE}?{query}")
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"], query


def test_queue_shows_claimable_and_assigned_orders_emergencies_first(world):
    normal = create(world)
    emergency = create(world, urgency="downtime")
    queue = world["api"]["engineer"].get(f"{BASE}/queue").get_json()["items"]
    assert [row["id"] for row in queue] == [emergency["id"], normal["id"]]
    step(world, "engineer", normal["id"], "accept")
    assert [row["id"] for row in world["api"]["engineer2"].get(f"{BASE}/queue").get_json()["items"]] == [
        emergency["id"]
    ]
    mine = world["api"]["engineer"].get(f"{BASE}/queue").get_json()["items"]
    assert {row["id"]: row["assignee"] for row in mine} == {emergency["id"]: None, normal["id"]: "刘工"}
    assert world["api"]["in_house"].get(f"{BASE}/queue").get_json()["items"] == []


# --- steps: who may, and when -------------------------------------------------------------------


def test_steps_refused_to_the_wrong_person_or_at_the_wrong_time_change_nothing(world, app):
    order_id = create(world)["id"]
    step(world, "in_house", order_id, "accept", expect=403)  # the vendor's order, not the hospital's engineers'
    accepted = step(world, "engineer", order_id, "accept")
    assert accepted["status"] == "accepted" and accepted["assignee"]["name"] == "刘工"
    assert accepted["assignee"]["phone"] == "13900000000"
    events = count(app, WorkOrderEvent)

    step(world, "engineer2", order_id, "accept", expect=409)  # already taken
    step(world, "engineer2", order_id, "depart", expect=403)  # a step on an order not yours
    step(world, "clinician", order_id, "arrive", expect=403)
    conflict = step(
        world, "engineer", order_id, "complete", expect=409, **_completion(diagnosis="传感器")
    )  # not on site
    assert "已接单" in conflict["error"]["message"]
    step(world, "engineer", order_id, "confirm", expect=403)  # only the reporter confirms
    step(world, "clinician", order_id, "confirm", expect=409)  # nothing to confirm yet
    step(world, "engineer", order_id, "diagnose", expect=422)  # diagnosis is required
    step(world, "engineer", order_id, "depart", expect=422, colour="red")
    step(world, "engineer", order_id, "cancel", expect=403, reason="不想修")
    step(world, "clinician", order_id, "assign", expect=403)
    step(world, "manager", order_id, "follow-up", expect=409, note="回访")
    assert detail(world, "manager", order_id)["status"] == "accepted"
    assert count(app, WorkOrderEvent) == events

    to_completed_from_accepted(world, order_id)
    step(world, "manager", order_id, "confirm", expect=403)  # not the reporter
    step(world, "colleague", order_id, "confirm", expect=403)  # sees it, but did not report it
    step(world, "clinician", order_id, "rate", expect=409, rating=5)  # confirm first
    step(world, "clinician", order_id, "rate", expect=422, rating=6)
    step(world, "clinician", order_id, "cancel", expect=409, reason="算了")
    assert detail(world, "clinician", order_id)["status"] == "completed"


def _completion(**overrides):
    return {
        "work_done": "更换压力传感器并校准",
        "test_result": "注射压力测试 3 次均正常",
        "test_passed": True,
        "device_condition": "normal",
        **overrides,
    }


def to_completed_from_accepted(world, order_id):
    step(world, "engineer", order_id, "arrive", note="已到口腔科")
    step(world, "engineer", order_id, "complete", **_completion(diagnosis="压力传感器老化"))


def test_dispatch_assign_eta_triage_and_skills(world):
    order_id = create(world)["id"]
    engineer2 = world["users"]["engineer2"]
    response = world["api"]["admin"].put(f"/api/v1/engineers/{engineer2.id}/skills", json={"categories": ["注射泵"]})
    assert response.status_code == 200 and response.get_json()["categories"] == ["注射泵"]
    assert (
        world["api"]["admin"].put(f"/api/v1/engineers/{engineer2.id}/skills", json={"categories": "注射泵"}).status_code
        == 422
    )
    assert world["api"]["manager"].put(
        f"/api/v1/engineers/{engineer2.id}/skills", json={"categories": []}
    ).status_code in (403, 404)

    candidates = world["api"]["admin"].get(f"{BASE}/{order_id}/candidates")
    assert candidates.status_code == 200
    assert [(c["name"], c["skilled"]) for c in candidates.get_json()["items"]] == [("陈工", True), ("刘工", False)]
    assert world["api"]["engineer"].get(f"{BASE}/{order_id}/candidates").status_code == 403
    assert world["api"]["clinician"].get(f"{BASE}/{order_id}/candidates").status_code == 403

    assigned = step(world, "admin", order_id, "assign")  # the best-ranked candidate
    assert assigned["assignee"]["name"] == "陈工" and assigned["status"] == "pending"
    step(world, "engineer", order_id, "accept", expect=409)  # assigned to someone else
    eta = local_naive(timedelta(hours=3)).rsplit(":", 1)[0]  # to the minute
    with_eta = step(world, "admin", order_id, "eta", eta=eta)
    assert with_eta["eta"] == eta + ":00+08:00"
    assert with_eta["timeline"][-1]["kind"] == "eta_set"
    step(world, "admin", order_id, "eta", expect=422, eta="tomorrow")
    triaged = step(world, "admin", order_id, "triage", fault_level="critical", note="影响增强 CT")
    assert triaged["fault_level_label"] == "重大故障" and triaged["triage_note"] == "影响增强 CT"
    step(world, "clinician", order_id, "triage", expect=403, fault_level="minor")
    step(world, "admin", order_id, "assign", expect=422, engineer_id=world["users"]["stranger"].id)
    accepted = step(world, "engineer2", order_id, "accept")
    assert accepted["status"] == "accepted" and [e["kind"] for e in accepted["timeline"]] == [
        "created",
        "assigned",
        "eta_set",
        "triaged",
        "accepted",
    ]


def notices_to(app, user, order_id) -> list[str]:
    """The bodies of the messages that reach `user` about the order, oldest first (once each,
    whatever the channels)."""
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(OutboxMessage.body)
                .join(Delivery, Delivery.message_id == OutboxMessage.id)
                .where(OutboxMessage.work_order_id == order_id, Delivery.recipient_id == user.id)
                .distinct()
                .order_by(OutboxMessage.body)
            )
        )


def test_depart_with_an_eta_saves_both_in_one_step_or_neither(world, app):
    """出发 with the 预计到场时间 agreed with the reporter: one request; a refused 出发 leaves no ETA."""
    order_id = create(world)["id"]
    eta = local_naive(timedelta(hours=2)).rsplit(":", 1)[0]  # to the minute, as the picker sends it
    step(world, "admin", order_id, "assign", engineer_id=world["users"]["engineer"].id)
    events = count(app, WorkOrderEvent)
    # Not accepted yet: the 出发 is refused, and the ETA with it.
    refused = step(world, "engineer", order_id, "depart", expect=409, eta=eta)
    assert "待接单" in refused["error"]["message"]
    step(world, "engineer2", order_id, "depart", expect=403, eta=eta)  # not theirs
    step(world, "engineer", order_id, "accept")
    events += 1
    past = local_naive(-timedelta(hours=1))
    far = local_naive(timedelta(days=61))
    for bad, reason in ((past, "60 天内"), (far, "60 天内"), ("明天上午", "")):
        answer = step(world, "engineer", order_id, "depart", expect=422, eta=bad, note="带上传感器")
        assert reason in answer["error"]["fields"]["eta"]
    assert "预计到场时间" in step(world, "engineer", order_id, "depart", expect=422, eta=past)["error"]["fields"]["eta"]
    unchanged = detail(world, "manager", order_id)
    assert unchanged["status"] == "accepted" and unchanged["eta"] is None and unchanged["departed_at"] is None
    assert count(app, WorkOrderEvent) == events

    departed = step(world, "engineer", order_id, "depart", eta=eta, note="带上传感器")
    assert departed["status"] == "departed" and departed["eta"] == eta + ":00+08:00"
    assert count(app, WorkOrderEvent) == events + 1  # one step on the timeline, not an ETA and a 出发
    last = departed["timeline"][-1]
    assert last["kind"] == "departed" and last["detail"] == {"eta": eta + "+08:00", "note": "带上传感器"}
    # The reporter hears of both in one notice.
    (told,) = [
        body for body in notices_to(app, world["users"]["clinician"], order_id) if "出发" in body or "预计" in body
    ]
    assert f"预计{eta[5:10]} {eta[11:16]}到场" in told
    with app.app_context():
        logged = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.entity_type == "work_order", AuditEntry.action == "depart")
        ).one()
        # The log keeps the moment (UTC): compare moments, not the dates written in two time zones.
        stored = datetime.fromisoformat(logged.changes["eta"][1])
        assert logged.changes["eta"][0] is None and stored == datetime.fromisoformat(eta + ":00+08:00")
        assert logged.changes["status"] == ["accepted", "departed"]

    # /eta still changes it on the way; 出发 without one keeps what was agreed.
    later = local_naive(timedelta(hours=3)).rsplit(":", 1)[0]
    assert step(world, "engineer", order_id, "eta", eta=later)["eta"] == later + ":00+08:00"
    second = create(world)["id"]
    step(world, "engineer", second, "accept")
    step(world, "engineer", second, "eta", eta=eta)
    assert step(world, "engineer", second, "depart")["eta"] == eta + ":00+08:00"


# --- actions ---------------------------------------------------------------------------------


def actions(world, who, order_id):
    return detail(world, who, order_id)["actions"]


def test_actions_follow_status_and_role(world):
    order_id = create(world)["id"]
    assert actions(world, "clinician", order_id) == ["cancel", "photos"]
    assert actions(world, "colleague", order_id) == []  # sees the ward's order, reported by someone else
    assert actions(world, "engineer", order_id) == ["accept"]
    assert actions(world, "admin", order_id) == ["assign", "accept", "triage", "eta", "photos"]
    assert actions(world, "manager", order_id) == ["assign", "cancel", "triage", "eta", "photos"]
    assert actions(world, "in_house", order_id) == []

    step(world, "engineer", order_id, "accept")
    assert actions(world, "engineer", order_id) == ["depart", "arrive", "triage", "eta", "photos"]
    assert actions(world, "engineer2", order_id) == []
    assert actions(world, "clinician", order_id) == ["cancel", "photos"]
    assert actions(world, "admin", order_id) == ["assign", "triage", "eta", "photos"]

    step(world, "engineer", order_id, "arrive")
    assert actions(world, "engineer", order_id) == ["diagnose", "complete", "parts", "triage", "photos"]
    assert actions(world, "clinician", order_id) == ["photos"]  # too late to cancel

    step(world, "engineer", order_id, "complete", **_completion(diagnosis="传感器老化"))
    assert actions(world, "clinician", order_id) == ["reject", "confirm", "photos"]
    assert actions(world, "engineer", order_id) == ["photos"]
    assert actions(world, "manager", order_id) == ["photos"]

    step(world, "clinician", order_id, "reject", reason="仍然报错 E21")
    assert actions(world, "engineer", order_id) == ["depart", "arrive", "parts", "triage", "eta", "photos"]
    assert actions(world, "clinician", order_id) == ["photos"]

    step(world, "engineer", order_id, "arrive")
    step(world, "engineer", order_id, "complete", **_completion())
    step(world, "clinician", order_id, "confirm", note="已恢复")
    assert actions(world, "clinician", order_id) == ["rate", "photos"]
    rated = step(world, "clinician", order_id, "rate", rating=2, response=1, skill=3, attitude=2, comment="来得太慢")
    assert rated["status"] == "follow_up" and rated["actions"] == ["photos"]
    assert actions(world, "manager", order_id) == ["follow_up", "photos"]
    closed = step(
        world, "manager", order_id, "follow-up", note="已电话回访", improvement_action="停机工单 15 分钟内响应"
    )
    assert closed["status"] == "closed" and closed["actions"] == []
    assert actions(world, "clinician", order_id) == []


# --- parts, the report ---------------------------------------------------------------------------


def test_parts_add_and_delete_while_on_site(world, app):
    order_id = create(world)["id"]
    step(world, "engineer", order_id, "accept")
    part = {"name": "压力传感器", "model": "PS-2", "serial_number": "SN-001", "quantity": 1}
    early = world["api"]["engineer"].post(f"{BASE}/{order_id}/parts", json=part)
    assert early.status_code == 409  # parts are entered at the device
    step(world, "engineer", order_id, "arrive")
    assert world["api"]["engineer2"].post(f"{BASE}/{order_id}/parts", json=part).status_code == 403
    assert world["api"]["engineer"].post(f"{BASE}/{order_id}/parts", json={**part, "quantity": 0}).status_code == 422
    assert world["api"]["engineer"].post(f"{BASE}/{order_id}/parts", json={"model": "x"}).status_code == 422

    added = world["api"]["engineer"].post(f"{BASE}/{order_id}/parts", json=part)
    assert added.status_code == 201, added.get_json()
    part_id = added.get_json()["id"]
    extra = world["api"]["engineer"].post(f"{BASE}/{order_id}/parts", json={"name": "密封圈", "quantity": 2})
    assert extra.status_code == 201
    shown = detail(world, "clinician", order_id)
    assert [(p["name"], p["quantity"]) for p in shown["parts"]] == [("压力传感器", 1), ("密封圈", 2)]
    assert shown["parts"][0]["serial_number"] == "SN-001"
    assert [e["kind"] for e in shown["timeline"]][-2:] == ["part_added", "part_added"]

    assert world["api"]["engineer2"].delete(f"{BASE}/{order_id}/parts/{part_id}").status_code == 403
    deleted = world["api"]["engineer"].delete(f"{BASE}/{order_id}/parts/{part_id}")
    assert deleted.status_code == 204
    assert [p["name"] for p in detail(world, "engineer", order_id)["parts"]] == ["密封圈"]
    assert world["api"]["engineer"].delete(f"{BASE}/{order_id}/parts/{part_id}").status_code in (404, 422)


def test_a_part_says_where_it_came_from_until_when_it_is_valid_and_what_became_of_the_old_one(world, app):
    """The SOP's 备件 rules: original or certified, within its validity, and the replaced part's fate."""
    order_id = create(world)["id"]
    step(world, "engineer", order_id, "accept")
    step(world, "engineer", order_id, "arrive")
    engineer = world["api"]["engineer"]
    part = {"name": "血氧探头", "origin": "certified", "valid_until": "2099-12-31", "replaced_part": "vendor_recovered"}
    expired = engineer.post(f"{BASE}/{order_id}/parts", json={**part, "valid_until": "2020-01-01"})
    assert expired.status_code == 422
    assert expired.get_json()["error"]["fields"]["valid_until"] == "该备件已过有效期，不能使用"
    for bad in ({"origin": "used"}, {"replaced_part": "lost"}, {"valid_until": "31/12/2099"}):
        assert engineer.post(f"{BASE}/{order_id}/parts", json={**part, **bad}).status_code == 422, bad
    assert detail(world, "engineer", order_id)["parts"] == []  # refused entries changed nothing

    added = engineer.post(f"{BASE}/{order_id}/parts", json=part)
    assert added.status_code == 201, added.get_json()
    shown = added.get_json()
    assert (shown["origin"], shown["origin_label"], shown["valid_until"]) == ("certified", "认证合格", "2099-12-31")
    assert (shown["replaced_part"], shown["replaced_part_label"]) == ("vendor_recovered", "厂家回收")
    step(world, "engineer", order_id, "diagnose", diagnosis="探头线缆断裂")
    step(world, "engineer", order_id, "complete", **_completion())
    [frozen] = world["api"]["clinician"].get(f"{BASE}/{order_id}/report").get_json()["parts"]
    assert (frozen["origin"], frozen["valid_until"], frozen["replaced_part"]) == ("认证合格", "2099-12-31", "厂家回收")


def test_service_report_is_frozen_at_completion_and_signed_off_by_confirming(world, app):
    with app.app_context():
        db.session.get(Device, world["device"].id).serial_number = "SN-XZ-0001"
        db.session.commit()
    order_id = create(world)["id"]
    premature = world["api"]["manager"].get(f"{BASE}/{order_id}/report")
    assert premature.status_code == 409 and "尚未完成" in premature.get_json()["error"]["message"]
    step(world, "engineer", order_id, "accept")
    step(world, "engineer", order_id, "arrive")
    world["api"]["engineer"].post(f"{BASE}/{order_id}/parts", json={"name": "压力传感器", "serial_number": "SN-9"})
    step(world, "engineer", order_id, "diagnose", diagnosis="压力传感器老化", fault_level="major")
    completed = step(world, "engineer", order_id, "complete", **_completion())
    assert completed["status_label"] == "待确认" and completed["service_report"]["number"] == completed["number"]

    report = world["api"]["clinician"].get(f"{BASE}/{order_id}/report").get_json()
    assert report["diagnosis"] == "压力传感器老化" and report["fault_level"] == "严重故障"
    assert report["parts"][0]["serial_number"] == "SN-9"
    assert report["engineer"] == {"name": "刘工", "phone": "13900000000", "organisation": "服务商测试1"}
    assert report["device_condition"] == "正常运行" and report["test_passed"] is True
    assert report["sign_off"] == {"confirmed": False, "by": None, "at": None}
    # (五) 设备信息: 型号 and 序列号, also for the vendor's engineer without 档案资料.
    for who in ("clinician", "engineer"):
        device = world["api"][who].get(f"{BASE}/{order_id}/report").get_json()["device"]
        assert (device["model"], device["serial_number"]) == ("XZ-100", "SN-XZ-0001")
    step(world, "clinician", order_id, "confirm")
    signed = world["api"]["engineer"].get(f"{BASE}/{order_id}/report").get_json()
    assert signed["sign_off"]["confirmed"] is True and signed["sign_off"]["by"] == "王护士"
    assert signed["status"] == "confirmed"
    assert world["api"]["stranger"].get(f"{BASE}/{order_id}/report").status_code == 404


def test_history_shows_earlier_orders_of_the_device(world):
    first = create(world)["id"]
    step(world, "clinician", first, "cancel", reason="误报")
    second = create(world)["id"]
    history = world["api"]["engineer"].get(f"{BASE}/{second}/history")
    assert history.status_code == 200
    assert [row["id"] for row in history.get_json()["orders"]] == [first]
    assert history.get_json()["records"] == []
    assert world["api"]["stranger"].get(f"{BASE}/{second}/history").status_code == 404


# --- the live feed ---------------------------------------------------------------------------------


def test_polling_feed_returns_new_visible_events_only(world):
    old = create(world)["id"]
    start = world["api"]["manager"].get(f"{BASE}/events").get_json()
    assert start["items"] == [] and start["last_id"] > 0  # a page starting now gets nothing old

    step(world, "engineer", old, "accept")
    fresh = create(world)["id"]
    feed = world["api"]["manager"].get(f"{BASE}/events?after={start['last_id']}").get_json()
    assert [(item["work_order_id"], item["kind"]) for item in feed["items"]] == [(old, "accepted"), (fresh, "created")]
    first = feed["items"][0]
    assert first["number"] == f"GD{old:06d}" and first["to_status"] == "accepted" and first["actor"] == "刘工"
    assert first["from_status_label"] == "待接单" and first["label"] == "接单"
    assert feed["last_id"] == feed["items"][-1]["id"] and feed["more"] is False
    again = world["api"]["manager"].get(f"{BASE}/events?after={feed['last_id']}").get_json()
    assert again["items"] == [] and again["last_id"] == feed["last_id"]

    one = world["api"]["manager"].get(f"{BASE}/events?after={start['last_id']}&work_order_id={fresh}").get_json()
    assert [item["work_order_id"] for item in one["items"]] == [fresh]
    assert world["api"]["neighbour"].get(f"{BASE}/events?after=0").get_json()["items"] == []
    assert world["api"]["stranger"].get(f"{BASE}/events?after=0").get_json()["items"] == []
    assert world["api"]["neighbour"].get(f"{BASE}/events?after=0&work_order_id={fresh}").status_code == 404
    assert world["api"]["manager"].get(f"{BASE}/events?after=x").status_code == 422


@pytest.fixture
def short_stream(monkeypatch):
    from console_api import live_stream

    monkeypatch.setattr(live_stream, "STREAM_SECONDS", 0.6)
    return live_stream


def frames(response) -> list[str]:
    return [frame for frame in response.get_data(as_text=True).split("\n\n") if frame]


def ids_in(response_frames) -> list[int]:
    return [int(m.group(1)) for frame in response_frames for m in [re.match(r"id: (\d+)\n", frame)] if m]


def test_stream_sends_new_events_and_resumes_from_last_event_id(world, app, short_stream):
    order_id = create(world)["id"]
    step(world, "engineer", order_id, "accept")
    timeline = detail(world, "manager", order_id)["timeline"]
    created_id, accepted_id = (event["id"] for event in timeline)

    # Resuming after the first event: the second comes at once, then nothing more.
    response = world["api"]["manager"].get(f"{BASE}/stream", headers={"Last-Event-ID": str(created_id)})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Accel-Buffering"] == "no"
    sent = frames(response)
    assert sent[0] == "retry: 3000"
    assert ids_in(sent) == [accepted_id]
    frame = next(frame for frame in sent if frame.startswith("id: "))
    lines = frame.split("\n")
    assert lines[1] == "event: work_order"
    data = json.loads(lines[2].removeprefix("data: "))
    assert (data["work_order_id"], data["number"], data["to_status"]) == (order_id, f"GD{order_id:06d}", "accepted")

    # ?after= does the same; the header wins when both are given.
    after = world["api"]["manager"].get(f"{BASE}/stream?after=0", headers={"Last-Event-ID": str(accepted_id)})
    assert ids_in(frames(after)) == []
    assert ids_in(frames(world["api"]["manager"].get(f"{BASE}/stream?after=0"))) == [created_id, accepted_id]
    # Without either the stream starts now: nothing old.
    assert ids_in(frames(world["api"]["manager"].get(f"{BASE}/stream"))) == []
    # Only what the caller may see.
    assert ids_in(frames(world["api"]["stranger"].get(f"{BASE}/stream?after=0"))) == []
    assert ids_in(frames(world["api"]["neighbour"].get(f"{BASE}/stream?after=0"))) == []
    assert world["api"]["manager"].client.get(f"{BASE}/stream").status_code == 401


def test_stream_delivers_events_that_happen_while_it_is_open(world, app, client, short_stream, monkeypatch):
    monkeypatch.setattr(short_stream, "STREAM_SECONDS", 1.5)
    monkeypatch.setattr(short_stream, "HEARTBEAT_SECONDS", 0.5)
    order_id = create(world)["id"]
    engineer_headers = world["api"]["engineer"].headers

    def accept_soon():
        threading.Event().wait(0.4)
        app.test_client().post(f"{BASE}/{order_id}/accept", headers=engineer_headers)

    worker = threading.Thread(target=accept_soon)
    worker.start()
    try:
        sent = frames(world["api"]["clinician"].get(f"{BASE}/stream"))
    finally:
        worker.join()
    accepted = [json.loads(f.split("\n")[2].removeprefix("data: ")) for f in sent if f.startswith("id: ")]
    assert [(event["work_order_id"], event["kind"]) for event in accepted] == [(order_id, "accepted")]
    assert ": ping" in sent  # the heartbeat
    assert detail(world, "clinician", order_id)["status"] == "accepted"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/work-orders/99999999999999999999999",
        "/api/v1/work-orders?from=0001-01-01",
        "/api/v1/work-orders?to=9999-12-31",
        "/api/v1/work-orders/stats?from=9999-12-25&to=9999-12-31",
    ],
)
def test_out_of_range_ids_and_dates_are_clean_4xx(world, path):
    response = world["api"]["manager"].get(path)
    assert response.status_code in (404, 422), response.get_data(as_text=True)


def test_the_report_forms_device_picker_lists_the_hospitals_reportable_devices_only(world, factory):
    """A clinician has no 设备档案 on the PC (403), yet reports on any device of the hospital: the
    报修 form searches /work-orders/devices, which leaves out scrapped devices and other hospitals."""
    scrapped = factory.device(world["institution"], name="旧高压注射器", archive_status=ArchiveStatus.SCRAPPED)
    clinician = world["api"]["clinician"]

    found = clinician.get("/api/v1/work-orders/devices?q=注射器")
    assert found.status_code == 200
    page = found.get_json()
    assert [row["id"] for row in page["items"]] == [world["device"].id]
    assert page["items"][0] == {
        "id": world["device"].id,
        "unique_code": world["device"].unique_code,
        "name": "高压注射器",
        "model": "XZ-100",
        "department_id": world["departments"]["口腔科"],
        "department": "口腔科",
        "vendors": ["服务商测试1"],
    }
    everything = clinician.get("/api/v1/work-orders/devices").get_json()
    assert scrapped.id not in [row["id"] for row in everything["items"]]
    assert world["foreign_device"].id not in [row["id"] for row in everything["items"]]
    assert clinician.get("/api/v1/work-orders/devices?q=监护仪").get_json()["total"] == 0
    assert clinician.get("/api/v1/devices").status_code == 403

    assert world["api"]["manager"].get("/api/v1/work-orders/devices").get_json()["total"] == 1
    for vendor_side in ("engineer", "admin"):
        assert world["api"][vendor_side].get("/api/v1/work-orders/devices").status_code == 403
    assert clinician.get("/api/v1/work-orders/devices?per_page=500").status_code == 422
