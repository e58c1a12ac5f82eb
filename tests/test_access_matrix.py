"""The access matrix, through the API: authorization period × scope × institution, for vendor
and institution users. Periods are built around today in Asia/Shanghai, the calendar the rule
uses; no job runs between cases, so expiry needing no job is shown too. On the PC the vendor
side's view of devices is its admin's (its engineers have 工单 only there: test_console_role_access);
the rule is the vendor's, whoever of it asks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Role, Scope
from operations.clock import today_local

RECORD_KINDS = ("repair", "maintenance", "metrology")


def period(case: str):
    today = today_local()
    return {
        "before_start": dict(starts_on=today + timedelta(days=1), ends_on=today + timedelta(days=30)),
        "first_day": dict(starts_on=today, ends_on=today + timedelta(days=30)),
        "last_day": dict(starts_on=today - timedelta(days=30), ends_on=today),
        "after_end": dict(starts_on=today - timedelta(days=30), ends_on=today - timedelta(days=1)),
        "cancelled": dict(starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=30), cancelled=True),
    }[case]


GRANTS_ACCESS = {"before_start": False, "first_day": True, "last_day": True, "after_end": False, "cancelled": False}


@pytest.fixture
def world(factory, client):
    """Two institutions, each with one device; one vendor serving institution A."""
    inst_a = factory.institution("医疗机构A")
    inst_b = factory.institution("医疗机构B")
    manager_a = factory.manager(inst_a)
    manager_b = factory.manager(inst_b)
    vendor = factory.accepted_vendor(inst_a, "服务商甲")
    engineer = factory.user(Role.VENDOR_ADMIN, vendor=vendor)
    device_a = factory.device(inst_a, name="高压注射器", serial_number="SN-A")
    device_b = factory.device(inst_b, name="呼吸机", serial_number="SN-B")
    return {
        "factory": factory,
        "vendor": vendor,
        "device_a": device_a,
        "device_b": device_b,
        "engineer": factory.api(client, engineer),
        "manager_a": factory.api(client, manager_a),
        "manager_b": factory.api(client, manager_b),
    }


def listed_ids(api) -> set[int]:
    response = api.get("/api/v1/devices?per_page=100")
    assert response.status_code == 200
    return {item["id"] for item in response.get_json()["items"]}


@pytest.mark.parametrize("case", list(GRANTS_ACCESS))
@pytest.mark.parametrize("scope", [scope.value for scope in Scope])
def test_vendor_user_sees_only_what_an_active_authorization_grants(world, case, scope):
    device_a, device_b = world["device_a"], world["device_b"]
    world["factory"].authorization(device_a, world["vendor"], scopes={Scope(scope)}, **period(case))
    engineer = world["engineer"]
    visible = GRANTS_ACCESS[case]

    assert listed_ids(engineer) == ({device_a.id} if visible else set())
    detail = engineer.get(f"/api/v1/devices/{device_a.id}")
    assert detail.status_code == (200 if visible else 404)
    if visible:
        body = detail.get_json()
        assert body["scopes"] == [scope]
        # Archive fields are part of the answer only with the 档案资料 scope.
        assert ("serial_number" in body) == (scope == "archive")
    for kind in RECORD_KINDS:
        records = engineer.get(f"/api/v1/devices/{device_a.id}/records/{kind}")
        expected = (200 if kind == scope else 403) if visible else 404
        assert records.status_code == expected, (case, scope, kind)
    # 附件 (manuals, contracts) go with the device whatever the scope: an engineer needs the manual.
    assert engineer.get(f"/api/v1/devices/{device_a.id}/attachments").status_code == (200 if visible else 404)
    assert engineer.get(f"/api/v1/devices/{device_b.id}/attachments").status_code == 404

    # The other institution's device is never visible to this vendor.
    assert engineer.get(f"/api/v1/devices/{device_b.id}").status_code == 404
    for kind in RECORD_KINDS:
        assert engineer.get(f"/api/v1/devices/{device_b.id}/records/{kind}").status_code == 404


@pytest.mark.parametrize("case", list(GRANTS_ACCESS))
@pytest.mark.parametrize("scope", [scope.value for scope in Scope])
def test_institution_users_see_their_own_devices_whatever_the_authorization(world, case, scope):
    device_a, device_b = world["device_a"], world["device_b"]
    world["factory"].authorization(device_a, world["vendor"], scopes={Scope(scope)}, **period(case))
    manager_a, manager_b = world["manager_a"], world["manager_b"]

    assert listed_ids(manager_a) == {device_a.id}
    detail = manager_a.get(f"/api/v1/devices/{device_a.id}")
    assert detail.status_code == 200
    assert detail.get_json()["scopes"] == [s.value for s in Scope]
    assert detail.get_json()["serial_number"] == "SN-A"
    for kind in RECORD_KINDS:
        assert manager_a.get(f"/api/v1/devices/{device_a.id}/records/{kind}").status_code == 200

    # Other institution: nothing, whichever way it is asked.
    assert listed_ids(manager_b) == {device_b.id}
    assert manager_b.get(f"/api/v1/devices/{device_a.id}").status_code == 404
    assert manager_b.get(f"/api/v1/devices/{device_a.id}/authorizations").status_code == 404
    for kind in RECORD_KINDS:
        assert manager_b.get(f"/api/v1/devices/{device_a.id}/records/{kind}").status_code == 404
    assert manager_a.get(f"/api/v1/devices/{device_b.id}").status_code == 404


def test_a_vendor_authorized_by_two_institutions_sees_both_and_only_those(factory, client):
    inst_a = factory.institution("医疗机构A")
    inst_b = factory.institution("医疗机构B")
    factory.manager(inst_a)
    vendor = factory.accepted_vendor(inst_a, "服务商甲")
    other_vendor = factory.accepted_vendor(inst_a, "服务商乙")
    engineer = factory.api(client, factory.user(Role.VENDOR_ADMIN, vendor=vendor))
    today = today_local()
    device_a = factory.device(inst_a)
    device_b = factory.device(inst_b)
    unrelated = factory.device(inst_a)
    factory.authorization(device_a, vendor, starts_on=today, ends_on=today)
    factory.authorization(device_b, vendor, starts_on=today, ends_on=today)
    factory.authorization(unrelated, other_vendor, starts_on=today, ends_on=today)

    assert listed_ids(engineer) == {device_a.id, device_b.id}
    assert engineer.get(f"/api/v1/devices/{unrelated.id}").status_code == 404


def test_a_vendor_sees_only_itself_in_the_vendor_column(factory, client):
    institution = factory.institution()
    manager = factory.api(client, factory.manager(institution))
    repair_vendor = factory.accepted_vendor(institution, "维修服务商")
    metrology_vendor = factory.accepted_vendor(institution, "计量服务商")
    engineer = factory.api(client, factory.user(Role.VENDOR_ADMIN, vendor=repair_vendor))
    device = factory.device(institution)
    today = today_local()
    factory.authorization(device, repair_vendor, starts_on=today, ends_on=today, scopes={Scope.REPAIR})
    factory.authorization(device, metrology_vendor, starts_on=today, ends_on=today, scopes={Scope.METROLOGY})

    assert manager.get("/api/v1/devices").get_json()["items"][0]["vendors"] == ["维修服务商", "计量服务商"]
    assert engineer.get("/api/v1/devices").get_json()["items"][0]["vendors"] == ["维修服务商"]
