"""The whole onboarding, as the people do it: the platform operator creates a hospital from the CLI;
its equipment manager activates the account with the code the SMS brought and sets up the hospital
(a department, a 设备类型, a device); invites a vendor new to the platform by its 统一社会信用代码;
the vendor's admin activates, accepts, adds an engineer skilled in that 设备类型; the engineer
activates in the mini-program and agrees to work-order messages; a repair reported on the PC reaches
the engineer as a WeChat subscribe message, and the engineer takes it from the phone. Every step is
in the 操作日志, each in the log of the organisations it concerns."""

from __future__ import annotations

from datetime import timedelta

from test_miniprogram_session import sign_in as mp_sign_in
from test_subscribe_messages import WORK_ORDER_SUBSCRIBE, subscribe_sent
from test_vendor_onboarding import drain, sms_code

from operations.clock import today_local
from tests.conftest import ApiClient, credit_code
from tests.test_institution_cli import cli

VENDOR_CODE = credit_code(20261205)


def activate_on_the_pc(client, code: str, password: str) -> ApiClient:
    activated = client.post("/api/v1/account-code", json={"code": code, "password": password})
    assert activated.status_code == 200, activated.get_json()
    return ApiClient(client, activated.get_json()["token"])


def journal(api: ApiClient) -> list[tuple[str, str, str, str, str]]:
    """The caller's 操作日志, oldest first: (who, from where, what, which action, about whom/what)."""
    page = api.get("/api/v1/audit-log?per_page=100")
    assert page.status_code == 200, page.get_json()
    return [
        (row["actor_name"], row["edge_label"], row["entity_type"], row["action"], row["entity_label"] or "")
        for row in reversed(page.get_json()["items"])
    ]


def test_from_the_operators_cli_to_a_vendor_engineer_taking_a_pushed_order(app, client, sms_sim, wechat_sim):
    # The operator creates the hospital and its first equipment manager; the code goes by SMS.
    created = cli(
        app, "institution", "create", "--name", "第一人民医院", "--manager-name", "张三",
        "--username", "zhangsan", "--mobile", "13800138000",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    manager = activate_on_the_pc(client, sms_code(sms_sim, "13800138000"), "Zhangsan-2026")

    # The manager sets the hospital up: a department, a 设备类型, a device of that type.
    department = manager.post("/api/v1/departments", json={"name": "放射科"})
    assert department.status_code == 201, department.get_json()
    assert manager.post("/api/v1/device-types", json={"name": "CT"}).status_code == 201
    device = manager.post(
        "/api/v1/devices", json={"name": "CT机", "category": "CT", "department_id": department.get_json()["id"]}
    )
    assert device.status_code == 201, device.get_json()
    device_id = device.get_json()["id"]

    # A vendor new to the platform, invited by its code: its admin's activation code goes by SMS.
    invited = manager.post(
        "/api/v1/invitations",
        json={
            "credit_code": VENDOR_CODE,
            "new_vendor": {"name": "福州医疗设备服务有限公司", "admin_name": "赵经理", "admin_mobile": "13900000001"},
        },
    )
    assert invited.status_code == 201, invited.get_json()
    assert invited.get_json()["activation"]["sent"] is True and "code" not in invited.get_json()["activation"]
    admin = activate_on_the_pc(client, sms_code(sms_sim, "13900000001"), "Zhao-2026-pass")
    invitation_id = invited.get_json()["invitation"]["id"]
    assert admin.post(f"/api/v1/invitations/{invitation_id}/accept").status_code == 200

    # The vendor admin adds an engineer, skilled in CT; the activation code goes by SMS.
    engineer = admin.post(
        "/api/v1/staff",
        json={"username": "sungong", "display_name": "孙工", "phone": "13900000002", "role": "vendor_engineer"},
    )
    assert engineer.status_code == 201, engineer.get_json()
    engineer_id = engineer.get_json()["user"]["id"] if "user" in engineer.get_json() else engineer.get_json()["id"]
    engineer_code = sms_code(sms_sim, "13900000002")

    # The hospital authorizes the vendor on the device for repairs, for a year.
    today = today_local()
    authorized = manager.post(
        "/api/v1/authorizations",
        json={
            "device_ids": [device_id],
            "vendor_id": invited.get_json()["invitation"]["vendor"]["id"],
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(),
            "scopes": ["archive", "repair"],
        },
    )
    assert authorized.status_code == 201, authorized.get_json()
    skilled = admin.put(f"/api/v1/engineers/{engineer_id}/skills", json={"categories": ["CT"]})
    assert skilled.status_code == 200, skilled.get_json()

    # The engineer activates in the mini-program (which binds this WeChat) and agrees to be sent
    # work orders there.
    phone = mp_sign_in(client, wechat_sim, "mp-sungong")
    activated = phone.post("/account-code", json={"code": engineer_code, "password": "Sungong-2026"})
    assert activated.status_code == 200, activated.get_json()
    assert activated.get_json()["bound"] is True
    consented = phone.post("/subscriptions", json={"results": {WORK_ORDER_SUBSCRIBE: "accept"}})
    assert consented.status_code == 200, consented.get_json()

    # A repair reported on the PC reaches the engineer's phone as a subscribe message.
    reported = manager.post(
        "/api/v1/work-orders",
        json={
            "device_id": device_id,
            "contact_name": "张三",
            "contact_methods": [{"kind": "mobile", "value": "13800138000"}, {"kind": "landline", "value": "8021"}],
            "fault_description": "球管报警，无法扫描",
        },
    )
    assert reported.status_code == 201, reported.get_json()
    order_id = reported.get_json()["id"]
    drain(app)
    (pushed,) = subscribe_sent(wechat_sim, "mp-sungong")
    assert pushed["template_id"] == WORK_ORDER_SUBSCRIBE and f"id={order_id}" in pushed["page"]
    taken = phone.post(f"/work-orders/{order_id}/accept")
    assert taken.status_code == 200, taken.get_json()
    assert manager.get(f"/api/v1/work-orders/{order_id}").get_json()["status"] == "accepted"

    # The journey in the hospital's 操作日志 …
    number = reported.get_json()["number"]
    vendor = "福州医疗设备服务有限公司"
    link = f"000001 CT机 → {vendor}"
    assert journal(manager) == [
        ("平台运维", "平台运维", "institution", "create", "第一人民医院"),
        ("张三", "电脑端", "user", "activate", "张三"),
        ("张三", "电脑端", "department", "create", "放射科"),
        ("张三", "电脑端", "device_type", "create", "CT"),
        ("张三", "电脑端", "device", "create", "000001 CT机"),
        ("张三", "电脑端", "invitation", "invite", vendor),
        ("赵经理", "电脑端", "invitation", "accept", vendor),
        ("张三", "电脑端", "authorization", "create", link),
        ("张三", "电脑端", "work_order", "create", number),
        ("孙工", "小程序", "work_order", "accept", number),
    ]
    # … and in the vendor's: what concerns the vendor, never the hospital's own set-up.
    assert journal(admin) == [
        ("张三", "电脑端", "invitation", "invite", vendor),
        ("赵经理", "电脑端", "user", "activate", "赵经理"),
        ("赵经理", "电脑端", "invitation", "accept", vendor),
        ("赵经理", "电脑端", "user", "create", "孙工"),
        ("张三", "电脑端", "authorization", "create", link),
        ("赵经理", "电脑端", "user", "set_skills", "孙工"),
        ("孙工", "小程序", "user", "activate", "孙工"),
        ("张三", "电脑端", "work_order", "create", number),
        ("孙工", "小程序", "work_order", "accept", number),
    ]
    # The rows say what changed: the manager the operator created with the hospital, the vendor
    # and admin the invitation registered, the engineer's binding, and never a code.
    rows = {(row["entity_type"], row["action"]): row for row in manager.get("/api/v1/audit-log").get_json()["items"]}
    institution_row = rows[("institution", "create")]["changes"]
    assert institution_row["manager"][1]["username"] == "zhangsan" and institution_row["activation_code"] == "changed"
    invite_row = admin.get("/api/v1/audit-log?entity_type=invitation").get_json()["items"][-1]["changes"]
    assert (
        invite_row["activation_code"] == "changed" and "vendor" in str(invite_row) and "13900000001" in str(invite_row)
    )
    engineer_activation = admin.get(f"/api/v1/audit-log?actor_id={engineer_id}").get_json()["items"][-1]
    assert engineer_activation["action"] == "activate" and "mp-s…gong" in str(engineer_activation["changes"])
    assert engineer_code not in str(journal(admin)) and engineer_code not in str(invite_row)
