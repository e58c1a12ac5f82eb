"""绑定微信 from the PC: bind codes and the official-account QR that carries them."""

from __future__ import annotations

import base64

import pytest

from models import BindCodeChannel, Role, db
from operations import wechat_accounts
from operations.clock import now_utc
from operations.errors import NotFound
from tests.conftest import TEST_PASSWORD
from tests.test_miniprogram_session import _sms_code

QRCODE_CREATE = "/cgi-bin/qrcode/create"


@pytest.fixture
def people(factory, client):
    institution = factory.institution()
    vendor = factory.accepted_vendor(institution)
    manager = factory.manager(institution)
    clinician = factory.user(Role.CLINICIAN, institution=institution)
    other = factory.user(Role.CLINICIAN, institution=institution)
    engineer = factory.user(Role.VENDOR_ENGINEER, vendor=vendor)
    return {
        "institution": institution,
        "vendor": vendor,
        "manager": manager,
        "clinician": clinician,
        "other": other,
        "engineer": engineer,
        "api": {
            name: factory.api(client, user)
            for name, user in {"manager": manager, "clinician": clinician, "engineer": engineer}.items()
        },
    }


def test_a_manager_issues_a_code_with_the_official_account_qr(app, people, wechat_sim):
    response = people["api"]["manager"].post(f"/api/v1/users/{people['clinician'].id}/bind-code")
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    code = answer["code"]
    assert len(code) == wechat_accounts.BIND_CODE_LENGTH and answer["expires_at"].endswith("+08:00")
    qr = answer["official_account_qr"]
    assert qr["available"] and base64.b64decode(qr["png_base64"]).startswith(b"\x89PNG")
    (created,) = wechat_sim.state.records(QRCODE_CREATE)
    assert created.payload["body"]["action_info"]["scene"]["scene_str"] == f"bind:{code}"
    assert created.payload["body"]["action_name"] == "QR_STR_SCENE"
    with app.app_context():
        user = wechat_accounts.redeem_bind_code(code.lower(), BindCodeChannel.MINIPROGRAM, now_utc())
        assert user.id == people["clinician"].id
        db.session.commit()
        with pytest.raises(NotFound):  # once only
            wechat_accounts.redeem_bind_code(code, BindCodeChannel.OFFICIAL_ACCOUNT, now_utc())
        db.session.rollback()


def own_code(people, who: str = "clinician", **body):
    return people["api"][who].post(f"/api/v1/users/{people[who].id}/bind-code", json=body)


def test_a_new_code_replaces_the_unused_one(app, people):
    first = own_code(people, password=TEST_PASSWORD).get_json()["code"]
    second = own_code(people, password=TEST_PASSWORD).get_json()["code"]
    with app.app_context():
        with pytest.raises(NotFound):
            wechat_accounts.redeem_bind_code(first, BindCodeChannel.MINIPROGRAM, now_utc())
        assert (
            wechat_accounts.redeem_bind_code(second, BindCodeChannel.MINIPROGRAM, now_utc()).id
            == people["clinician"].id
        )
        db.session.rollback()


def test_who_may_issue_a_code(people, factory, client):
    # Another hospital's manager learns nothing about this hospital's accounts.
    outsider = factory.api(client, factory.manager(factory.institution()))
    assert outsider.post(f"/api/v1/users/{people['clinician'].id}/bind-code").status_code == 404
    assert people["api"]["clinician"].post(f"/api/v1/users/{people['other'].id}/bind-code").status_code == 403
    assert people["api"]["engineer"].post(f"/api/v1/users/{people['clinician'].id}/bind-code").status_code == 404
    assert people["api"]["manager"].post("/api/v1/users/999999/bind-code").status_code == 404


def test_no_administrator_mints_a_code_for_an_equal(people, factory, client):
    second_manager = factory.user(Role.EQUIPMENT_MANAGER, institution=people["institution"])
    refused = people["api"]["manager"].post(f"/api/v1/users/{second_manager.id}/bind-code")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"] == "不能为同级管理员生成绑定码，请由其本人生成"

    admin, other_admin = (factory.user(Role.VENDOR_ADMIN, vendor=people["vendor"]) for _ in range(2))
    admin_api = factory.api(client, admin)
    assert admin_api.post(f"/api/v1/users/{other_admin.id}/bind-code").status_code == 403
    assert admin_api.post(f"/api/v1/users/{people['engineer'].id}/bind-code").status_code == 201
    assert people["api"]["manager"].post(f"/api/v1/users/{people['clinician'].id}/bind-code").status_code == 201


def test_a_code_for_oneself_needs_the_password_again(people):
    missing = own_code(people, "manager")
    assert missing.status_code == 422
    assert missing.get_json()["error"]["fields"] == {"password": "请先验证登录密码或手机短信验证码，确认是本人操作"}
    assert people["api"]["manager"].post(f"/api/v1/users/{people['manager'].id}/bind-code").status_code == 422
    wrong = own_code(people, "manager", password="not-it")
    assert wrong.status_code == 422 and wrong.get_json()["error"]["fields"] == {"password": "密码错误"}
    assert own_code(people, "manager", password=TEST_PASSWORD).status_code == 201


def test_password_rechecks_are_guarded_like_sign_ins(people):
    for _ in range(5):
        assert own_code(people, "clinician", password="guess").status_code == 422
    locked = own_code(people, "clinician", password=TEST_PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert locked.get_json()["error"]["message"] == "尝试次数过多，请 15 分钟后再试"


def test_without_the_wechat_channel_the_code_still_comes(app, people, configure):
    configure(WECHAT_OFFICIAL_APP_ID=None, WECHAT_OFFICIAL_APP_SECRET=None)
    answer = people["api"]["manager"].post(f"/api/v1/users/{people['clinician'].id}/bind-code").get_json()
    assert answer["code"] and answer["official_account_qr"] == {"available": False, "reason": "微信通道未配置"}


def test_a_code_for_oneself_by_an_sms_code_to_ones_own_mobile(app, people, factory, client, sms_sim, wechat_sim):
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=people["institution"], phone="13800000077")
    api = factory.api(client, manager)
    sent = api.post("/api/v1/me/sms-code")
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json() | {"expires_in": 0} == {
        "sent": True,
        "message": "验证码已发送",
        "expires_in": 0,
        "resend_in": 60,
        "phone": "138****0077",
    }
    record = sms_sim.state.records("SendSms")[-1]
    assert record.payload["PhoneNumbers"] == "13800000077"
    code = _sms_code(sms_sim)
    again = api.post("/api/v1/me/sms-code")
    assert again.status_code == 429 and again.get_json()["error"]["message"] == "验证码已发送，请 1 分钟后再试"

    url = f"/api/v1/users/{manager.id}/bind-code"
    wrong = api.post(url, json={"sms_code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["fields"] == {"sms_code": "验证码错误"}
    assert api.post(url, json={"sms_code": code}).status_code == 201
    used = api.post(url, json={"sms_code": code})  # once only
    assert used.status_code == 422 and used.get_json()["error"]["fields"] == {
        "sms_code": "验证码错误或已过期，请重新获取"
    }


def test_a_code_sent_for_the_mini_program_does_not_confirm_at_the_pc(app, people, factory, client, sms_sim, wechat_sim):
    from tests.test_miniprogram_session import sign_in

    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=people["institution"], phone="13800000078")
    phone = sign_in(client, wechat_sim, "o-elsewhere")
    assert phone.post("/bind/sms-code", json={"phone": "13800000078"}).status_code == 200
    code = _sms_code(sms_sim)
    api = factory.api(client, manager)
    refused = api.post(f"/api/v1/users/{manager.id}/bind-code", json={"sms_code": code})
    assert refused.status_code == 422


def test_no_sms_code_without_a_mobile_on_the_account(people):
    response = people["api"]["clinician"].post("/api/v1/me/sms-code")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"phone": "账号未登记手机号，请使用登录密码确认"}
