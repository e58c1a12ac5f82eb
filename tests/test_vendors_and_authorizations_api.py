"""服务商邀约 and 委外授权 through the PC API, both entry paths of the guide."""

from __future__ import annotations

import zlib
from datetime import timedelta
from types import SimpleNamespace

import pytest

from models import Role
from operations.clock import today_local
from tests.conftest import credit_code


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1")
    manager = factory.manager(institution)
    devices = [factory.device(institution, name=f"高压注射器{i}") for i in range(3)]
    return {
        "institution": institution,
        "api": factory.api(client, manager),
        "devices": devices,
        "factory": factory,
        "client": client,
    }


def invite_and_accept(hospital, name="服务商测试1"):
    factory, client = hospital["factory"], hospital["client"]
    seed = zlib.crc32(name.encode()) % 10**8
    invitation = hospital["api"].post(
        "/api/v1/invitations",
        json={
            "credit_code": credit_code(seed),
            "new_vendor": {"name": name, "admin_name": "赵经理", "admin_mobile": f"139{seed:08d}"},
        },
    )
    assert invitation.status_code == 201, invitation.get_json()
    body = invitation.get_json()["invitation"]
    vendor_admin = factory.user(Role.VENDOR_ADMIN, vendor=SimpleNamespace(id=body["vendor"]["id"]))
    vendor_api = factory.api(client, vendor_admin)
    accepted = vendor_api.post(f"/api/v1/invitations/{body['id']}/accept")
    assert accepted.status_code == 200 and accepted.get_json()["status_label"] == "已接受"
    return body["vendor"]["id"], body["id"], vendor_api


def terms(**overrides):
    today = today_local()
    body = {
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=365)).isoformat(),
        "scopes": ["archive", "repair", "maintenance", "metrology"],
        "warn_enabled": True,
        "warn_days": 15,
    }
    body.update(overrides)
    return body


def test_invitation_flow(hospital, factory, client):
    api = hospital["api"]
    vendor_id, invitation_id, vendor_api = invite_and_accept(hospital)
    # Both sides list it; the vendor sees which institution invited it.
    assert api.get("/api/v1/invitations").get_json()["items"][0]["status"] == "accepted"
    assert vendor_api.get("/api/v1/invitations").get_json()["items"][0]["institution"] == "医疗机构测试1"
    # Inviting again is a conflict; responding twice too.
    assert api.post("/api/v1/invitations", json={"vendor_id": vendor_id}).status_code == 409
    assert vendor_api.post(f"/api/v1/invitations/{invitation_id}/decline").status_code == 409
    # The directory finds it; a new vendor with the same name is refused.
    assert api.get("/api/v1/vendor-directory?q=服务商").get_json()["items"][0]["id"] == vendor_id
    new = {"name": "服务商测试1", "admin_name": "钱经理", "admin_mobile": "13700000001"}
    taken = api.post("/api/v1/invitations", json={"credit_code": credit_code(424242), "new_vendor": new})
    assert taken.status_code == 409 and "已在平台上" in taken.get_json()["error"]["message"]
    # Another institution cannot see or act on this invitation.
    other_api = factory.api(client, factory.manager(factory.institution("医疗机构测试2")))
    assert other_api.get("/api/v1/invitations").get_json()["items"] == []
    assert other_api.post(f"/api/v1/invitations/{invitation_id}/revoke").status_code == 404
    # Managers do not accept invitations; vendors do not invite.
    assert api.post(f"/api/v1/invitations/{invitation_id}/accept").status_code == 403
    assert vendor_api.post("/api/v1/invitations", json={"vendor_id": vendor_id}).status_code == 403


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "credit_code"),
        ({"vendor_id": 1, "credit_code": credit_code(1)}, "credit_code"),
        ({"vendor_id": 1, "new_vendor": {"name": "x", "admin_name": "x", "admin_mobile": "13700000001"}}, "new_vendor"),
        ({"vendor_id": 999999}, "vendor_id"),
        ({"credit_code": "91350100M000100Y44"}, "credit_code"),
        ({"credit_code": credit_code(7)}, "new_vendor"),
        (
            {"credit_code": credit_code(7), "new_vendor": {"name": "", "admin_name": "a", "admin_mobile": "1"}},
            "new_vendor.name",
        ),
        (
            {"credit_code": credit_code(7), "new_vendor": {"name": "x", "admin_name": "a", "admin_mobile": "1"}},
            "new_vendor.admin_mobile",
        ),
        (
            {
                "credit_code": credit_code(7),
                "new_vendor": {"name": "x", "admin_name": "a", "admin_mobile": "13700000001", "fax": "1"},
            },
            "new_vendor.fax",
        ),
        ({"new_vendor": "x"}, "new_vendor"),
    ],
)
def test_invitation_bad_input(hospital, payload, field):
    response = hospital["api"].post("/api/v1/invitations", json=payload)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert hospital["api"].get("/api/v1/invitations").get_json()["items"] == []


def test_authorize_from_the_unoutsourced_list_and_from_the_device_tab(hospital):
    api, devices = hospital["api"], hospital["devices"]
    vendor_id, _, vendor_api = invite_and_accept(hospital)
    unoutsourced = api.get("/api/v1/devices?outsourced=false").get_json()
    assert unoutsourced["total"] == 3

    # 方法一: from the 未委外设备 list, several devices at once.
    batch = api.post(
        "/api/v1/authorizations", json={"device_ids": [devices[0].id, devices[1].id], "vendor_id": vendor_id, **terms()}
    )
    assert batch.status_code == 201, batch.get_json()
    assert [item["state_label"] for item in batch.get_json()["items"]] == ["生效中", "生效中"]
    # 方法二: from a device's 维保商 tab.
    single = api.post(
        "/api/v1/authorizations",
        json={"device_ids": [devices[2].id], "vendor_id": vendor_id, **terms(scopes=["repair"])},
    )
    assert single.status_code == 201
    item = single.get_json()["items"][0]
    assert item["scope_labels"] == "维修记录" and item["vendor"] == "服务商测试1"

    outsourced = api.get("/api/v1/devices?outsourced=true").get_json()
    assert outsourced["total"] == 3
    assert {tuple(row["vendors"]) for row in outsourced["items"]} == {("服务商测试1",)}
    assert api.get("/api/v1/devices?outsourced=false").get_json()["total"] == 0
    # The vendor now sees the three devices.
    assert vendor_api.get("/api/v1/devices").get_json()["total"] == 3
    assert len(vendor_api.get("/api/v1/authorizations").get_json()["items"]) == 3


def test_modify_cancel_and_history(hospital):
    api, device = hospital["api"], hospital["devices"][0]
    vendor_id, _, vendor_api = invite_and_accept(hospital)
    created = api.post("/api/v1/authorizations", json={"device_ids": [device.id], "vendor_id": vendor_id, **terms()})
    authorization_id = created.get_json()["items"][0]["id"]

    new_end = (today_local() + timedelta(days=30)).isoformat()
    modified = api.put(
        f"/api/v1/authorizations/{authorization_id}", json=terms(ends_on=new_end, scopes=["repair"], warn_days=18)
    )
    assert modified.status_code == 200
    assert modified.get_json()["ends_on"] == new_end and modified.get_json()["warn_days"] == 18
    assert vendor_api.get(f"/api/v1/devices/{device.id}").get_json()["scopes"] == ["repair"]

    cancelled = api.post(f"/api/v1/authorizations/{authorization_id}/cancel", json={"reason": "合同终止"})
    assert cancelled.status_code == 200 and cancelled.get_json()["state_label"] == "已取消"
    # Access is gone at once.
    assert vendor_api.get(f"/api/v1/devices/{device.id}").status_code == 404
    assert api.post(f"/api/v1/authorizations/{authorization_id}/cancel", json={}).status_code == 409
    assert api.put(f"/api/v1/authorizations/{authorization_id}", json=terms()).status_code == 409

    events = api.get(f"/api/v1/authorizations/{authorization_id}/events").get_json()["items"]
    assert [event["kind"] for event in events] == ["created", "modified", "cancelled"]
    assert events[1]["before"]["scopes"] == ["archive", "repair", "maintenance", "metrology"]
    assert events[1]["after"]["scopes"] == ["repair"]
    assert events[2]["note"] == "合同终止" and events[2]["actor"] == "张三"

    # 历史关联记录 keeps the cancelled one beside a new one.
    again = api.post("/api/v1/authorizations", json={"device_ids": [device.id], "vendor_id": vendor_id, **terms()})
    assert again.status_code == 201
    history = api.get(f"/api/v1/devices/{device.id}/authorizations").get_json()["items"]
    assert sorted(item["state"] for item in history) == ["active", "cancelled"]


def test_overlapping_scopes_conflict_but_disjoint_scopes_may_overlap(hospital):
    api, device = hospital["api"], hospital["devices"][0]
    first_vendor, _, _ = invite_and_accept(hospital, "服务商甲")
    second_vendor, _, _ = invite_and_accept(hospital, "服务商乙")
    body = {"device_ids": [device.id], "vendor_id": first_vendor, **terms(scopes=["repair", "maintenance"])}
    assert api.post("/api/v1/authorizations", json=body).status_code == 201
    clash = api.post("/api/v1/authorizations", json={**body, "vendor_id": second_vendor, "scopes": ["repair"]})
    assert clash.status_code == 409
    assert "服务商甲" in clash.get_json()["error"]["message"] and "维修记录" in clash.get_json()["error"]["message"]
    metrology = api.post("/api/v1/authorizations", json={**body, "vendor_id": second_vendor, "scopes": ["metrology"]})
    assert metrology.status_code == 201


def test_vendor_not_invited_or_not_accepted_is_refused(hospital, factory):
    api, device = hospital["api"], hospital["devices"][0]
    stranger = factory.vendor("陌生服务商")
    refused = api.post("/api/v1/authorizations", json={"device_ids": [device.id], "vendor_id": stranger.id, **terms()})
    assert refused.status_code == 422 and "未被邀约" in refused.get_json()["error"]["fields"]["vendor_id"]
    pending = api.post("/api/v1/invitations", json={"vendor_id": stranger.id})
    assert pending.status_code == 201
    refused = api.post("/api/v1/authorizations", json={"device_ids": [device.id], "vendor_id": stranger.id, **terms()})
    assert "尚未接受邀约" in refused.get_json()["error"]["fields"]["vendor_id"]
    unknown = api.post("/api/v1/authorizations", json={"device_ids": [device.id], "vendor_id": 999999, **terms()})
    assert unknown.status_code == 422


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"ends_on": "2020-01-01", "starts_on": "2020-02-01"}, "ends_on", "结束日期不能早于开始日期"),
        ({"starts_on": "2020-01-01", "ends_on": "2020-02-01"}, "ends_on", "结束日期不能早于今天"),
        ({"scopes": []}, "scopes", "请至少勾选一项授权内容"),
        ({"scopes": ["photos"]}, "scopes", "取值应为"),
        ({"warn_days": None}, "warn_days", "开启过期预警时必须填写提前天数"),
        ({"warn_days": 0}, "warn_days", "不能小于 1"),
        ({"warn_days": "15"}, "warn_days", "应为整数"),
        ({"starts_on": "2026/01/01"}, "starts_on", "日期格式"),
        ({"extra": 1}, "extra", "不支持的字段"),
    ],
)
def test_authorization_bad_terms_change_nothing(hospital, overrides, field, reason):
    api, device = hospital["api"], hospital["devices"][0]
    vendor_id, _, _ = invite_and_accept(hospital)
    response = api.post(
        "/api/v1/authorizations", json={"device_ids": [device.id], "vendor_id": vendor_id, **terms(**overrides)}
    )
    assert response.status_code == 422
    assert reason in response.get_json()["error"]["fields"][field]
    assert api.get(f"/api/v1/devices/{device.id}/authorizations").get_json()["items"] == []


def test_foreign_devices_and_authorizations_are_404(hospital, factory, client):
    api = hospital["api"]
    vendor_id, _, _ = invite_and_accept(hospital)
    other = factory.institution("医疗机构测试2")
    other_api = factory.api(client, factory.manager(other))
    foreign_device = factory.device(other)
    response = api.post(
        "/api/v1/authorizations",
        json={"device_ids": [hospital["devices"][0].id, foreign_device.id], "vendor_id": vendor_id, **terms()},
    )
    assert response.status_code == 404
    assert api.get(f"/api/v1/devices/{hospital['devices'][0].id}/authorizations").get_json()["items"] == []
    created = api.post(
        "/api/v1/authorizations", json={"device_ids": [hospital["devices"][0].id], "vendor_id": vendor_id, **terms()}
    )
    authorization_id = created.get_json()["items"][0]["id"]
    assert other_api.post(f"/api/v1/authorizations/{authorization_id}/cancel", json={}).status_code == 404
    assert other_api.put(f"/api/v1/authorizations/{authorization_id}", json=terms()).status_code == 404
    assert other_api.get(f"/api/v1/authorizations/{authorization_id}/events").status_code == 404


def test_revoking_a_vendor_with_open_authorizations_is_refused(hospital):
    api, device = hospital["api"], hospital["devices"][0]
    vendor_id, invitation_id, _ = invite_and_accept(hospital)
    created = api.post("/api/v1/authorizations", json={"device_ids": [device.id], "vendor_id": vendor_id, **terms()})
    refused = api.post(f"/api/v1/invitations/{invitation_id}/revoke")
    assert refused.status_code == 409 and "1 条" in refused.get_json()["error"]["message"]
    api.post(f"/api/v1/authorizations/{created.get_json()['items'][0]['id']}/cancel", json={})
    assert api.post(f"/api/v1/invitations/{invitation_id}/revoke").get_json()["status"] == "revoked"


def test_clinicians_and_vendor_engineers_get_403_on_the_outsourcing_and_vendor_routes(hospital):
    """委外关联 and 服务商 are the equipment office's and the vendor admin's screens: a clinician
    and a vendor engineer (工单 and 首页通知 only) are refused by the server, not only by the menu."""
    factory, client = hospital["factory"], hospital["client"]
    vendor_id, invitation_id, _ = invite_and_accept(hospital)
    device = hospital["devices"][0]
    created = hospital["api"].post(
        "/api/v1/authorizations", json={"device_ids": [device.id], "vendor_id": vendor_id, **terms()}
    )
    assert created.status_code == 201, created.get_json()
    authorization_id = created.get_json()["items"][0]["id"]
    clinician = factory.api(client, factory.user(Role.CLINICIAN, institution=hospital["institution"]))
    engineer = factory.api(client, factory.user(Role.VENDOR_ENGINEER, vendor=SimpleNamespace(id=vendor_id)))
    office_engineer = factory.api(client, factory.user(Role.INSTITUTION_ENGINEER, institution=hospital["institution"]))

    for path in (
        f"/api/v1/devices/{device.id}/authorizations",
        f"/api/v1/authorizations/{authorization_id}/events",
        "/api/v1/invitations",
        "/api/v1/vendor-directory",
    ):
        assert clinician.get(path).status_code == 403, path
    for path in ("/api/v1/invitations", "/api/v1/served-institutions"):
        assert engineer.get(path).status_code == 403, path
    for method, path in (
        ("post", "/api/v1/authorizations"),
        ("put", f"/api/v1/authorizations/{authorization_id}"),
        ("post", f"/api/v1/authorizations/{authorization_id}/cancel"),
        ("post", "/api/v1/invitations"),
        ("post", f"/api/v1/invitations/{invitation_id}/revoke"),
    ):
        body = {"device_ids": [device.id], "vendor_id": vendor_id, **terms()} if path.endswith("authorizations") else {}
        if method == "put":
            body = terms()
        for who in (clinician, engineer, office_engineer):
            assert getattr(who, method)(path, json=body).status_code == 403, (method, path)
    assert engineer.post(f"/api/v1/invitations/{invitation_id}/accept").status_code == 403
    # The equipment office's engineer reads what the manager decides.
    assert office_engineer.get(f"/api/v1/devices/{device.id}/authorizations").status_code == 200
    assert office_engineer.get(f"/api/v1/authorizations/{authorization_id}/events").status_code == 200
    assert office_engineer.get("/api/v1/invitations").status_code == 200
