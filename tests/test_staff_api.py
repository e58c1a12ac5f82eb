"""账号管理 through the PC API: the equipment manager keeps the institution's accounts and the vendor
admin the vendor's; a new account waits for its activation code; deactivating a person ends their
sessions and bindings, hands their open orders back to 待接单 (the dispatcher is told through the
outbox) and falls their alert plans back to the equipment managers; the last administrator stays;
the 指定人员 picker offers exactly what an alert plan accepts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from connections.redis import redis
from models import (
    AccountCode,
    AlertPlan,
    AlertPlanRecipient,
    AuditEntry,
    ChannelName,
    Delivery,
    OutboxMessage,
    Role,
    Scope,
    User,
    WorkOrder,
    WorkOrderStatus,
    db,
)
from operations.account_codes import redeem
from operations.clock import today_local
from operations.errors import InvalidInput
from tests.conftest import TEST_PASSWORD, a_minute_later
from tests.test_miniprogram_session import bind_code_for, sign_in

SEND_SMS = "SendSms"
STAFF = "/api/v1/staff"


@pytest.fixture
def org(factory, client):
    institution = factory.institution("医疗机构测试1", departments=("口腔科", "CT室", "眼科"))
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张主任", phone="13800000001")
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    with factory.app.app_context():
        admin = db.session.scalar(select(User).where(User.vendor_id == vendor.id, User.role == Role.VENDOR_ADMIN))
        admin.display_name = "赵经理"
        db.session.commit()
        db.session.refresh(admin)
        db.session.expunge(admin)
    other = factory.institution("医疗机构测试2")
    outsider = factory.user(Role.EQUIPMENT_MANAGER, institution=other, display_name="外院主任")
    return {
        "institution": institution,
        "departments": factory.departments(institution),
        "manager": manager,
        "clinician": clinician,
        "vendor": vendor,
        "admin": admin,
        "other": other,
        "outsider": outsider,
        "api": factory.api(client, manager),
        "clinician_api": factory.api(client, clinician),
        "admin_api": factory.api(client, admin),
        "outsider_api": factory.api(client, outsider),
    }


def audit_rows(app, entity_type: str, action: str | None = None) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.entity_type == entity_type).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
        return rows


def sms_code(sms_sim, phone: str) -> str:
    sent = [r for r in sms_sim.state.records(SEND_SMS) if r.payload["PhoneNumbers"] == phone]
    param = sent[-1].payload["TemplateParam"]
    return (json.loads(param) if isinstance(param, str) else param)["code"]


def new_staff(org, api=None, **fields):
    body = {"username": "liqiang", "display_name": "李强", "role": "institution_engineer"} | fields
    return (api or org["api"]).post(STAFF, json=body)


# -- 账号管理 ------------------------------------------------------------------------------------


def test_a_new_account_waits_for_its_activation_code_sent_by_sms(org, app, client, sms_sim):
    created = new_staff(org, phone="13800000011", department_id=org["departments"]["CT室"])
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    assert answer["user"] | {"id": 0, "created_at": ""} == {
        "id": 0,
        "username": "liqiang",
        "display_name": "李强",
        "phone": "13800000011",
        "role": "institution_engineer",
        "role_label": "院内工程师",
        "department_id": org["departments"]["CT室"],
        "department": "CT室",
        "is_active": True,
        "activated": False,
        "deactivated_at": None,
        "created_at": "",
        "wechat_bound": {"official_account": False, "miniprogram": False},
        "skills": [],
    }
    activation = answer["activation"]
    assert activation["sent"] is True and activation["purpose"] == "activation" and "code" not in activation
    assert activation["phone"] == "138****0011"

    # Nobody can sign in before the person sets a password with the code.
    refused = client.post("/api/v1/session", json={"username": "liqiang", "password": TEST_PASSWORD})
    assert refused.status_code == 401
    with app.app_context():
        redeem(app.config["SECRET_KEY"], sms_code(sms_sim, "13800000011"), "Qiang-2026-ct", by_edge="pc")
        db.session.commit()
    signed_in = client.post("/api/v1/session", json={"username": "liqiang", "password": "Qiang-2026-ct"})
    assert signed_in.status_code == 200
    # Creating the account and its first code are one change: one row, noting the code.
    assert [row.action for row in audit_rows(app, "user")] == ["create", "activate"]
    created = audit_rows(app, "user", "create")[0]
    assert created.changes["username"] == [None, "liqiang"] and created.changes["activation_code"] == "changed"


def test_without_a_mobile_the_code_is_shown_to_the_manager(org):
    answer = new_staff(org, username="nophone").get_json()["activation"]
    assert answer["sent"] is False and len(answer["code"]) == 8 and "当面告知本人" in answer["message"]


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"username": "x"}, "username", "用户名为 3–50 位"),
        ({"username": "李强"}, "username", "用户名为 3–50 位"),
        ({"phone": "12345"}, "phone", "11 位中国大陆手机号"),
        ({"role": "vendor_engineer"}, "role", "角色应为"),
        ({"role": "boss"}, "role", "取值应为"),
        ({"role": "clinician"}, "department_id", "必须选择所属科室"),
        ({"display_name": "   "}, "display_name", "必填"),
        ({"nickname": "强子"}, "nickname", "不支持的字段"),
    ],
)
def test_bad_staff_input_is_refused_on_its_field(org, app, fields, field, reason):
    refused = new_staff(org, **fields)
    assert refused.status_code == 422
    assert reason in refused.get_json()["error"]["fields"][field]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "liqiang")) == 0


def test_usernames_and_active_mobiles_are_unique_on_the_platform(org):
    taken = new_staff(org, username=org["outsider"].username.upper())
    assert taken.status_code == 409 and taken.get_json()["error"]["message"] == "用户名已被使用"
    mobile = new_staff(org, phone="13800000001")
    assert mobile.status_code == 409 and mobile.get_json()["error"]["message"] == "该手机号已被其他账号使用"


def test_only_administrators_manage_and_only_their_own_organisation(org):
    assert new_staff(org, api=org["clinician_api"]).status_code == 403
    assert org["clinician_api"].get(STAFF).status_code == 403
    clinician_id = org["clinician"].id
    for api in (org["outsider_api"], org["admin_api"]):
        assert api.get(f"{STAFF}/{clinician_id}").status_code == 404
        assert api.patch(f"{STAFF}/{clinician_id}", json={"display_name": "改"}).status_code == 404
        assert api.post(f"{STAFF}/{clinician_id}/deactivate").status_code == 404
        assert api.post(f"{STAFF}/{clinician_id}/account-code").status_code == 404
        assert api.get(f"{STAFF}/{clinician_id}/wechat-bindings").status_code == 404
    # A department of another institution does not exist for this manager.
    foreign = org["outsider_api"].post("/api/v1/departments", json={"name": "外院科室"}).get_json()["id"]
    assert new_staff(org, department_id=foreign).status_code == 404


def test_the_list_searches_filters_and_pages(org, factory):
    api = org["api"]
    ct = org["departments"]["CT室"]
    for index, (name, role) in enumerate(
        (("李工", "institution_engineer"), ("李医生", "clinician"), ("周工", "institution_engineer"))
    ):
        response = new_staff(
            org, username=f"staff{index}", display_name=name, role=role, department_id=ct, phone=f"1390000000{index}"
        )
        assert response.status_code == 201, response.get_json()
    everyone = api.get(STAFF).get_json()
    assert everyone["total"] == 5  # the two accounts the fixture made, and three new ones
    names = lambda query: [item["display_name"] for item in api.get(f"{STAFF}?{query}").get_json()["items"]]  # noqa: E731
    assert sorted(names("q=李")) == ["李医生", "李工"]
    assert names("q=13900000002") == ["周工"]
    assert sorted(names("q=STAFF1")) == ["李医生"]
    assert sorted(names("role=institution_engineer")) == ["周工", "李工"]
    assert sorted(names(f"department_id={ct}")) == ["周工", "李医生", "李工"]
    assert sorted(names("activated=false")) == ["周工", "李医生", "李工"]
    assert sorted(names("activated=true")) == ["张主任", "王护士"]
    page = api.get(f"{STAFF}?per_page=2&page=3").get_json()
    assert page["total"] == 5 and len(page["items"]) == 1
    assert api.get(f"{STAFF}?per_page=2&page=4").status_code == 404
    assert api.get(f"{STAFF}?is_active=maybe").get_json()["error"]["fields"]["is_active"] == "应为 true 或 false"


def test_edit_changes_only_what_is_given_and_is_audited(org, app):
    user_id = new_staff(org, phone="13800000011").get_json()["user"]["id"]
    edited = org["api"].patch(
        f"{STAFF}/{user_id}",
        json={"display_name": "李强强", "role": "clinician", "department_id": org["departments"]["眼科"]},
    )
    assert edited.status_code == 200, edited.get_json()
    body = edited.get_json()
    assert (body["display_name"], body["role"], body["department"], body["phone"]) == (
        "李强强",
        "clinician",
        "眼科",
        "13800000011",
    )
    row = audit_rows(app, "user", "update")[-1]
    assert row.changes == {
        "display_name": ["李强", "李强强"],
        "role": ["institution_engineer", "clinician"],
        "department_id": [None, org["departments"]["眼科"]],
    }
    taken = org["api"].patch(f"{STAFF}/{user_id}", json={"phone": "13800000001"})
    assert taken.status_code == 409
    assert org["api"].patch(f"{STAFF}/{user_id}", json={"role": "vendor_admin"}).status_code == 422


def test_a_vendor_admin_manages_the_vendors_engineers(org, app):
    api = org["admin_api"]
    created = new_staff(org, api=api, username="vendor-liu", display_name="刘工", role="vendor_engineer")
    assert created.status_code == 201, created.get_json()
    engineer = created.get_json()["user"]
    assert engineer["department_id"] is None and engineer["role_label"] == "服务商工程师"
    assert new_staff(org, api=api, username="vendor-2", role="clinician").status_code == 422
    in_department = new_staff(
        org, api=api, username="vendor-3", role="vendor_engineer", department_id=org["departments"]["CT室"]
    )
    assert in_department.get_json()["error"]["fields"]["department_id"] == "服务商账号没有科室"
    assert [item["display_name"] for item in api.get(STAFF).get_json()["items"]] == ["刘工", "赵经理"]
    assert api.patch(f"{STAFF}/{engineer['id']}", json={"phone": "13900000077"}).get_json()["phone"] == "13900000077"
    # The manager of the hospital the vendor serves does not manage the vendor's people.
    assert org["api"].get(f"{STAFF}/{engineer['id']}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.vendor_id).where(AuditEntry.action == "create")) == org["vendor"].id


def test_the_list_shows_each_engineers_skills(org, factory):
    factory.device(org["institution"], name="CT", category="CT")
    factory.device(org["institution"], name="呼吸机", category="呼吸机")
    api = org["admin_api"]
    engineer = new_staff(org, api=api, username="vendor-liu", display_name="刘工", role="vendor_engineer")
    engineer_id = engineer.get_json()["user"]["id"]
    assert engineer.get_json()["user"]["skills"] == []
    chosen = api.put(f"/api/v1/engineers/{engineer_id}/skills", json={"categories": ["呼吸机", "CT"]})
    assert chosen.status_code == 200, chosen.get_json()
    listed = {item["display_name"]: item["skills"] for item in api.get(STAFF).get_json()["items"]}
    assert listed == {"刘工": ["CT", "呼吸机"], "赵经理": []}
    assert api.get(f"{STAFF}/{engineer_id}").get_json()["skills"] == ["CT", "呼吸机"]
    # the hospital's list has the column too: empty for who is not an engineer
    hospital = org["api"].get(STAFF).get_json()["items"]
    assert hospital and all(item["skills"] == [] for item in hospital)


def test_a_reset_code_replaces_the_activation_code_once_activated(org, app, sms_sim, factory):
    user_id = new_staff(org, phone="13800000011").get_json()["user"]["id"]
    first = sms_code(sms_sim, "13800000011")
    # One code a minute per number: the second is refused, never shown, and the first still works.
    refused = org["api"].post(f"{STAFF}/{user_id}/account-code")
    assert refused.status_code == 429 and refused.get_json()["error"]["message"] == "验证码已发送，请 1 分钟后再试"
    a_minute_later(app, "13800000011")
    again = org["api"].post(f"{STAFF}/{user_id}/account-code")
    assert again.status_code == 201 and again.get_json()["purpose"] == "activation"
    assert again.get_json()["sent"] is True and "code" not in again.get_json()
    with app.app_context():  # the newer code voids the first
        with pytest.raises(InvalidInput):
            redeem(app.config["SECRET_KEY"], first, "Qiang-2026-ct", by_edge="pc")
        redeem(app.config["SECRET_KEY"], sms_code(sms_sim, "13800000011"), "Qiang-2026-ct", by_edge="pc")
        db.session.commit()
    a_minute_later(app, "13800000011")
    reset = org["api"].post(f"{STAFF}/{user_id}/account-code").get_json()
    assert reset["purpose"] == "password_reset" and reset["purpose_label"] == "重置密码"

    # An activated person's 重置码 goes to their mobile only: without one nobody is shown it.
    peer = factory.user(Role.EQUIPMENT_MANAGER, institution=org["institution"], display_name="钱主任")
    withheld = org["api"].post(f"{STAFF}/{peer.id}/account-code").get_json()
    assert withheld["sent"] is False and "code" not in withheld and "不在页面显示" in withheld["message"]
    assert "code" not in org["api"].post(f"{STAFF}/{org['clinician'].id}/account-code").get_json()


# -- nobody takes another's account over: the mobile is its key --------------------------------------


def test_an_administrator_cannot_move_an_activated_accounts_mobile(org, factory, client, sms_sim, app):
    """The takeover the rule stops: a manager points a fellow manager's account at their own SIM,
    then asks 忘记密码 for that number."""
    peer = factory.user(
        Role.EQUIPMENT_MANAGER, institution=org["institution"], display_name="钱主任", phone="13800000002"
    )
    moved = org["api"].patch(f"{STAFF}/{peer.id}", json={"phone": "13900000099"})
    assert moved.status_code == 422
    assert moved.get_json()["error"]["fields"] == {"phone": "已激活的账号请本人在个人设置中更换手机号"}
    assert client.post("/api/v1/password-reset", json={"phone": "13900000099"}, buffered=True).status_code == 200
    assert [r for r in sms_sim.state.records(SEND_SMS) if r.payload["PhoneNumbers"] == "13900000099"] == []
    # Nor cleared while the account works, nor moved for anyone activated, nor for oneself here.
    for user_id, phone in ((peer.id, None), (org["clinician"].id, "13900000098"), (org["manager"].id, "13900000097")):
        refused = org["api"].patch(f"{STAFF}/{user_id}", json={"phone": phone})
        assert refused.status_code == 422 and list(refused.get_json()["error"]["fields"]) == ["phone"]
    with app.app_context():
        assert db.session.get(User, peer.id).phone == "13800000002"
    assert audit_rows(app, "user", "update") == []


def test_demoting_a_fellow_manager_does_not_reveal_their_code(org, factory):
    """Demote, show the code, promote back: an activated person's code, and any administrator's,
    never appears on the page."""
    peer = factory.user(Role.EQUIPMENT_MANAGER, institution=org["institution"], display_name="钱主任")
    demoted = org["api"].patch(f"{STAFF}/{peer.id}", json={"role": "institution_engineer"})
    assert demoted.status_code == 200
    answer = org["api"].post(f"{STAFF}/{peer.id}/account-code").get_json()
    assert answer["purpose"] == "password_reset" and answer["sent"] is False and "code" not in answer
    assert answer["message"].startswith("未能通过短信发送重置码：已激活账号的重置码只发送到本人手机")

    # An administrator not activated yet: demoted for the moment, their 激活码 stays off the page.
    created = new_staff(org, username="sun", display_name="孙主任", role="equipment_manager").get_json()["user"]
    assert (
        org["api"]
        .patch(f"{STAFF}/{created['id']}", json={"role": "clinician", "department_id": org["departments"]["眼科"]})
        .status_code
        == 200
    )
    answer = org["api"].post(f"{STAFF}/{created['id']}/account-code").get_json()
    assert answer["purpose"] == "activation" and "code" not in answer and "管理员账号的激活码" in answer["message"]
    # Someone who never administered anything, not activated: handed over in person as before.
    engineer = new_staff(org, username="liqiang").get_json()["user"]
    assert len(org["api"].post(f"{STAFF}/{engineer['id']}/account-code").get_json()["code"]) == 8


def test_correcting_a_waiting_accounts_mobile_voids_the_codes_sent_to_the_old_one(org, client, sms_sim, app):
    created = new_staff(org, phone="13900000011").get_json()
    assert created["activation"]["sent"] is True
    wrong_number_code = sms_code(sms_sim, "13900000011")
    corrected = org["api"].patch(f"{STAFF}/{created['user']['id']}", json={"phone": "13900000012"})
    assert corrected.status_code == 200 and corrected.get_json()["phone"] == "13900000012"
    assert audit_rows(app, "user", "update")[-1].changes == {
        "phone": ["13900000011", "13900000012"],
        "account_codes_voided": 1,
    }
    refused = client.post("/api/v1/account-code", json={"code": wrong_number_code, "password": "Qiang-2026-ct"})
    assert refused.status_code == 422
    sent = org["api"].post(f"{STAFF}/{created['user']['id']}/account-code").get_json()
    assert sent["sent"] is True and sent["phone"] == "139****0012"
    redeemed = client.post(
        "/api/v1/account-code", json={"code": sms_code(sms_sim, "13900000012"), "password": "Qiang-2026-ct"}
    )
    assert redeemed.status_code == 200 and redeemed.get_json()["user"]["id"] == created["user"]["id"]


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_name_cannot_be_emptied(org, app, name):
    refused = org["api"].patch(f"{STAFF}/{org['clinician'].id}", json={"display_name": name})
    assert refused.status_code == 422 and refused.get_json()["error"]["fields"] == {"display_name": "必填"}
    with app.app_context():
        assert db.session.get(User, org["clinician"].id).display_name == "王护士"


def test_codes_are_sent_once_stored(org, app, sms_sim, monkeypatch):
    """The SMS goes after the commit: whoever receives a code can use it at once, and no row is
    held locked while the gateway answers."""
    with app.app_context():
        engine = db.engine
    seen: list[tuple[int, int]] = []  # (accounts named liqiang, their codes) as another connection sees them
    record = sms_sim.state.record

    def observing(endpoint, *args, **kwargs):
        if endpoint == SEND_SMS:
            with engine.connect() as connection:
                seen.append(
                    (
                        connection.scalar(select(func.count()).select_from(User).where(User.username == "liqiang")),
                        connection.scalar(
                            select(func.count())
                            .select_from(AccountCode)
                            .join(User, User.id == AccountCode.user_id)
                            .where(User.username == "liqiang")
                        ),
                    )
                )
        return record(endpoint, *args, **kwargs)

    monkeypatch.setattr(sms_sim.state, "record", observing)
    created = new_staff(org, phone="13900000011")
    assert created.get_json()["activation"]["sent"] is True
    with app.app_context():
        redis().flushdb()  # the next code to the number is not held back by its one-a-minute limit
    sms_sim.state.advance_clock(61)  # nor by Aliyun's
    again = org["api"].post(f"{STAFF}/{created.get_json()['user']['id']}/account-code").get_json()
    assert again["sent"] is True
    assert seen == [(1, 1), (1, 2)]


# -- WeChat bindings ------------------------------------------------------------------------------


def test_bindings_are_seen_and_removed_by_the_manager_and_by_the_person(org, app, client, wechat_sim, factory):
    engineer = factory.user(
        Role.INSTITUTION_ENGINEER, institution=org["institution"], display_name="李工", wechat_openid="o-oa-engineer"
    )
    phone = sign_in(client, wechat_sim, "o-mp-engineer", unionid="u-engineer")
    assert phone.post("/bind", json={"bind_code": bind_code_for(app, engineer)}).get_json()["bound"] is True
    listed = org["api"].get(f"{STAFF}/{engineer.id}/wechat-bindings").get_json()["items"]
    assert [(b["kind"], b["kind_label"], b["following"]) for b in listed] == [
        ("official_account", "公众号", True),
        ("miniprogram", "小程序", None),
    ]
    assert "o-oa-engineer" not in str(listed)  # openids are shown masked
    detail = org["api"].get(f"{STAFF}/{engineer.id}").get_json()
    assert (
        detail["wechat_bound"] == {"official_account": True, "miniprogram": True}
        and len(detail["wechat_bindings"]) == 2
    )

    removed = org["api"].delete(f"{STAFF}/{engineer.id}/wechat-bindings/official_account")
    assert removed.status_code == 200 and [b["kind"] for b in removed.get_json()["items"]] == ["miniprogram"]
    assert org["api"].delete(f"{STAFF}/{engineer.id}/wechat-bindings/official_account").status_code == 404
    assert phone.get("/me").get_json()["bound"] is True  # the mini-program binding stays

    own = factory.api(client, engineer)
    assert [b["kind"] for b in own.get("/api/v1/me/wechat-bindings").get_json()["items"]] == ["miniprogram"]
    assert own.delete("/api/v1/me/wechat-bindings/miniprogram").get_json()["items"] == []
    assert phone.get("/me").status_code == 401  # the session that acted as the account is over
    assert own.delete("/api/v1/me/wechat-bindings/wechat").status_code == 404
    rows = audit_rows(app, "wechat_binding", "unbind")
    assert [(row.actor_id, list(row.changes)) for row in rows] == [
        (org["manager"].id, ["official_account"]),
        (engineer.id, ["miniprogram"]),
    ]


# -- deactivation ------------------------------------------------------------------------------------


@pytest.fixture
def repairs(org, factory, client, app, wechat_sim):
    """The vendor's engineer holds an accepted repair, is bound in the mini-program, signed in on
    the PC; the hospital's engineer is the only 指定人员 of a credential's plan."""
    device = factory.device(org["institution"], name="高压注射器", department="口腔科", category="注射泵")
    today = today_local()
    factory.authorization(
        device,
        org["vendor"],
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=365),
        scopes={Scope.REPAIR},
    )
    engineer = factory.user(Role.VENDOR_ENGINEER, vendor=org["vendor"], display_name="刘工", phone="13900000010")
    engineer_pc = factory.api(client, engineer)
    phone = sign_in(client, wechat_sim, "o-mp-liu")
    assert phone.post("/bind", json={"bind_code": bind_code_for(app, engineer)}).get_json()["bound"] is True
    order = org["clinician_api"].post(
        "/api/v1/work-orders",
        json={
            "device_id": device.id,
            "contact_name": "王护士",
            "contact_methods": [{"kind": "mobile", "value": "13800000002"}, {"kind": "landline", "value": "8021"}],
            "fault_description": "开机报错",
        },
    )
    assert order.status_code == 201, order.get_json()
    order_id = order.get_json()["id"]
    assert engineer_pc.post(f"/api/v1/work-orders/{order_id}/accept").status_code == 200

    in_house = factory.user(Role.INSTITUTION_ENGINEER, institution=org["institution"], display_name="院内李工")
    credential = org["api"].post(
        "/api/v1/credentials",
        json={
            "kind": "operation_certificate",
            "number": "C-1",
            "holder_name": "李工",
            "valid_until": (today + timedelta(days=3)).isoformat(),
            "device_ids": [device.id],
            "alert": {"channels": ["inbox"], "notify_related": False, "recipient_ids": [in_house.id]},
        },
    )
    assert credential.status_code == 201, credential.get_json()
    return {
        "engineer": engineer,
        "engineer_pc": engineer_pc,
        "phone": phone,
        "order_id": order_id,
        "in_house": in_house,
        "plan_id": credential.get_json()["alert"]["id"],
    }


def test_deactivating_an_engineer_hands_the_order_back_and_ends_every_session(org, repairs, app):
    engineer, order_id = repairs["engineer"], repairs["order_id"]
    done = org["admin_api"].post(f"{STAFF}/{engineer.id}/deactivate")
    assert done.status_code == 200, done.get_json()
    answer = done.get_json()
    assert answer["user"]["is_active"] is False and answer["user"]["deactivated_at"]
    assert answer["sessions_ended"]["pc"] is True and len(answer["sessions_ended"]["miniprogram"]) == 1
    assert answer["bindings_removed"] == ["miniprogram"]
    assert answer["work_orders_handed_back"] == {"count": 1, "ids": [order_id]}
    assert "1 个工单已退回待接单" in answer["message"]

    assert repairs["engineer_pc"].get("/api/v1/me").status_code == 401
    assert repairs["phone"].get("/me").status_code == 401
    order = org["admin_api"].get(f"/api/v1/work-orders/{order_id}").get_json()
    assert order["status"] == "pending" and order["status_label"] == "待接单" and order["assignee"] is None
    with app.app_context():
        told = db.session.execute(
            select(Delivery.recipient_id, Delivery.channel, OutboxMessage.body)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(OutboxMessage.topic == "work_order.handed_back", OutboxMessage.work_order_id == order_id)
        ).all()
        channels = {(recipient, ChannelName(channel).value) for recipient, channel, _ in told}
        # Pushed to the dispatcher: by SMS here, since the admin has bound no WeChat.
        assert {(org["admin"].id, "sms"), (org["admin"].id, "inbox")} <= channels
        assert engineer.id not in {recipient for recipient, _ in channels}
        assert all("刘工的账号已停用" in body for _, _, body in told)
        stored = db.session.get(WorkOrder, order_id)
        assert stored.status is WorkOrderStatus.PENDING and stored.accepted_at is not None  # its history stays
    # The dispatcher hands it on; the stopped engineer is no candidate any more.
    candidates = org["admin_api"].get(f"/api/v1/work-orders/{order_id}/candidates").get_json()["items"]
    assert engineer.id not in [c["user_id"] for c in candidates]

    handed = audit_rows(app, "work_order", "hand_back")
    assert [(row.actor_id, row.edge.value, row.changes["status"]) for row in handed] == [
        (None, "system", ["accepted", "pending"])
    ]
    deactivated = audit_rows(app, "user", "deactivate")[0]
    assert deactivated.actor_id == org["admin"].id and deactivated.changes["is_active"] == [True, False]
    assert deactivated.changes["work_orders_handed_back"] == [order_id]

    # Nobody may act as the account any more, and reactivating does not bring the bindings back.
    assert org["admin_api"].post(f"{STAFF}/{engineer.id}/deactivate").status_code == 409
    back = org["admin_api"].post(f"{STAFF}/{engineer.id}/reactivate")
    assert back.status_code == 200 and back.get_json()["is_active"] is True
    assert back.get_json()["wechat_bound"] == {"official_account": False, "miniprogram": False}
    assert repairs["engineer_pc"].get("/api/v1/me").status_code == 401  # old tokens stay dead


def test_a_plan_left_with_nobody_falls_back_to_the_equipment_managers(org, repairs, app, factory):
    second = factory.user(Role.EQUIPMENT_MANAGER, institution=org["institution"], display_name="钱主任")
    done = org["api"].post(f"{STAFF}/{repairs['in_house'].id}/deactivate").get_json()
    assert done["alert_plans_left"] == {"count": 1, "ids": [repairs["plan_id"]]}
    assert done["alert_plans_fell_back"] == {"count": 1, "ids": [repairs["plan_id"]]}
    plan = org["api"].get(f"/api/v1/alert-plans/{repairs['plan_id']}").get_json()
    with app.app_context():
        designated = set(
            db.session.scalars(
                select(AlertPlanRecipient.user_id).where(AlertPlanRecipient.alert_plan_id == repairs["plan_id"])
            )
        )
    assert designated == {org["manager"].id, second.id} and plan["status"] == "active"
    fall_back = audit_rows(app, "alert_plan", "fall_back")
    assert [(row.actor_id, row.edge.value, row.entity_id) for row in fall_back] == [
        (None, "system", repairs["plan_id"])
    ]
    assert fall_back[0].changes["recipient_ids"] == [[repairs["in_house"].id], sorted([org["manager"].id, second.id])]


def test_a_plan_with_someone_left_keeps_its_recipients(org, repairs, app):
    org["api"].put(
        f"/api/v1/alert-plans/{repairs['plan_id']}",
        json={
            "channels": ["inbox"],
            "notify_related": False,
            "recipient_ids": [repairs["in_house"].id, org["clinician"].id],
        },
    )
    done = org["api"].post(f"{STAFF}/{repairs['in_house'].id}/deactivate").get_json()
    assert done["alert_plans_left"]["ids"] == [repairs["plan_id"]] and done["alert_plans_fell_back"]["count"] == 0
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).where(AlertPlanRecipient.alert_plan_id == repairs["plan_id"])) == 1
        )


def test_the_last_administrator_can_be_neither_stopped_nor_demoted(org, factory, app, client):
    # The vendor's only admin, by a second admin who is then alone.
    second = factory.user(Role.VENDOR_ADMIN, vendor=org["vendor"], display_name="孙经理")
    assert org["admin_api"].post(f"{STAFF}/{second.id}/deactivate").status_code == 200
    refused = org["admin_api"].post(f"{STAFF}/{org['admin'].id}/deactivate")
    assert refused.status_code == 409 and refused.get_json()["error"]["message"] == "不能停用自己的账号"
    created = new_staff(org, api=org["admin_api"], username="v-eng", role="vendor_engineer").get_json()
    engineer = created["user"]
    demoted = org["admin_api"].patch(f"{STAFF}/{org['admin'].id}", json={"role": "vendor_engineer"})
    assert demoted.status_code == 409 and "唯一在用的服务商管理员" in demoted.get_json()["error"]["message"]
    assert org["admin_api"].patch(f"{STAFF}/{engineer['id']}", json={"role": "vendor_admin"}).status_code == 200
    # An admin nobody has activated yet manages nothing: the only activated one stays.
    demoted = org["admin_api"].patch(f"{STAFF}/{org['admin'].id}", json={"role": "vendor_engineer"})
    assert demoted.status_code == 409 and "唯一在用的服务商管理员" in demoted.get_json()["error"]["message"]
    code = created["activation"]["code"]  # no mobile: handed over in person
    assert client.post("/api/v1/account-code", json={"code": code, "password": "Vendor-Eng-2026"}).status_code == 200
    assert org["admin_api"].patch(f"{STAFF}/{org['admin'].id}", json={"role": "vendor_engineer"}).status_code == 200

    # The institution's only active equipment manager, by a colleague.
    colleague = factory.user(Role.EQUIPMENT_MANAGER, institution=org["institution"], display_name="钱主任")
    colleague_api = factory.api(org["api"].client, colleague)
    assert colleague_api.post(f"{STAFF}/{org['manager'].id}/deactivate").status_code == 200
    with app.app_context():
        only = db.session.get(User, colleague.id)
        only.is_active = True
    refused = colleague_api.patch(
        f"{STAFF}/{colleague.id}", json={"role": "clinician", "department_id": org["departments"]["眼科"]}
    )
    assert refused.status_code == 409 and "唯一在用的设备科管理员" in refused.get_json()["error"]["message"]


def test_reactivation_is_refused_while_another_active_account_has_the_mobile(org, factory):
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=org["institution"], phone="13800000055")
    assert org["api"].post(f"{STAFF}/{engineer.id}/deactivate").status_code == 200
    assert new_staff(org, username="newcomer", phone="13800000055").status_code == 201  # the mobile is free now
    refused = org["api"].post(f"{STAFF}/{engineer.id}/reactivate")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["message"] == "该手机号已被其他账号使用，请先清除此账号的手机号"
    # The account is activated: its new number is its person's to set (by a code sent to it);
    # the manager may only clear the old one.
    moved = org["api"].patch(f"{STAFF}/{engineer.id}", json={"phone": "13800000056"})
    assert moved.status_code == 422
    cleared = org["api"].patch(f"{STAFF}/{engineer.id}", json={"phone": None})
    assert cleared.status_code == 200 and cleared.get_json()["phone"] is None
    assert org["api"].post(f"{STAFF}/{engineer.id}/reactivate").status_code == 200
    assert org["api"].patch(f"{STAFF}/{engineer.id}", json={"phone": "13800000056"}).status_code == 422


def test_nobody_is_reactivated_into_a_stopped_department(org, app):
    """A stopped person keeps their department; once it is stopped too, they are moved to one in
    use first (an edit a stopped account still takes), then reactivated."""
    person = new_staff(org, role="clinician", department_id=org["departments"]["眼科"]).get_json()["user"]
    assert org["api"].post(f"{STAFF}/{person['id']}/deactivate").status_code == 200
    assert org["api"].post(f"/api/v1/departments/{org['departments']['眼科']}/deactivate").status_code == 200
    refused = org["api"].post(f"{STAFF}/{person['id']}/reactivate")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["message"] == "所属科室“眼科”已停用，请先为其更换科室"
    assert [row.action for row in audit_rows(app, "user")] == ["create", "deactivate"]
    moved = org["api"].patch(f"{STAFF}/{person['id']}", json={"department_id": org["departments"]["CT室"]})
    assert moved.status_code == 200 and moved.get_json()["department"] == "CT室"
    back = org["api"].post(f"{STAFF}/{person['id']}/reactivate")
    assert back.status_code == 200 and back.get_json()["is_active"] is True


# -- the 指定人员 picker --------------------------------------------------------------------------------


def test_the_picker_offers_the_active_accounts_and_hides_mobiles_from_non_managers(org, factory, client):
    engineer = factory.user(
        Role.INSTITUTION_ENGINEER, institution=org["institution"], display_name="李工", phone="13800000066"
    )
    engineer_api = factory.api(client, engineer)
    stopped = factory.user(Role.INSTITUTION_ENGINEER, institution=org["institution"], display_name="离职李工")
    assert org["api"].post(f"{STAFF}/{stopped.id}/deactivate").status_code == 200
    managers_view = org["api"].get("/api/v1/users?q=李").get_json()["items"]
    assert [(row["display_name"], row["phone"]) for row in managers_view] == [("李工", "13800000066")]
    assert "username" in managers_view[0]
    seen = engineer_api.get("/api/v1/users").get_json()["items"]
    assert {row["display_name"] for row in seen} == {"张主任", "王护士", "李工"}
    assert all(
        set(row) == {"id", "display_name", "role", "role_label", "department_id", "department", "vendor_id", "vendor"}
        for row in seen
    )
    assert engineer_api.get("/api/v1/users?q=13800000066").get_json()["items"] == []  # no search by mobile
    # A clinician's PC has 工单 and 首页通知 only (test_console_role_access).
    assert org["clinician_api"].get("/api/v1/users").status_code == 403
    assert [
        row["display_name"] for row in org["api"].get("/api/v1/users?role=equipment_manager").get_json()["items"]
    ] == ["张主任"]
    assert org["outsider_api"].get("/api/v1/users").get_json()["total"] == 1


def test_the_picker_and_the_plan_agree_on_a_vendors_admins(org, factory, app):
    device = factory.device(org["institution"], name="监护仪")
    vendor_engineer = factory.user(Role.VENDOR_ENGINEER, vendor=org["vendor"], display_name="刘工")
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
            "alert": {"channels": ["inbox"], "notify_related": False, "recipient_ids": [org["admin"].id]},
        },
    )
    assert authorized.status_code == 201, authorized.get_json()
    plan_id = authorized.get_json()["items"][0]["alert"]["id"]
    offered = org["api"].get(f"/api/v1/users?alert_plan_id={plan_id}").get_json()["items"]
    assert [(row["display_name"], row["vendor"]) for row in offered] == [
        ("张主任", None),
        ("王护士", None),
        ("赵经理", "服务商测试1"),
    ]
    assert [
        row["display_name"] for row in org["api"].get(f"/api/v1/users?vendor_id={org['vendor'].id}").get_json()["items"]
    ][-1] == "赵经理"
    refused = org["api"].put(
        f"/api/v1/alert-plans/{plan_id}",
        json={"channels": ["inbox"], "notify_related": False, "recipient_ids": [vendor_engineer.id]},
    )
    assert (
        refused.status_code == 422 and str(vendor_engineer.id) in refused.get_json()["error"]["fields"]["recipient_ids"]
    )
    # A credential's plan offers only the institution's people, and takes only them.
    credential = (
        org["api"]
        .post(
            "/api/v1/credentials",
            json={
                "kind": "operation_certificate",
                "number": "C-9",
                "valid_until": (today + timedelta(days=30)).isoformat(),
                "device_ids": [device.id],
            },
        )
        .get_json()
    )
    assert "赵经理" not in str(org["api"].get(f"/api/v1/users?alert_plan_id={credential['alert']['id']}").get_json())
    wrong = org["api"].put(
        f"/api/v1/alert-plans/{credential['alert']['id']}",
        json={"channels": ["inbox"], "notify_related": False, "recipient_ids": [org["admin"].id]},
    )
    assert wrong.status_code == 422
    # Another hospital's plan and a vendor it does not work with do not exist for the caller.
    assert org["outsider_api"].get(f"/api/v1/users?alert_plan_id={plan_id}").status_code == 404
    assert org["outsider_api"].get(f"/api/v1/users?vendor_id={org['vendor'].id}").status_code == 404
    with app.app_context():
        assert db.session.get(AlertPlan, plan_id) is not None


def test_a_role_that_no_longer_works_orders_hands_the_in_house_order_back(org, factory, app, client):
    device = factory.device(org["institution"], name="监护仪", department="眼科")  # no vendor: in-house
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=org["institution"], display_name="院内李工")
    order = (
        org["clinician_api"]
        .post(
            "/api/v1/work-orders",
            json={
                "device_id": device.id,
                "contact_name": "王护士",
                "contact_methods": [{"kind": "mobile", "value": "13800000002"}, {"kind": "landline", "value": "8021"}],
                "fault_description": "黑屏",
            },
        )
        .get_json()
    )
    assert factory.api(client, engineer).post(f"/api/v1/work-orders/{order['id']}/accept").status_code == 200
    changed = org["api"].patch(
        f"{STAFF}/{engineer.id}", json={"role": "clinician", "department_id": org["departments"]["眼科"]}
    )
    assert changed.status_code == 200, changed.get_json()
    assert org["api"].get(f"/api/v1/work-orders/{order['id']}").get_json()["status"] == "pending"
    with app.app_context():
        told = db.session.execute(
            select(Delivery.recipient_id, OutboxMessage.body)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(OutboxMessage.topic == "work_order.handed_back")
        ).all()
    assert org["manager"].id in {recipient for recipient, _ in told}  # the office dispatches in-house orders
    # Said as it is: the engineer took another role; the account was not stopped.
    assert all("院内李工已调整为其他岗位" in body and "停用" not in body for _, body in told)
    assert audit_rows(app, "user", "update")[-1].changes["work_orders_handed_back"] == [order["id"]]


@pytest.mark.skipif(
    not __import__("os").environ.get("WEIXIU_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locks: PostgreSQL (SQLite lets one writer in at a time)",
)
def test_an_accept_racing_a_deactivation_leaves_no_order_with_the_deactivated(org, factory, app):
    """The manager deactivates 刘工 while 刘工 taps 接单 on an order nobody holds yet: whichever
    comes first, the order ends with nobody who cannot work it."""
    import threading
    import time

    from operations.actors import Actor
    from operations.errors import PermissionDenied
    from operations.staff import deactivate_staff
    from operations.work_orders import flow

    device = factory.device(org["institution"], name="高压注射器", department="口腔科", category="注射泵")
    today = today_local()
    factory.authorization(
        device, org["vendor"], starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=30)
    )
    engineer = factory.user(Role.VENDOR_ENGINEER, vendor=org["vendor"], display_name="刘工", phone="13900000010")
    order = org["clinician_api"].post(
        "/api/v1/work-orders",
        json={
            "device_id": device.id,
            "contact_name": "王护士",
            "contact_methods": [{"kind": "mobile", "value": "13800000002"}, {"kind": "landline", "value": "8021"}],
            "fault_description": "开机报错",
        },
    )
    order_id = order.get_json()["id"]
    admin, locked, outcome = org["admin"], threading.Event(), {}

    def deactivate():
        with app.app_context():
            deactivate_staff(Actor(admin.id, admin.role, None, admin.vendor_id), engineer.id)
            locked.set()
            time.sleep(0.5)  # the engineer's tap arrives while this transaction is still open
            db.session.commit()

    def accept():
        locked.wait(5)
        with app.app_context():
            try:
                flow.accept(Actor(engineer.id, engineer.role, None, engineer.vendor_id), order_id)
                db.session.commit()
                outcome["accepted"] = True
            except PermissionDenied as refused:
                db.session.rollback()
                outcome["refused"] = refused.message

    threads = [threading.Thread(target=deactivate), threading.Thread(target=accept)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcome == {"refused": "账号已停用"}
    with app.app_context():
        stored = db.session.get(WorkOrder, order_id)
        assert stored.status is WorkOrderStatus.PENDING and stored.assignee_id is None
