"""Handing over an account code from the PC (console_api.account_code_sms) when the SMS cannot go:
the code reaches the caller only when SMS is not configured at all (or the account has no mobile),
never because a refusal anyone can cause (the number's one-a-minute limit, spent by one
unauthenticated 忘记密码) or a provider's refusal stood in the way."""

from __future__ import annotations

import json

import pytest

from models import Role

SEND_SMS = "SendSms"
NEW_PASSWORD = "Lantern-Harbor-42"


def sms_codes_sent(sms_sim, phone: str) -> list[str]:
    codes = []
    for record in sms_sim.state.records(SEND_SMS):
        if record.payload["PhoneNumbers"] == phone:
            params = record.payload["TemplateParam"]
            codes.append((json.loads(params) if isinstance(params, str) else params)["code"])
    return codes


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, phone="13800000001")
    nurse = factory.user(Role.CLINICIAN, institution=institution, username="liuhushi", phone="13800000007")
    return {"api": factory.api(client, manager), "nurse": nurse}


def test_a_number_full_from_a_reset_request_is_429_and_shows_no_code(app, client, sms_sim, hospital):
    client.post("/api/v1/password-reset", json={"phone": "13800000007"}, buffered=True)
    (reset_code,) = sms_codes_sent(sms_sim, "13800000007")
    asked = hospital["api"].post(f"/api/v1/staff/{hospital['nurse'].id}/account-code")
    assert asked.status_code == 429, asked.get_json()
    assert asked.get_json() == {"error": {"code": "too_many_requests", "message": "验证码已发送，请 1 分钟后再试"}}
    # Nothing kept: the code the person did receive still works.
    done = client.post("/api/v1/account-code", json={"code": reset_code, "password": NEW_PASSWORD})
    assert done.status_code == 200, done.get_json()


def test_a_provider_refusal_says_it_failed_and_shows_no_code(app, client, sms_sim, hospital):
    sms_sim.state.inject(SEND_SMS, code="isv.BUSINESS_LIMIT_CONTROL")
    asked = hospital["api"].post(f"/api/v1/staff/{hospital['nurse'].id}/account-code")
    assert asked.status_code == 201, asked.get_json()
    answer = asked.get_json()
    assert answer["sent"] is False and "code" not in answer
    assert answer["failure"]["status"] == 502 and "短信发送失败" in answer["message"]


def test_without_sms_configured_the_manager_is_shown_an_activation_code_only(app, client, configure, hospital):
    configure(SMS_ACCOUNT_CODE_TEMPLATE_CODE=None)
    nurse = {"username": "zhaogong", "display_name": "赵工", "role": "institution_engineer", "phone": "13800000008"}
    created = hospital["api"].post("/api/v1/staff", json=nurse)
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()["activation"]
    assert answer["sent"] is False and "failure" not in answer and "当面告知本人" in answer["message"]
    done = client.post("/api/v1/account-code", json={"code": answer["code"], "password": NEW_PASSWORD})
    assert done.status_code == 200, done.get_json()
    # An activated person's 重置码 is never on the manager's screen: it would let them act as her.
    asked = hospital["api"].post(f"/api/v1/staff/{hospital['nurse'].id}/account-code")
    assert asked.status_code == 201 and "code" not in asked.get_json()
