"""What a vendor sees: the SOP's device fields without 档案资料, an accepted order finished after its
authorization lapsed (by its engineer and the vendor admin, within the scopes it had), the device
and unaccepted orders gone at the lapse, the authorization list, and the inbox."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from models import Scope, db
from operations.clock import LOCAL_TZ, frozen, today_local
from tests.test_work_orders_api import BASE, create, detail, step, to_completed, world  # noqa: F401

SOP_FIELDS = {"id", "name", "unique_code", "department", "model", "serial_number"}
ARCHIVE_FIELDS = {"asset_code", "brand", "manufacturer", "category", "installed_on", "warranty_ends_on"}


@pytest.fixture
def site(request, factory):
    """test_work_orders_api's world, with a device that has a full archive and a record, serviced
    by the world's vendor for repairs only (no 档案资料)."""
    site = request.getfixturevalue("world")
    device = factory.device(
        site["institution"],
        name="CT 机",
        department="口腔科",
        model="CT-64",
        serial_number="SN-7788",
        asset_code="ZC-2020-001",
        brand="联影",
        manufacturer="上海联影医疗",
        category="CT",
        installed_on=date(2020, 5, 1),
        warranty_ends_on=date(2027, 5, 1),
    )
    today = today_local()
    authorization = factory.authorization(
        device,
        site["vendor"],
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=10),
        scopes={Scope.REPAIR},
    )
    recorded = site["api"]["manager"].post(
        f"/api/v1/devices/{device.id}/records/repair",
        json={"performed_on": (today - timedelta(days=40)).isoformat(), "summary": "更换球管"},
    )
    assert recorded.status_code == 201, recorded.get_json()
    site["device"] = device  # create() reports on this device from here on
    site["archived"] = {"device": device, "authorization": authorization}
    return site


def test_without_the_archive_scope_a_vendor_sees_the_sops_device_fields(site, factory, app):
    order_id = create(site)["id"]
    for who in ("engineer", "admin"):
        device = detail(site, who, order_id)["device"]
        assert set(device) == SOP_FIELDS
        assert (device["model"], device["serial_number"], device["department"]) == ("CT-64", "SN-7788", "口腔科")
    # The hospital sees the whole archive as it stood at intake.
    assert set(detail(site, "manager", order_id)["device"]) >= ARCHIVE_FIELDS

    to_completed(site, order_id)
    report = site["api"]["engineer"].get(f"{BASE}/{order_id}/report").get_json()
    assert set(report["device"]) == SOP_FIELDS
    assert set(site["api"]["manager"].get(f"{BASE}/{order_id}/report").get_json()["device"]) >= ARCHIVE_FIELDS


def test_with_the_archive_scope_the_vendor_sees_the_archive(site, factory, app):
    from models import Authorization

    with app.app_context():
        authorization = db.session.get(Authorization, site["archived"]["authorization"].id)
        authorization.scopes = {Scope.REPAIR, Scope.ARCHIVE}
        db.session.commit()
    order_id = create(site)["id"]
    assert set(detail(site, "engineer", order_id)["device"]) >= ARCHIVE_FIELDS


def cancel(site, authorization) -> None:
    response = site["api"]["manager"].post(
        f"/api/v1/authorizations/{authorization.id}/cancel", json={"reason": "合同终止"}
    )
    assert response.status_code == 200, response.get_json()


def after_it_ran_out(days: int = 11):
    """The clock on a morning after the site's authorization ended (it runs to today + 10)."""
    return frozen(datetime.combine(today_local() + timedelta(days=days), time(9), tzinfo=LOCAL_TZ))


def test_an_accepted_order_outlives_its_authorization_for_its_engineer_and_admin(site):
    taken = create(site)["id"]
    waiting = create(site)["id"]
    step(site, "engineer", taken, "accept")

    with after_it_ran_out():
        # The engineer who took it and the vendor admin finish it; nobody else of the vendor sees it.
        assert detail(site, "engineer", taken)["status"] == "accepted"
        assert detail(site, "admin", taken)["number"]
        assert site["api"]["engineer2"].get(f"{BASE}/{taken}").status_code == 404
        assert [row["id"] for row in site["api"]["engineer"].get(f"{BASE}/queue").get_json()["items"]] == [taken]
        # Within the scopes it had: the device's repair history, as before the end.
        history = site["api"]["engineer"].get(f"{BASE}/{taken}/history").get_json()
        assert [record["summary"] for record in history["records"]] == ["更换球管"]

        # The device and the order nobody accepted are gone; a new report goes in-house.
        device_id = site["archived"]["device"].id
        assert site["api"]["admin"].get(f"/api/v1/devices/{device_id}").status_code == 404
        for who in ("engineer", "admin"):
            assert site["api"][who].get(f"{BASE}/{waiting}").status_code == 404
        fresh = create(site)
        assert fresh["in_house"] is True
        assert site["api"]["admin"].get(f"{BASE}/{fresh['id']}").status_code == 404

        step(site, "engineer", taken, "arrive")
        step(site, "engineer", taken, "diagnose", diagnosis="球管老化")
        completion = {
            "work_done": "更换球管",
            "test_result": "扫描正常",
            "test_passed": True,
            "device_condition": "normal",
        }
        step(site, "engineer", taken, "complete", **completion)
        step(site, "clinician", taken, "confirm")
        step(site, "clinician", taken, "rate", rating=5)
        # Closed: the order is the hospital's record now, no longer the vendor's.
        assert detail(site, "manager", taken)["status"] == "closed"
        for who in ("engineer", "admin"):
            assert site["api"][who].get(f"{BASE}/{taken}").status_code == 404


def test_cancelling_the_authorization_takes_even_accepted_orders_at_once(site):
    taken = create(site)["id"]
    step(site, "engineer", taken, "accept")
    cancel(site, site["archived"]["authorization"])
    for who in ("engineer", "admin"):
        assert site["api"][who].get(f"{BASE}/{taken}").status_code == 404
        assert site["api"][who].post(f"{BASE}/{taken}/arrive", json={}).status_code == 404
    assert site["api"]["engineer"].get(f"{BASE}/queue").get_json()["items"] == []


def test_a_renewal_with_narrower_scopes_shows_only_what_it_grants(site, factory, app):
    from models import Authorization

    wide = site["archived"]["authorization"]
    with app.app_context():
        db.session.get(Authorization, wide.id).scopes = {Scope.ARCHIVE, Scope.REPAIR, Scope.MAINTENANCE}
        db.session.commit()
    device = site["archived"]["device"]
    today = today_local()
    maintained = site["api"]["manager"].post(
        f"/api/v1/devices/{device.id}/records/maintenance",
        json={"performed_on": (today - timedelta(days=5)).isoformat(), "summary": "季度保养"},
    )
    assert maintained.status_code == 201
    factory.authorization(
        device,
        site["vendor"],
        starts_on=today + timedelta(days=11),
        ends_on=today + timedelta(days=100),
        scopes={Scope.REPAIR},
    )
    order_id = create(site)["id"]  # routed under the wide one, nobody has accepted it
    assert set(detail(site, "engineer", order_id)["device"]) >= ARCHIVE_FIELDS

    with after_it_ran_out(days=12):  # the renewal is in force, repairs only
        assert set(detail(site, "engineer", order_id)["device"]) == SOP_FIELDS
        history = site["api"]["engineer"].get(f"{BASE}/{order_id}/history").get_json()
        assert [record["summary"] for record in history["records"]] == ["更换球管"]


def test_an_order_nobody_accepted_goes_with_an_expired_authorization(site, app):
    order_id = create(site)["id"]
    with after_it_ran_out():
        assert site["api"]["admin"].get(f"{BASE}/{order_id}").status_code == 404
        assert site["api"]["engineer"].get(f"{BASE}/queue").get_json()["items"] == []


def test_the_vendors_authorization_list_hides_the_devices_of_ended_ones(site, factory):
    today = today_local()
    device = site["archived"]["device"]
    upcoming = factory.authorization(
        device,
        site["vendor"],
        starts_on=today + timedelta(days=20),
        ends_on=today + timedelta(days=200),
        scopes={Scope.REPAIR},
    )
    expired = factory.authorization(
        device,
        site["vendor"],
        starts_on=today - timedelta(days=400),
        ends_on=today - timedelta(days=30),
        scopes={Scope.REPAIR},
    )
    cancelled = factory.authorization(
        device,
        site["vendor"],
        starts_on=today - timedelta(days=500),
        ends_on=today - timedelta(days=401),
        scopes={Scope.ARCHIVE},
        cancelled=True,
    )
    items = {item["id"]: item for item in site["api"]["admin"].get("/api/v1/authorizations").get_json()["items"]}
    for shown in (site["archived"]["authorization"], upcoming):
        item = items[shown.id]
        assert (item["device_id"], item["device_name"], item["unique_code"]) == (device.id, "CT 机", device.unique_code)
        assert item["institution"] == "医疗机构测试1"
    for ended, state in ((expired, "expired"), (cancelled, "cancelled")):
        item = items[ended.id]
        assert (item["device_id"], item["device_name"], item["unique_code"]) == (None, None, None)
        assert item["state"] == state and item["starts_on"] == ended.starts_on.isoformat() and item["scopes"]


def test_the_vendors_inbox_hides_notices_about_orders_it_can_no_longer_open(site, app):
    from jobs.runtime import make_worker

    taken = create(site)["id"]
    waiting = create(site)["id"]
    step(site, "engineer", taken, "accept")
    make_worker(app, simple=True).work(burst=True)  # the notices reach the inboxes
    admin = site["api"]["admin"]

    def orders_in_inbox() -> set[int]:
        return {item["work_order_id"] for item in admin.get("/api/v1/inbox").get_json()["items"]}

    assert orders_in_inbox() == {taken, waiting}
    unread_before = admin.get("/api/v1/inbox/unread-count").get_json()["unread"]
    hidden = [item["id"] for item in admin.get("/api/v1/inbox").get_json()["items"] if item["work_order_id"] == waiting]

    with after_it_ran_out():
        assert orders_in_inbox() == {taken}
        assert admin.get("/api/v1/inbox/unread-count").get_json()["unread"] == unread_before - len(hidden)
        assert admin.post(f"/api/v1/inbox/{hidden[0]}/read").status_code == 404
    cancel(site, site["archived"]["authorization"])  # and a cancel takes the accepted one's notices too
    assert orders_in_inbox() == set()


def test_the_vendor_admin_reads_his_own_vendors_current_authorizations_of_a_device(site, factory, app, client):
    """The device's 维保商 tab for a vendor admin: his vendor's terms in force or to come, nothing of
    another vendor's nor of the ended ones; the events stay the hospital's."""
    from models import Role, User

    device = site["archived"]["device"]
    current = site["archived"]["authorization"]
    today = today_local()
    upcoming = factory.authorization(
        device, site["vendor"], starts_on=today + timedelta(days=20), ends_on=today + timedelta(days=80)
    )
    factory.authorization(
        device, site["vendor"], starts_on=today - timedelta(days=90), ends_on=today - timedelta(days=30)
    )
    other_vendor = factory.accepted_vendor(site["institution"], "服务商测试3")
    theirs = factory.authorization(
        device, other_vendor, starts_on=today, ends_on=today + timedelta(days=30), scopes={Scope.METROLOGY}
    )
    path = f"/api/v1/devices/{device.id}/authorizations"

    answer = site["api"]["admin"].get(path)
    assert answer.status_code == 200, answer.get_json()
    items = answer.get_json()["items"]
    assert [item["id"] for item in items] == [upcoming.id, current.id]
    assert {item["vendor"] for item in items} == {"服务商测试1"}
    assert all(item["alert"] is None for item in items)  # the hospital's 人员通知 are not his
    assert site["api"]["admin"].get(f"/api/v1/authorizations/{current.id}/events").status_code == 403
    # The hospital still sees all four.
    assert len(site["api"]["manager"].get(path).get_json()["items"]) == 4

    # The other vendor's admin sees his own only; an engineer has no such page on the PC.
    with app.app_context():
        their_admin = db.session.scalar(
            db.select(User).where(User.vendor_id == other_vendor.id, User.role == Role.VENDOR_ADMIN)
        )
    their_api = factory.api(client, their_admin)
    assert [item["id"] for item in their_api.get(path).get_json()["items"]] == [theirs.id]
    assert site["api"]["engineer"].get(path).status_code == 403
    # Not a device his vendor may see (another hospital's, or after the lapse): not found.
    assert site["api"]["admin"].get(f"/api/v1/devices/{site['foreign_device'].id}/authorizations").status_code == 404
    with after_it_ran_out(days=90):
        assert site["api"]["admin"].get(path).status_code == 404
