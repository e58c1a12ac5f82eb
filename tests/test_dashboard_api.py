"""首页 (GET /api/v1/dashboard): each role's figures over its own scope, and nobody else's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Role, Scope

URGENT = "urgent"


def _order(api, device, urgency="normal"):
    body = {
        "device_id": device.id,
        "kind": "repair",
        "urgency": urgency,
        "contact_name": "王护士",
        "contact_methods": [{"kind": "mobile", "value": "13800000002"}, {"kind": "landline", "value": "8021"}],
        "fault_description": "开机后报错 E21",
    }
    response = api.post("/api/v1/work-orders", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _credential(api, device, valid_until, **fields):
    body = {"kind": "operation_certificate", "device_ids": [device.id], "valid_until": valid_until.isoformat()}
    response = api.post("/api/v1/credentials", json=body | fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _warn(authorization, days):
    """到期预警 on, with its plan, as the 服务商授权 form would leave it."""
    from models import Authorization, db
    from operations.alerts.plans import plan_authorization

    row = db.session.get(Authorization, authorization.id)
    row.warn_enabled, row.warn_days = True, days
    plan_authorization(row, None)
    db.session.commit()


@pytest.fixture
def world(app, factory, client):
    from operations.clock import today_local

    with app.app_context():
        today = today_local()
    day = timedelta(days=1)
    institution = factory.institution("第一医院", departments=("影像中心", "口腔科"))
    other = factory.institution("第二医院")
    vendor = factory.accepted_vendor(institution, "迈瑞服务")
    rival = factory.accepted_vendor(institution, "联影服务")
    factory.accepted_vendor(other, "迈瑞服务二")  # nothing of it shows anywhere here
    people = {
        "manager": factory.manager(institution),
        "engineer": factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="院内李工"),
        "clinician": factory.user(Role.CLINICIAN, institution=institution, display_name="王护士"),
        "vendor_engineer": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="工程师甲"),
        "other_manager": factory.manager(other),
        "other_clinician": factory.user(Role.CLINICIAN, institution=other, display_name="赵护士"),
    }
    with app.app_context():
        from models import User, db

        people["vendor_admin"] = db.session.scalar(
            db.select(User).where(User.vendor_id == vendor.id, User.role == Role.VENDOR_ADMIN)
        )
        people["rival_admin"] = db.session.scalar(
            db.select(User).where(User.vendor_id == rival.id, User.role == Role.VENDOR_ADMIN)
        )
        db.session.expunge_all()
    injector = factory.device(institution, name="高压注射器", department="影像中心")
    ct = factory.device(institution, name="CT 扫描仪", department="影像中心")
    lamp = factory.device(institution, name="裂隙灯", department="口腔科")
    far = factory.device(institution, name="监护仪", department="口腔科")
    own = factory.device(institution, name="输液泵", department="口腔科")  # no vendor: in-house
    theirs = factory.device(other, name="第二医院呼吸机")
    repair = set(Scope)
    ending = factory.authorization(injector, vendor, starts_on=today - 100 * day, ends_on=today + 10 * day)
    factory.authorization(ct, vendor, starts_on=today - 100 * day, ends_on=today + 20 * day, scopes=repair)
    factory.authorization(far, vendor, starts_on=today - day, ends_on=today + 300 * day, scopes=repair)
    factory.authorization(lamp, rival, starts_on=today - day, ends_on=today + 3 * day, scopes=repair)
    factory.authorization(theirs, vendor, starts_on=today - day, ends_on=today + 2 * day, scopes=repair)
    with app.app_context():
        _warn(ending, 15)  # in its window: 10 days left of 15
    apis = {name: factory.api(client, user) for name, user in people.items()}
    manager, other_manager = apis["manager"], apis["other_manager"]
    credentials = {
        "soon": _credential(manager, lamp, today + 3 * day, number="SOON"),  # 5 days' warning by default
        "later": _credential(manager, lamp, today + 40 * day, number="LATER"),
        "past": _credential(manager, ct, today - 2 * day, number="PAST"),
        "handled": _credential(manager, ct, today - 5 * day, number="HANDLED"),
        "theirs": _credential(other_manager, theirs, today - 1 * day, number="THEIRS"),
    }
    with app.app_context():
        from models import AlertPlan, db

        handled_plan = db.session.scalar(
            db.select(AlertPlan.id).where(AlertPlan.credential_id == credentials["handled"]["id"])
        )
    assert manager.post(f"/api/v1/alert-plans/{handled_plan}/handle", json={"note": "已换证"}).status_code == 200
    orders = {
        "vendor_urgent": _order(apis["clinician"], injector, URGENT),
        "vendor_normal": _order(apis["clinician"], ct),
        "in_house_downtime": _order(apis["clinician"], own, "downtime"),
        "rival_urgent": _order(apis["clinician"], lamp, URGENT),
        "theirs_urgent": _order(apis["other_clinician"], theirs, URGENT),
    }
    return {"api": apis, "today": today, "credentials": credentials, "orders": orders, "ending": ending}


def _dashboard(api) -> dict:
    response = api.get("/api/v1/dashboard")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _counts(body) -> dict[str, int]:
    return {row["status"]: row["count"] for row in body["work_orders"]["by_status"] if row["count"]}


@pytest.mark.parametrize("who", ["manager", "engineer"])
def test_the_institution_sees_its_alerts_orders_and_ending_authorizations(world, who):
    body = _dashboard(world["api"][who])
    today = world["today"]
    assert body["today"] == today.isoformat()

    in_window = body["alerts_in_window"]
    assert in_window["link"] == "/alert-plans?phase=warning"
    # The credential 3 days from expiry (5 days' warning) and the authorization 10 days from its end
    # (15 days' warning); not the one 40 days away, nor the other hospital's.
    assert in_window["total"] == 2
    assert [row["subject"] for row in in_window["items"]] == ["credential", "authorization"]
    soon, authorization = in_window["items"]
    assert soon["credential_id"] == world["credentials"]["soon"]["id"]
    assert soon["days_left"] == 3 and soon["subject_label"] == "证照到期" and soon["status_label"] == "预警中"
    assert soon["subject_name"] == "裂隙灯"
    assert authorization["authorization_id"] == world["ending"].id
    assert authorization["vendor_name"] == "迈瑞服务" and authorization["days_left"] == 10

    overdue = body["alerts_overdue"]
    assert overdue["total"] == 1  # the handled one is done with; the other hospital's is theirs
    assert overdue["items"][0]["credential_id"] == world["credentials"]["past"]["id"]
    assert overdue["items"][0]["days_left"] == -2

    assert _counts(body) == {"pending": 4}
    assert body["work_orders"]["total"] == 4
    labels = {row["status"]: row["status_label"] for row in body["work_orders"]["by_status"]}
    assert labels["pending"] == "待接单" and labels["completed"] == "待确认"
    assert "closed" not in labels and "cancelled" not in labels
    pending = next(row for row in body["work_orders"]["by_status"] if row["status"] == "pending")
    assert pending["link"] == "/work-orders?status=pending"

    emergencies = body["emergencies"]
    assert emergencies["total"] == 3
    expected = [world["orders"][name]["id"] for name in ("vendor_urgent", "in_house_downtime", "rival_urgent")]
    assert [row["id"] for row in emergencies["items"]] == expected  # oldest first
    assert emergencies["items"][0]["urgency_label"] == "紧急"

    ending = body["ending_authorizations"]
    # 高压注射器 within its 15 days; 裂隙灯 (3 days) and CT (20 days) within the default 30; not 监护仪.
    assert [row["device_name"] for row in ending["items"]] == ["裂隙灯", "高压注射器", "CT 扫描仪"]
    assert ending["total"] == 3
    assert ending["items"][1]["warn_days"] == 15 and ending["items"][1]["days_left"] == 10
    assert ending["items"][0]["vendor_name"] == "联影服务"
    # Only the manager may open 委外关联; the in-house engineer is led to the outsourced devices.
    assert ending["link"] == {"manager": "/outsourcing", "engineer": "/devices?outsourced=true"}[who]


def test_the_alert_plan_list_filters_by_the_phases_the_dashboard_counts(world):
    """首页's 预警中 and 到期未处理 open the 预警计划 list on the same plans, and every plan has a phase."""
    api = world["api"]["manager"]
    body = _dashboard(api)
    everything = api.get("/api/v1/alert-plans?per_page=100").get_json()
    phases = {plan["id"]: (plan["phase"], plan["phase_label"]) for plan in everything["items"]}
    for figure, phase, label in (
        ("alerts_in_window", "warning", "预警中"),
        ("alerts_overdue", "overdue", "到期未处理"),
    ):
        listed = api.get(f"/api/v1{body[figure]['link']}&per_page=100")
        assert listed.status_code == 200, listed.get_json()
        ids = [plan["id"] for plan in listed.get_json()["items"]]
        assert listed.get_json()["total"] == body[figure]["total"] == len(ids)
        assert all(phases[plan_id] == (phase, label) for plan_id in ids)
    # The plan 40 days away has not begun to warn; the handled one says so.
    assert {phase for phase, _ in phases.values()} >= {"waiting", "warning", "overdue", "handled"}
    assert (
        sum(1 for phase, _ in phases.values() if phase == "waiting")
        == api.get("/api/v1/alert-plans?phase=waiting").get_json()["total"]
    )
    assert api.get("/api/v1/alert-plans?phase=soon").status_code == 422


def test_a_vendor_admin_sees_only_what_its_vendor_is_authorized_for(world):
    body = _dashboard(world["api"]["vendor_admin"])
    assert body["alerts_in_window"] is None and body["alerts_overdue"] is None
    # Its orders in both hospitals; not the rival's, not the in-house one.
    assert _counts(body) == {"pending": 3}
    ids = [row["id"] for row in body["emergencies"]["items"]]
    assert ids == [world["orders"]["vendor_urgent"]["id"], world["orders"]["theirs_urgent"]["id"]]
    ending = body["ending_authorizations"]
    assert [(row["institution_name"], row["device_name"]) for row in ending["items"]] == [
        ("第二医院", "第二医院呼吸机"),
        ("第一医院", "高压注射器"),
        ("第一医院", "CT 扫描仪"),
    ]
    rival = _dashboard(world["api"]["rival_admin"])
    assert [row["device_name"] for row in rival["ending_authorizations"]["items"]] == ["裂隙灯"]
    assert [row["id"] for row in rival["emergencies"]["items"]] == [world["orders"]["rival_urgent"]["id"]]


def test_another_institution_sees_none_of_it(world):
    body = _dashboard(world["api"]["other_manager"])
    assert body["alerts_in_window"]["total"] == 0
    assert [row["credential_id"] for row in body["alerts_overdue"]["items"]] == [world["credentials"]["theirs"]["id"]]
    assert _counts(body) == {"pending": 1}
    assert [row["id"] for row in body["emergencies"]["items"]] == [world["orders"]["theirs_urgent"]["id"]]
    assert [row["device_name"] for row in body["ending_authorizations"]["items"]] == ["第二医院呼吸机"]


def test_an_accepted_emergency_waits_until_someone_arrives(world):
    api = world["api"]
    order_id = world["orders"]["in_house_downtime"]["id"]
    before = _dashboard(api["manager"])["emergencies"]["total"]
    assert api["engineer"].post(f"/api/v1/work-orders/{order_id}/accept", json={}).status_code == 200
    body = _dashboard(api["manager"])
    assert body["emergencies"]["total"] == before  # accepted, not there yet
    assert _counts(body) == {"pending": 3, "accepted": 1}
    assert api["engineer"].post(f"/api/v1/work-orders/{order_id}/depart", json={}).status_code == 200
    assert api["engineer"].post(f"/api/v1/work-orders/{order_id}/arrive", json={}).status_code == 200
    assert _dashboard(api["manager"])["emergencies"]["total"] == before - 1


@pytest.mark.parametrize("who", ["clinician", "vendor_engineer"])
def test_clinicians_and_vendor_engineers_have_no_dashboard(world, who):
    response = world["api"][who].get("/api/v1/dashboard")
    assert response.status_code == 403
    assert "工单" in response.get_json()["error"]["message"]


def test_me_names_the_callers_institution_or_vendor(world):
    assert world["api"]["manager"].get("/api/v1/me").get_json()["organization_name"] == "第一医院"
    assert world["api"]["vendor_admin"].get("/api/v1/me").get_json()["organization_name"] == "迈瑞服务"
    assert world["api"]["other_clinician"].get("/api/v1/me").get_json()["organization_name"] == "第二医院"


def test_the_figures_take_the_same_few_queries_however_many_rows_there_are(world, app, factory, client):
    """Counts are SQL's, and only the nearest rows are loaded: more alerts and orders add no query."""
    from sqlalchemy import event

    from models import db

    def statements() -> int:
        seen = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            _dashboard(world["api"]["manager"])
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    before = statements()
    manager, clinician = world["api"]["manager"], world["api"]["clinician"]
    with app.app_context():
        from models import Institution

        institution = db.session.scalar(db.select(Institution).where(Institution.name == "第一医院"))
        db.session.expunge(institution)
    for number in range(8):
        device = factory.device(institution, name=f"监护仪{number}")
        _credential(manager, device, world["today"] + timedelta(days=2), number=f"MORE{number}")
        _order(clinician, device, URGENT)
    body = _dashboard(manager)
    assert body["alerts_in_window"]["total"] == 10 and len(body["alerts_in_window"]["items"]) == 5
    assert body["emergencies"]["total"] == 11 and len(body["emergencies"]["items"]) == 5
    assert statements() == before
