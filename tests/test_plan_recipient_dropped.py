"""When a vendor admin stops a person a hospital's alert plan names, the hospital's 操作日志 says
so: a system row per plan the person left (the fall-back's row where the plan fell back)."""

from __future__ import annotations

from datetime import timedelta

from models import Role
from operations.clock import today_local
from tests import test_staff_api

# The account-management tests' world: a hospital, its accepted vendor and that vendor's admin.
org = test_staff_api.org


def test_the_hospital_log_names_the_plan_a_stopped_vendor_admin_left(org, factory, client):
    device = factory.device(org["institution"], name="监护仪")
    second = factory.user(Role.VENDOR_ADMIN, vendor=org["vendor"], display_name="孙经理")
    today = today_local()
    authorized = org["api"].post(
        "/api/v1/authorizations",
        json={
            "device_ids": [device.id],
            "vendor_id": org["vendor"].id,
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=100)).isoformat(),
            "scopes": ["repair"],
            "warn_enabled": True,
            "warn_days": 15,
            "alert": {
                "channels": ["inbox"],
                "notify_related": False,
                "recipient_ids": [org["admin"].id, second.id],
            },
        },
    )
    assert authorized.status_code == 201, authorized.get_json()
    plan_id = authorized.get_json()["items"][0]["alert"]["id"]

    done = org["admin_api"].post(f"/api/v1/staff/{second.id}/deactivate")
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["alert_plans_left"]["ids"] == [plan_id]

    log = org["api"].get("/api/v1/audit-log?entity_type=alert_plan").get_json()["items"]
    dropped = [item for item in log if item["action"] == "drop_recipient"]
    assert [(item["entity_id"], item["edge"], item["actor"], item["action_label"]) for item in dropped] == [
        (plan_id, "system", None, "移出已停用的指定人员")
    ]
    assert dropped[0]["changes"]["recipient_ids"] == [sorted([org["admin"].id, second.id]), [org["admin"].id]]
    # Not in the vendor's log: the plan is the hospital's.
    vendor_log = org["admin_api"].get("/api/v1/audit-log?entity_type=alert_plan").get_json()["items"]
    assert [item for item in vendor_log if item["action"] == "drop_recipient"] == []
