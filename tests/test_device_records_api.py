"""维修 / 保养 / 计量 records: who writes them, who reads which kind."""

from __future__ import annotations

from datetime import timedelta

from models import Role, Scope
from operations.clock import today_local


def test_records_are_written_by_institution_staff_and_read_within_scope(factory, client):
    institution = factory.institution()
    manager = factory.api(client, factory.manager(institution))
    engineer = factory.api(client, factory.user(Role.INSTITUTION_ENGINEER, institution=institution))
    clinician = factory.api(client, factory.user(Role.CLINICIAN, institution=institution))
    vendor = factory.accepted_vendor(institution)
    # On the PC the vendor side is its admin; its engineers read records in the mini-program.
    vendor_engineer = factory.api(client, factory.user(Role.VENDOR_ADMIN, vendor=vendor))
    device = factory.device(institution)
    today = today_local()
    factory.authorization(device, vendor, starts_on=today, ends_on=today + timedelta(days=1), scopes={Scope.METROLOGY})

    record = {"performed_on": "2026-10-01", "summary": "年度计量检定合格", "performed_by": "市计量院"}
    created = engineer.post(f"/api/v1/devices/{device.id}/records/metrology", json=record)
    assert created.status_code == 201 and created.get_json()["kind_label"] == "计量记录"
    assert (
        manager.post(f"/api/v1/devices/{device.id}/records/repair", json={**record, "summary": "更换电源"}).status_code
        == 201
    )
    assert clinician.post(f"/api/v1/devices/{device.id}/records/repair", json=record).status_code == 403
    assert vendor_engineer.post(f"/api/v1/devices/{device.id}/records/metrology", json=record).status_code == 403

    metrology = vendor_engineer.get(f"/api/v1/devices/{device.id}/records/metrology").get_json()["items"]
    assert [item["summary"] for item in metrology] == ["年度计量检定合格"]
    denied = vendor_engineer.get(f"/api/v1/devices/{device.id}/records/repair")
    assert denied.status_code == 403 and "维修记录" in denied.get_json()["error"]["message"]
    assert len(engineer.get(f"/api/v1/devices/{device.id}/records/repair").get_json()["items"]) == 1
    # A clinician's PC has 工单 and 首页通知 only (test_console_role_access).
    assert clinician.get(f"/api/v1/devices/{device.id}/records/repair").status_code == 403


def test_record_bad_input(factory, client):
    institution = factory.institution()
    manager = factory.api(client, factory.manager(institution))
    device = factory.device(institution)
    url = f"/api/v1/devices/{device.id}/records/repair"
    assert manager.post(url, json={"summary": "x"}).get_json()["error"]["fields"] == {"performed_on": "必填"}
    assert manager.post(url, json={"performed_on": "yesterday", "summary": "x"}).status_code == 422
    assert manager.post(url, json={"performed_on": "2026-01-01", "summary": "x" * 201}).status_code == 422
    assert manager.post(f"/api/v1/devices/{device.id}/records/cleaning", json={}).status_code == 404
    assert manager.get(url).get_json()["items"] == []
