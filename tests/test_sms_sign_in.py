"""短信验证码登录 at the HTTP level (the device page a sticker opens in a phone's browser signs in
this way): POST /api/v1/session/sms-code answers alike for every number and sends the
verification template's code, after the answer, only to an active account's mobile; POST
/api/v1/session/sms spends it for the browser's cookie session (with its CSRF cookie). A wrong code
is a Chinese 422, five wrong tries end it, a number gets one code a minute, a code sent for
another purpose signs nobody in, a deactivated account or hospital is refused, and no sign-in
writes the 操作日志."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connections import redis as redis_connection
from connections.rate_limits import PREFIX
from models import AuditEntry, Role, db
from operations import institutions
from tests.test_console_session import CSRF, SESSION, csrf, set_cookies
from tests.test_miniprogram_session import SEND_SMS
from tests.test_miniprogram_session import sign_in as mp_sign_in
from tests.test_own_account import sms_codes_sent

PHONE = "13800000003"
EXPIRED = {"code": "验证码错误或已过期，请重新获取"}
ASKED = "如该手机号已登记账号，验证码将以短信发送至该手机号，5 分钟内有效"


@pytest.fixture
def hospital(factory):
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三", phone="13800000001")
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王医生", phone=PHONE)
    return {"institution": institution, "manager": manager, "clinician": clinician}


def ask_code(browser, phone: str = PHONE):
    """POST /session/sms-code, its answer read whole (the code goes out once the answer is closed)."""
    return browser.post("/api/v1/session/sms-code", json={"phone": phone}, buffered=True)


def sign_in(browser, code: str, phone: str = PHONE):
    return browser.post("/api/v1/session/sms", json={"phone": phone, "code": code})


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))


def a_minute_later(app) -> None:
    """The number may have its next code (its one-a-minute window ends)."""
    with app.app_context():
        redis_connection.redis().delete(f"{PREFIX}sms:codes:{app.config['SMS_SIGN_NAME']}:{PHONE}:minute")


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_the_right_code_signs_the_browser_in_with_its_cookies(app, hospital, sms_sim):
    browser = app.test_client()
    before = audit_count(app)
    asked = ask_code(browser)
    assert asked.status_code == 200, asked.get_json()
    assert asked.get_json() == {"message": ASKED, "phone": "138****0003", "expires_in": 300, "resend_in": 60}
    (record,) = sms_sim.state.records(SEND_SMS)
    assert record.payload["TemplateCode"] == "SMS_SIM_VERIFY"  # the verification template
    (code,) = sms_codes_sent(sms_sim, PHONE)
    assert len(code) == 6 and code.isdigit() and code not in asked.get_data(as_text=True)

    answer = sign_in(browser, code)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["user"]["id"] == hospital["clinician"].id and body["user"]["display_name"] == "王医生"
    assert body["token"] == browser.get_cookie(SESSION).value
    cookies = set_cookies(answer)
    assert "HttpOnly" in cookies[SESSION] and "HttpOnly" not in cookies[CSRF]
    # The cookie signs in; a change must echo the CSRF cookie.
    assert browser.get("/api/v1/me").get_json()["display_name"] == "王医生"
    refused = browser.patch("/api/v1/me", json={"display_name": "王主任"})
    assert refused.status_code == 403 and refused.get_json()["error"]["message"] == "页面已过期，请刷新"
    assert browser.patch("/api/v1/me", json={"display_name": "王主任"}, headers=csrf(browser)).status_code == 200
    # Once only; and signing in wrote nothing in the 操作日志 (the rename did: one row).
    assert sign_in(app.test_client(), code).status_code == 422
    assert audit_count(app) == before + 1


def test_a_wrong_code_is_told_in_chinese_and_five_end_it(app, hospital, sms_sim):
    browser = app.test_client()
    ask_code(browser)
    (code,) = sms_codes_sent(sms_sim, PHONE)
    bad = sign_in(browser, wrong(code))
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"] == {"code": "验证码错误"}
    assert browser.get_cookie(SESSION) is None
    for _ in range(4):
        assert sign_in(browser, wrong(code)).status_code == 422
    ended = sign_in(browser, code)
    assert ended.status_code == 429 and ended.get_json()["error"]["message"] == "验证码错误次数过多，请重新获取"
    gone = sign_in(browser, code)
    assert gone.status_code == 422 and gone.get_json()["error"]["fields"] == EXPIRED
    assert browser.get_cookie(SESSION) is None


def test_an_address_guessing_across_numbers_is_stopped(app, hospital):
    browser = app.test_client()
    for n in range(30):
        assert sign_in(browser, "123456", phone=f"1370000{n:04d}").status_code == 422
    stopped = sign_in(browser, "123456")
    assert stopped.status_code == 429 and stopped.get_json()["error"]["message"] == "验证码尝试次数过多，请稍后再试"


def test_a_number_gets_one_code_a_minute_registered_or_not(app, hospital, sms_sim):
    browser = app.test_client()
    known, unknown = ask_code(browser), ask_code(browser, "13800000004")
    assert known.status_code == unknown.status_code == 200
    known_body, unknown_body = known.get_json(), unknown.get_json()
    assert known_body.pop("phone") == "138****0003" and unknown_body.pop("phone") == "138****0004"
    assert known_body == unknown_body
    assert set(known.headers.keys()) == set(unknown.headers.keys())
    assert sms_codes_sent(sms_sim, "13800000004") == []  # only the registered number gets an SMS
    assert len(sms_codes_sent(sms_sim, PHONE)) == 1
    for phone in (PHONE, "13800000004"):
        again = ask_code(browser, phone)
        assert again.status_code == 429 and again.get_json()["error"]["message"] == "验证码已发送，请 1 分钟后再试"
    assert len(sms_codes_sent(sms_sim, PHONE)) == 1
    # An unregistered number's "code" is nothing: any guess reads as a wrong or expired code.
    nobody = sign_in(browser, "123456", phone="13800000004")
    assert nobody.status_code == 422 and nobody.get_json()["error"]["fields"] == {
        "code": "验证码错误或已过期，请重新获取"
    }


def test_the_code_goes_out_only_once_the_answer_has(app, hospital, sms_sim):
    browser = app.test_client()
    answer = browser.post("/api/v1/session/sms-code", json={"phone": PHONE})
    assert answer.status_code == 200
    assert sms_sim.state.count(SEND_SMS) == 0  # answered; the server has not closed it yet
    answer.close()
    assert len(sms_codes_sent(sms_sim, PHONE)) == 1


def test_a_code_sent_for_another_purpose_signs_nobody_in(app, client, hospital, sms_sim, wechat_sim):
    phone = mp_sign_in(client, wechat_sim, "o-wang")
    assert phone.post("/bind/sms-code", json={"phone": PHONE}).status_code == 200
    (bind_code,) = sms_codes_sent(sms_sim, PHONE)
    browser = app.test_client()
    refused = sign_in(browser, bind_code)
    assert refused.status_code == 422 and browser.get_cookie(SESSION) is None
    # and the other way round: a sign-in code binds no WeChat
    sms_sim.state.reset()
    a_minute_later(app)  # the bind code spent the number's one a minute
    ask_code(browser)
    (sign_in_code,) = sms_codes_sent(sms_sim, PHONE)
    assert phone.post("/bind/sms", json={"phone": PHONE, "code": sign_in_code}).status_code == 422
    assert sign_in(browser, sign_in_code).status_code == 200


def test_a_deactivated_account_gets_no_code_and_is_refused(app, client, factory, hospital, sms_sim):
    manager = factory.api(client, hospital["manager"])
    browser = app.test_client()
    ask_code(browser)
    (code,) = sms_codes_sent(sms_sim, PHONE)
    # Deactivated after its code went out: the code is right, the account signs in no more.
    deactivated = manager.post(f"/api/v1/staff/{hospital['clinician'].id}/deactivate")
    assert deactivated.status_code == 200, deactivated.get_json()
    refused = sign_in(browser, code)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["message"] == "该手机号没有可登录的账号，请联系设备科"
    assert browser.get_cookie(SESSION) is None
    # Asked again later: answered as for any number, and nothing is sent.
    sms_sim.state.reset()
    a_minute_later(app)
    again = ask_code(browser)
    assert again.status_code == 200 and again.get_json()["message"] == ASKED
    assert sms_codes_sent(sms_sim, PHONE) == []


def test_a_deactivated_hospitals_people_are_told_so(app, hospital, sms_sim):
    browser = app.test_client()
    ask_code(browser)
    (code,) = sms_codes_sent(sms_sim, PHONE)
    with app.app_context():
        institutions.deactivate(hospital["institution"].id)
        db.session.commit()
    refused = sign_in(browser, code)
    assert refused.status_code == 403 and refused.get_json()["error"]["message"] == "所属医疗机构已停用"
    assert browser.get_cookie(SESSION) is None


def test_without_the_verification_template_every_number_is_told_so(app, configure, hospital, sms_sim):
    browser = app.test_client()
    configure(SMS_VERIFY_TEMPLATE_CODE=None)
    for phone in (PHONE, "13800000004"):
        answer = ask_code(browser, phone)
        assert answer.status_code == 503 and answer.get_json()["error"]["message"] == "短信验证码未配置"
    configure(SMS_VERIFY_TEMPLATE_CODE="SMS_SIM_VERIFY")
    assert ask_code(browser).status_code == 200  # nothing was counted meanwhile
    assert len(sms_codes_sent(sms_sim, PHONE)) == 1


def test_a_number_must_be_a_mainland_mobile(app, hospital):
    browser = app.test_client()
    for phone in ("12345", "2380000000a", "138000000031"):
        for answer in (ask_code(browser, phone), sign_in(browser, "123456", phone=phone)):
            assert answer.status_code == 422
            assert answer.get_json()["error"]["fields"] == {"phone": "请输入 11 位中国大陆手机号"}
    missing = browser.post("/api/v1/session/sms", json={"phone": PHONE})
    assert missing.status_code == 422 and "code" in missing.get_json()["error"]["fields"]
