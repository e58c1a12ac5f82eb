"""Vendors by 统一社会信用代码 through the PC API: inviting a code already on the platform (its
admins told in their inbox) or a new one (the vendor and its admin registered, the activation code
by SMS or in the answer), the directory by name and code, a vendor admin setting its code once and
seeing the hospitals it serves; and the whole onboarding from the operator's CLI to a vendor admin
who accepts and receives a work order."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jobs.runtime import make_worker
from models import AuditEntry, Edge, Invitation, Role, User, Vendor, db
from operations import account_codes
from operations.clock import today_local
from tests.conftest import a_minute_later, credit_code
from tests.test_institution_cli import cli, printed_code

SEND_SMS = "SendSms"
CODE = credit_code(123456789)  # 913501001234567890-like, with its check character
NEW_VENDOR = {"name": "福州医疗设备服务有限公司", "admin_name": "赵经理", "admin_mobile": "13900000001"}


def sms_code(sms_sim, phone: str) -> str:
    record = sms_sim.state.records(SEND_SMS)[-1]
    assert record.payload["PhoneNumbers"] == phone
    params = record.payload["TemplateParam"]
    return (json.loads(params) if isinstance(params, str) else params)["code"]


def drain(app) -> None:
    make_worker(app, simple=True).work(burst=True)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1")
    return {"institution": institution, "api": factory.api(client, factory.manager(institution))}


@pytest.fixture
def known_vendor(factory, client):
    """A vendor on the platform with its code and an active admin."""
    vendor = factory.vendor("服务商测试1")
    admin = factory.user(Role.VENDOR_ADMIN, vendor=vendor, display_name="钱经理", phone="13900000009")
    api = factory.api(client, admin)
    assert api.put("/api/v1/vendor-profile/credit-code", json={"credit_code": CODE}).status_code == 200
    return {"vendor": vendor, "admin": admin, "api": api}


def test_a_code_on_the_platform_invites_that_vendor_and_tells_its_admins(app, hospital, known_vendor):
    typed = f" {CODE[:6]} {CODE[6:].lower()} "  # as pasted: spaces, lower case
    sent = hospital["api"].post(
        "/api/v1/invitations", json={"credit_code": typed, "new_vendor": NEW_VENDOR, "message": "请尽快接受"}
    )
    assert sent.status_code == 201, sent.get_json()
    body = sent.get_json()
    assert body["vendor_registered"] is False and body["vendor_admin"] is None and body["activation"] is None
    assert body["admins_notified"] == 1
    assert body["invitation"]["vendor"]["id"] == known_vendor["vendor"].id
    assert body["invitation"]["vendor"]["credit_code"] == CODE
    assert count(app, Vendor) == 1  # new_vendor was not used: the code named a vendor already here
    drain(app)
    inbox = known_vendor["api"].get("/api/v1/inbox").get_json()["items"]
    assert [item["title"] for item in inbox] == ["医疗机构测试1邀请合作"]
    assert "请在“邀约”中接受或拒绝" in inbox[0]["body"] and "请尽快接受" in inbox[0]["body"]
    accepted = known_vendor["api"].post(f"/api/v1/invitations/{body['invitation']['id']}/accept")
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"


def test_an_unknown_code_registers_the_vendor_and_its_admin_who_gets_the_code_by_sms(app, client, hospital, sms_sim):
    sent = hospital["api"].post("/api/v1/invitations", json={"credit_code": CODE, "new_vendor": NEW_VENDOR})
    assert sent.status_code == 201, sent.get_json()
    body = sent.get_json()
    assert body["vendor_registered"] is True and body["admins_notified"] == 0
    # The username is the mobile: the SMS carries only the code, and the person knows their number.
    assert body["vendor_admin"]["username"] == "13900000001" and body["vendor_admin"]["display_name"] == "赵经理"
    activation = body["activation"]
    assert activation["sent"] is True and activation["phone"] == "139****0001" and "code" not in activation
    assert activation["message"] == "激活码已通过短信发送至 139****0001"
    code = sms_code(sms_sim, "13900000001")
    with app.app_context():
        vendor = db.session.get(Vendor, body["invitation"]["vendor"]["id"])
        # The admin's name and mobile are their account's, not the vendor's public contact.
        assert (vendor.name, vendor.credit_code, vendor.contact_name, vendor.contact_phone) == (
            NEW_VENDOR["name"],
            CODE,
            None,
            None,
        )
        admin = db.session.get(User, body["vendor_admin"]["id"])
        assert admin.role is Role.VENDOR_ADMIN and admin.vendor_id == vendor.id and not admin.is_activated
        # One change, one row: the manager's invitation from the PC, in both organisations' logs,
        # naming the vendor and the admin account it registered and the code (never the code).
        rows = db.session.execute(
            select(
                AuditEntry.action,
                AuditEntry.entity_type,
                AuditEntry.edge,
                AuditEntry.institution_id,
                AuditEntry.changes,
            ).where(AuditEntry.vendor_id == vendor.id)
        ).all()
        vendor_id, admin_id = vendor.id, admin.id
        account_codes.redeem(app.config["SECRET_KEY"], code, "Zhao-2026-pass", by_edge=Edge.PC)
        db.session.commit()
    institution_id = hospital["institution"].id
    ((action, entity_type, edge, row_institution, changes),) = rows
    assert (action, entity_type, edge, row_institution) == ("invite", "invitation", Edge.PC, institution_id)
    assert changes["status"] == [None, "pending"] and changes["activation_code"] == "changed"
    assert changes["vendor"] == [
        None,
        {
            "id": vendor_id,
            "name": NEW_VENDOR["name"],
            "credit_code": CODE,
        },
    ]
    assert changes["vendor_admin"] == [
        None,
        {
            "id": admin_id,
            "username": "13900000001",
            "display_name": "赵经理",
            "phone": "13900000001",
            "role": "vendor_admin",
        },
    ]
    assert code not in str(changes)
    signed_in = client.post("/api/v1/session", json={"username": "13900000001", "password": "Zhao-2026-pass"})
    assert signed_in.status_code == 200
    token = signed_in.get_json()["token"]
    invitations = client.get("/api/v1/invitations", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [(i["institution"], i["status"]) for i in invitations["items"]] == [("医疗机构测试1", "pending")]


def test_without_sms_the_hospital_never_sees_the_code_and_the_operator_hands_it_over(app, hospital, configure):
    """The account is the vendor's: the inviting hospital is told who can deliver the code, never
    the code (it could activate the vendor's admin itself)."""
    configure(SMS_ACCOUNT_CODE_TEMPLATE_CODE=None)
    sent = hospital["api"].post(
        "/api/v1/invitations",
        json={"credit_code": CODE, "new_vendor": {**NEW_VENDOR, "admin_username": "zhaojingli"}},
    )
    assert sent.status_code == 201, sent.get_json()
    body = sent.get_json()
    assert body["vendor_admin"]["username"] == "zhaojingli"
    activation = body["activation"]
    assert activation["sent"] is False and "code" not in activation
    assert activation["message"] == (
        "短信验证码未配置，激活码未能发送：可稍后重新发送，或请平台运维发送"
        "（python -m weixiu account code zhaojingli）；激活码不在此显示"
    )
    # The operator (who may hand a code over in person) gets it printed.
    handed = cli(app, "account", "code", "zhaojingli")
    assert handed.exit_code == 0, handed.output
    with app.app_context():
        user = account_codes.redeem(
            app.config["SECRET_KEY"], printed_code(handed.output), "Zhao-2026-pass", by_edge=Edge.PC
        ).user
        assert user.username == "zhaojingli"
        db.session.rollback()


def test_a_full_number_never_puts_the_admins_code_in_the_hospitals_answer(app, client, factory, hospital, sms_sim):
    """Anyone can spend the admin's number's one-a-minute SMS with one unauthenticated 忘记密码;
    the invitation still goes, the code does not come back to the hospital, and the manager resends
    the activation SMS (SMS only) once the number may receive one."""
    client.post("/api/v1/password-reset", json={"phone": NEW_VENDOR["admin_mobile"]}, buffered=True)
    sent = hospital["api"].post("/api/v1/invitations", json={"credit_code": CODE, "new_vendor": NEW_VENDOR})
    assert sent.status_code == 201, sent.get_json()
    activation = sent.get_json()["activation"]
    assert activation["sent"] is False and "code" not in activation
    assert activation["failure"] == {"status": 429, "reason": "验证码已发送，请 1 分钟后再试"}
    assert "python -m weixiu account code 13900000001" in activation["message"]
    assert sms_sim.state.count(SEND_SMS) == 0
    invitation_id = sent.get_json()["invitation"]["id"]
    resend = f"/api/v1/invitations/{invitation_id}/resend-activation"

    still_full = hospital["api"].post(resend)
    assert still_full.status_code == 429, still_full.get_json()
    assert still_full.get_json()["error"]["message"] == "验证码已发送，请 1 分钟后再试"

    a_minute_later(app, NEW_VENDOR["admin_mobile"])
    resent = hospital["api"].post(resend)
    assert resent.status_code == 201, resent.get_json()
    answer = resent.get_json()
    assert answer["sent"] is True and answer["purpose"] == "activation" and "code" not in answer
    code = sms_code(sms_sim, NEW_VENDOR["admin_mobile"])
    assert code not in resent.get_data(as_text=True)
    done = client.post("/api/v1/account-code", json={"code": code, "password": "Zhao-2026-pass"})
    assert done.status_code == 200 and done.get_json()["user"]["username"] == "13900000001"
    # Activated: nothing left to resend.
    a_minute_later(app, NEW_VENDOR["admin_mobile"])
    again = hospital["api"].post(resend)
    assert again.status_code == 409 and again.get_json()["error"]["message"] == account_codes.NO_ADMIN_AWAITING
    with app.app_context():
        (row,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "issue_activation_code"))
        assert row.actor_id is not None and (row.edge, row.institution_id) == (Edge.PC, hospital["institution"].id)
        assert row.vendor_id == sent.get_json()["invitation"]["vendor"]["id"] and row.changes == {"code": "changed"}


def test_a_refused_resend_keeps_the_earlier_code_and_shows_none(app, client, factory, hospital, sms_sim):
    sent = hospital["api"].post("/api/v1/invitations", json={"credit_code": CODE, "new_vendor": NEW_VENDOR})
    first = sms_code(sms_sim, NEW_VENDOR["admin_mobile"])
    invitation_id = sent.get_json()["invitation"]["id"]
    a_minute_later(app, NEW_VENDOR["admin_mobile"])
    sms_sim.state.inject(SEND_SMS, code="isv.BUSINESS_LIMIT_CONTROL")
    refused = hospital["api"].post(f"/api/v1/invitations/{invitation_id}/resend-activation")
    assert refused.status_code == 502, refused.get_json()
    assert "短信发送失败" in refused.get_json()["error"]["message"]
    assert first not in refused.get_data(as_text=True)
    # Nothing kept: the code that did arrive still works.
    done = client.post("/api/v1/account-code", json={"code": first, "password": "Zhao-2026-pass"})
    assert done.status_code == 200, done.get_json()


def test_only_the_hospital_that_registered_the_admin_may_resend(app, client, factory, hospital, known_vendor, sms_sim):
    new_code = credit_code(7)
    sent = hospital["api"].post("/api/v1/invitations", json={"credit_code": new_code, "new_vendor": NEW_VENDOR})
    assert sent.status_code == 201 and sent.get_json()["vendor_registered"] is True
    invitation_id = sent.get_json()["invitation"]["id"]
    a_minute_later(app, NEW_VENDOR["admin_mobile"])
    other_hospital = factory.api(client, factory.manager(factory.institution("医疗机构测试2")))
    assert other_hospital.post(f"/api/v1/invitations/{invitation_id}/resend-activation").status_code == 404
    # That hospital invites the same (now registered) vendor: its admin is not that hospital's to reach.
    vendor_id = sent.get_json()["invitation"]["vendor"]["id"]
    theirs = other_hospital.post("/api/v1/invitations", json={"vendor_id": vendor_id}).get_json()["invitation"]
    refused = other_hospital.post(f"/api/v1/invitations/{theirs['id']}/resend-activation")
    assert refused.status_code == 409 and refused.get_json()["error"]["message"] == account_codes.NO_ADMIN_AWAITING
    vendor_side = known_vendor["api"].post(f"/api/v1/invitations/{invitation_id}/resend-activation")
    assert vendor_side.status_code == 403
    assert sms_sim.state.count(SEND_SMS) == 1  # the invitation's own SMS only


@pytest.mark.parametrize(
    ("new_vendor", "status", "where", "message"),
    [
        ({**NEW_VENDOR, "admin_mobile": "13900000009"}, 409, "message", "该手机号已被其他账号使用"),
        ({**NEW_VENDOR, "admin_username": "taken"}, 409, "message", "用户名已被使用"),
        ({**NEW_VENDOR, "name": "服务商测试1"}, 409, "message", "已在平台上（尚未登记统一社会信用代码）"),
        ({**NEW_VENDOR, "admin_mobile": "23900000001"}, 422, "new_vendor.admin_mobile", "11 位"),
        ({**NEW_VENDOR, "admin_username": "赵"}, 422, "new_vendor.admin_username", "用户名为"),
        ({"name": "x", "admin_name": "y"}, 422, "new_vendor.admin_mobile", "必填"),
    ],
)
def test_a_refused_registration_writes_nothing(app, factory, hospital, new_vendor, status, where, message):
    old = factory.vendor("服务商测试1")  # registered before codes were asked for
    factory.user(Role.VENDOR_ADMIN, vendor=old, username="taken", phone="13900000009")
    before = (count(app, Vendor), count(app, User), count(app, Invitation), count(app, AuditEntry))
    refused = hospital["api"].post("/api/v1/invitations", json={"credit_code": CODE, "new_vendor": new_vendor})
    assert refused.status_code == status, refused.get_json()
    error = refused.get_json()["error"]
    assert message in (error["message"] if where == "message" else error["fields"][where])
    assert (count(app, Vendor), count(app, User), count(app, Invitation), count(app, AuditEntry)) == before


def test_the_directory_finds_vendors_by_name_and_by_code(hospital, known_vendor, factory):
    factory.vendor("上海影像维修中心")  # no code yet
    api = hospital["api"]

    def names(q):
        response = api.get("/api/v1/vendor-directory", query_string={"q": q})
        assert response.status_code == 200
        return [(item["name"], item["credit_code"]) for item in response.get_json()["items"]]

    assert names("服务商") == [("服务商测试1", CODE)]
    assert names(CODE) == names(CODE.lower()) == names(CODE[4:12]) == [("服务商测试1", CODE)]
    assert names("影像") == [("上海影像维修中心", None)]
    assert names("ZZZZ") == []
    assert known_vendor["api"].get("/api/v1/vendor-directory").status_code == 403


def test_a_vendor_admin_sets_its_code_once(factory, client, known_vendor):
    api = known_vendor["api"]
    assert api.get("/api/v1/vendor-profile").get_json()["credit_code"] == CODE
    again = api.put("/api/v1/vendor-profile/credit-code", json={"credit_code": credit_code(5)})
    assert again.status_code == 409 and "不能修改" in again.get_json()["error"]["message"]

    other = factory.vendor("服务商测试2")
    other_admin = factory.api(client, factory.user(Role.VENDOR_ADMIN, vendor=other))
    for bad, reason in (("", "必填"), ("91350100M000100Y44", "校验位不正确"), ("9135", "应为 18 位")):
        refused = other_admin.put("/api/v1/vendor-profile/credit-code", json={"credit_code": bad})
        assert refused.status_code == 422 and reason in refused.get_json()["error"]["fields"]["credit_code"]
    taken = other_admin.put("/api/v1/vendor-profile/credit-code", json={"credit_code": CODE})
    assert taken.status_code == 409 and taken.get_json()["error"]["message"] == "该统一社会信用代码已被其他服务商登记"
    engineer = factory.api(client, factory.user(Role.VENDOR_ENGINEER, vendor=other))
    assert engineer.put("/api/v1/vendor-profile/credit-code", json={"credit_code": credit_code(5)}).status_code == 403
    assert engineer.get("/api/v1/vendor-profile").status_code == 403  # 工单 only on the PC
    assert other_admin.get("/api/v1/vendor-profile").get_json()["credit_code"] is None
    done = other_admin.put("/api/v1/vendor-profile/credit-code", json={"credit_code": credit_code(5)})
    assert done.status_code == 200 and done.get_json()["credit_code"] == credit_code(5)


def test_a_vendor_admin_sees_the_hospitals_it_serves(factory, client, known_vendor):
    vendor = known_vendor["vendor"]
    serving = factory.institution("医疗机构测试1")
    manager = factory.manager(serving)
    invited = factory.api(client, manager).post("/api/v1/invitations", json={"vendor_id": vendor.id})
    known_vendor["api"].post(f"/api/v1/invitations/{invited.get_json()['invitation']['id']}/accept")
    pending = factory.institution("医疗机构测试2")
    factory.api(client, factory.manager(pending)).post("/api/v1/invitations", json={"vendor_id": vendor.id})
    today = today_local()
    for n in range(2):
        device = factory.device(serving, name=f"监护仪{n}")
        factory.authorization(device, vendor, starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=30))
    ended = factory.device(serving, name="呼吸机")
    factory.authorization(ended, vendor, starts_on=today - timedelta(days=30), ends_on=today - timedelta(days=1))

    served = known_vendor["api"].get("/api/v1/served-institutions")
    assert served.status_code == 200
    assert [
        (s["institution"], s["active"], s["authorized_devices"], s["open_work_orders"])
        for s in served.get_json()["items"]
    ] == [("医疗机构测试1", True, 2, 0)]
    engineer = factory.api(client, factory.user(Role.VENDOR_ENGINEER, vendor=vendor))
    assert engineer.get("/api/v1/served-institutions").status_code == 403
    assert factory.api(client, manager).get("/api/v1/served-institutions").status_code == 403


def test_another_hospitals_invitation_is_not_found(factory, client, hospital, known_vendor):
    sent = hospital["api"].post("/api/v1/invitations", json={"vendor_id": known_vendor["vendor"].id})
    invitation_id = sent.get_json()["invitation"]["id"]
    stranger = factory.api(client, factory.manager(factory.institution("医疗机构测试2")))
    assert stranger.post(f"/api/v1/invitations/{invitation_id}/revoke").status_code == 404
    other_admin = factory.api(client, factory.user(Role.VENDOR_ADMIN, vendor=factory.vendor("服务商测试2")))
    assert other_admin.post(f"/api/v1/invitations/{invitation_id}/accept").status_code == 404


def test_onboarding_from_the_cli_to_a_vendor_admin_receiving_a_work_order(app, client, sms_sim):
    # The operator creates the hospital; its manager's activation code arrives by SMS.
    created = cli(
        app,
        "institution",
        "create",
        "--name",
        "第一人民医院",
        "--manager-name",
        "张三",
        "--username",
        "zhangsan",
        "--mobile",
        "13800138000",
    )
    assert created.exit_code == 0, created.output
    manager_code = sms_code(sms_sim, "13800138000")
    with app.app_context():
        account_codes.redeem(app.config["SECRET_KEY"], manager_code, "Zhangsan-2026!", by_edge=Edge.PC)
        db.session.commit()
    token = client.post("/api/v1/session", json={"username": "zhangsan", "password": "Zhangsan-2026!"}).get_json()
    manager = {"Authorization": f"Bearer {token['token']}"}

    # The manager invites a vendor new to the platform by its code; its admin gets the code by SMS.
    sent = client.post("/api/v1/invitations", headers=manager, json={"credit_code": CODE, "new_vendor": NEW_VENDOR})
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["activation"]["sent"] is True
    admin_code = sms_code(sms_sim, "13900000001")
    with app.app_context():
        account_codes.redeem(app.config["SECRET_KEY"], admin_code, "Zhao-2026-pass", by_edge=Edge.PC)
        db.session.commit()
    admin_token = client.post("/api/v1/session", json={"username": "13900000001", "password": "Zhao-2026-pass"})
    admin = {"Authorization": f"Bearer {admin_token.get_json()['token']}"}
    invitation_id = sent.get_json()["invitation"]["id"]
    assert client.post(f"/api/v1/invitations/{invitation_id}/accept", headers=admin).status_code == 200

    # The hospital's first department, device and authorization; a repair reaches the vendor admin.
    department = client.post("/api/v1/departments", headers=manager, json={"name": "放射科"}).get_json()
    device = client.post("/api/v1/devices", headers=manager, json={"name": "CT机", "department_id": department["id"]})
    assert device.status_code == 201, device.get_json()
    vendor_id = sent.get_json()["invitation"]["vendor"]["id"]
    today = today_local()
    authorized = client.post(
        "/api/v1/authorizations",
        headers=manager,
        json={
            "device_ids": [device.get_json()["id"]],
            "vendor_id": vendor_id,
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(),
            "scopes": ["archive", "repair"],
        },
    )
    assert authorized.status_code == 201, authorized.get_json()
    served = client.get("/api/v1/served-institutions", headers=admin).get_json()["items"]
    assert [(s["institution"], s["authorized_devices"]) for s in served] == [("第一人民医院", 1)]
    sms_before = sms_sim.state.count(SEND_SMS)
    order = client.post(
        "/api/v1/work-orders",
        headers=manager,
        json={
            "device_id": device.get_json()["id"],
            "contact_name": "张三",
            "contact_methods": [{"kind": "mobile", "value": "13800138000"}, {"kind": "landline", "value": "8021"}],
            "fault_description": "球管报警，无法扫描",
        },
    )
    assert order.status_code == 201, order.get_json()
    drain(app)
    # Not bound to WeChat: the new order reaches the vendor admin by SMS instead.
    pushed = [r.payload["PhoneNumbers"] for r in sms_sim.state.records(SEND_SMS)[sms_before:]]
    assert "13900000001" in pushed
    assert client.get(f"/api/v1/work-orders/{order.get_json()['id']}", headers=admin).status_code == 200


def test_the_directory_shows_a_vendors_contact_only_to_the_hospitals_it_serves(app, factory, client, hospital):
    """Every hospital searches the directory: the mobile of a new vendor's admin is not in it, and
    a vendor's own contact is for its people and the hospitals it serves (accepted invitation)."""
    other = factory.api(client, factory.manager(factory.institution("医疗机构测试2")))
    sent = hospital["api"].post("/api/v1/invitations", json={"credit_code": CODE, "new_vendor": NEW_VENDOR})
    assert sent.status_code == 201, sent.get_json()
    seen = other.get("/api/v1/vendor-directory", query_string={"q": CODE})
    assert [(v["name"], v["contact_name"], v["contact_phone"]) for v in seen.get_json()["items"]] == [
        (NEW_VENDOR["name"], None, None)
    ]
    assert "13900000001" not in seen.get_data(as_text=True) and "赵经理" not in seen.get_data(as_text=True)

    # A vendor that gave a contact, serving the first hospital only.
    served = factory.accepted_vendor(hospital["institution"], "厦门设备维修中心")
    with app.app_context():
        vendor = db.session.get(Vendor, served.id)
        vendor.contact_name, vendor.contact_phone = "周经理", "05921234567"
        db.session.commit()

    def contact(api, path, **query):
        answer = api.get(path, query_string=query)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        items = body.get("items", [body])
        return [(v.get("vendor", v)["contact_name"], v.get("vendor", v)["contact_phone"]) for v in items]

    assert contact(hospital["api"], "/api/v1/vendor-directory", q="厦门") == [("周经理", "05921234567")]
    assert contact(other, "/api/v1/vendor-directory", q="厦门") == [(None, None)]
    assert ("周经理", "05921234567") in contact(hospital["api"], "/api/v1/invitations")
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.vendor_id == served.id))
        db.session.expunge(admin)
    assert contact(factory.api(client, admin), "/api/v1/vendor-profile") == [("周经理", "05921234567")]
    # Invited but not (yet) served: the invitation shows no contact either.
    pending = other.post("/api/v1/invitations", json={"vendor_id": served.id})
    assert pending.status_code == 201 and pending.get_json()["invitation"]["vendor"]["contact_phone"] is None
