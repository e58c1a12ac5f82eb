"""Clinicians and vendor engineers get 工单 and 首页通知 on the PC, and nothing else: every other
GET route of the PC API answers them 403 (not 200 with an empty list, not 404), while the roles
the screen is for still get 200 from the same request.

The routes are enumerated from the route table (what openapi.json documents), so a route added
later is covered without touching this file; ids in paths are filled with real rows of the
caller's own organisation, so a 403 is the rule speaking, not a missing row.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from models import Role

# 工单 (the list, the queue, an order's detail and its parts, photos, history and report, the live
# timeline), 首页通知, the live stream of both, the person's own account and session, what a device's
# sticker page offers them (its open orders, whether they may report), and what needs no sign-in.
ALLOWED = re.compile(
    r"^/(work-orders(?!/stats)(/.*)?|inbox(/.*)?|live|me(/.*)?|session(/.*)?|device-links/x/orders|openapi\.json)$"
)
# Deliberate exceptions, with their reasons.
EXCEPTIONS = {
    # A clinician named on an alert plan (指定人员 may be anyone of the hospital) gets its notices in
    # 首页通知, which links to the plan, and may handle it there; any other plan is 404 to them
    # (operations.alerts.plans.get_plan), as every id they may not see.
    "/alert-plans/<int:plan_id>": "a recipient opens the plan its notice names",
    "/alert-plans/<int:plan_id>/deliveries": "a recipient sees that plan's 发送记录",
}
ROLES_WITH_WORK_ORDERS_ONLY = (Role.CLINICIAN, Role.VENDOR_ENGINEER)


def _get_routes() -> list[str]:
    import console_api  # noqa: F401 - registers the views
    from console_api.routes import TABLE

    return sorted({route.path for route in TABLE.routes if route.method == "GET" and route.auth != "none"})


GUARDED = [path for path in _get_routes() if not ALLOWED.match(re.sub(r"<[^>]+>", "x", path))]


@pytest.fixture
def world(app, factory, client):
    from models import AlertPlan, User, db
    from operations.clock import today_local

    with app.app_context():
        today = today_local()
    institution = factory.institution("第一医院", departments=("影像中心",))
    vendor = factory.accepted_vendor(institution, "迈瑞服务")
    manager = factory.manager(institution)
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    engineer = factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="工程师甲")
    device = factory.device(institution, name="高压注射器", department="影像中心")
    authorization = factory.authorization(
        device, vendor, starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=60)
    )
    with app.app_context():
        admin = db.session.scalar(db.select(User).where(User.vendor_id == vendor.id, User.role == Role.VENDOR_ADMIN))
        db.session.expunge(admin)
    apis = {
        Role.EQUIPMENT_MANAGER: factory.api(client, manager),
        Role.VENDOR_ADMIN: factory.api(client, admin),
        Role.CLINICIAN: factory.api(client, clinician),
        Role.VENDOR_ENGINEER: factory.api(client, engineer),
    }
    office = apis[Role.EQUIPMENT_MANAGER]
    credential = office.post(
        "/api/v1/credentials",
        json={"kind": "operation_certificate", "device_ids": [device.id], "valid_until": "2030-01-01"},
    ).get_json()
    attachment = office.post(
        f"/api/v1/credentials/{credential['id']}/attachments",
        data={"file": (__import__("io").BytesIO(b"%PDF-1.4\n%%EOF\n"), "证.pdf", "application/pdf")},
        content_type="multipart/form-data",
    ).get_json()
    # A device's 附件: the same `attachment_id` names it under the device's path.
    device_file = office.post(
        f"/api/v1/devices/{device.id}/attachments",
        data={"category": "manual", "file": (__import__("io").BytesIO(b"%PDF-1.4\n%%EOF\n"), "说明书.pdf")},
        content_type="multipart/form-data",
    ).get_json()
    with app.app_context():
        plan_id = db.session.scalar(db.select(AlertPlan.id).where(AlertPlan.credential_id == credential["id"]))
    ids = {
        "device_id": device.id,
        "authorization_id": authorization.id,
        "credential_id": credential["id"],
        "attachment_id": (attachment.get("items") or [attachment])[-1]["id"],
        "device_attachment_id": device_file["id"],
        "plan_id": plan_id,
        "record_id": 1,  # the guard answers before the record is looked up
        "kind": "repair",
        # No import has to exist: the office's guard answers before the import is looked up.
        "import_id": "0123456789abcdef",
    }
    return {"api": apis, "ids": ids, "own_user": {Role.CLINICIAN: clinician.id, Role.VENDOR_ENGINEER: engineer.id}}


def _url(path: str, ids: dict, role: Role, own_user: dict) -> str:
    def fill(match: re.Match) -> str:
        converter, _, name = match.group(1).rpartition(":")
        if name == "user_id":
            return str(own_user[role])
        if converter.startswith("any"):
            return ids["kind"]
        if name == "attachment_id" and path.startswith("/devices/"):
            return str(ids["device_attachment_id"])
        return str(ids[name])

    query = "?ids=" + str(ids["device_id"]) if path == "/devices/labels" else ""
    return "/api/v1" + re.sub(r"<([^>]+)>", fill, path) + query


def test_the_enumeration_covers_the_office_screens():
    # Sanity: the route table is read, and the screens the two roles must not have are in it.
    for path in ("/devices", "/credentials", "/alert-plans", "/staff", "/audit-log", "/dashboard"):
        assert path in GUARDED, path
    for path in ("/devices/<int:device_id>/attachments", "/devices/<int:device_id>/transfers"):
        assert path in GUARDED, path
    assert "/work-orders/stats" in GUARDED
    assert not [path for path in GUARDED if path.startswith(("/inbox", "/me", "/work-orders/<"))]


@pytest.mark.parametrize("role", ROLES_WITH_WORK_ORDERS_ONLY, ids=lambda role: role.value)
def test_roles_with_work_orders_only_get_403_everywhere_else(world, role):
    api = world["api"][role]
    answered = {}
    for path in GUARDED:
        response = api.get(_url(path, world["ids"], role, world["own_user"]))
        if path in EXCEPTIONS:
            assert response.status_code in (403, 404), (path, EXCEPTIONS[path])  # not theirs: 404
        elif response.status_code != 403:
            answered[path] = response.status_code
    assert answered == {}, "\n".join(f"{path} {status}" for path, status in answered.items())
    # The figures behind the 403 are still there for the office: the same requests answer 200.
    office = world["api"][Role.VENDOR_ADMIN if role is Role.VENDOR_ENGINEER else Role.EQUIPMENT_MANAGER]
    device_id = world["ids"]["device_id"]
    for path in (
        "/devices",
        f"/devices/{device_id}",
        f"/devices/{device_id}/attachments",
        f"/devices/{device_id}/attachments/{world['ids']['device_attachment_id']}",
    ):
        assert office.get("/api/v1" + path).status_code == 200, path
    if office is world["api"][Role.EQUIPMENT_MANAGER]:
        assert office.get(f"/api/v1/devices/{device_id}/transfers").status_code == 200


def test_the_work_order_and_inbox_routes_stay_open_to_them(world):
    for role in ROLES_WITH_WORK_ORDERS_ONLY:
        api = world["api"][role]
        for path in ("/api/v1/work-orders", "/api/v1/work-orders/queue", "/api/v1/inbox", "/api/v1/me"):
            assert api.get(path).status_code == 200, (role, path)
