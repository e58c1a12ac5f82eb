"""The mini-program's front door at the HTTP level: wx.login codes from the WeChat simulator,
our session tokens, binding by bind code, by WeChat phone code and by SMS code (the SMS arrives
in the Aliyun simulator), the rate limits, unbinding, forged tokens and subscribe consents."""

from __future__ import annotations

import json

import pytest
from itsdangerous import URLSafeTimedSerializer
from test_channels import wait_for

from models import Role, SubscribeConsent, User, WeChatIdentity, db
from operations.actors import Actor
from operations.clock import now_utc
from operations.wechat_accounts import SESSION_SALT, issue_bind_code
from simulators import wechat as wx_api
from simulators.local import SUBSCRIBE_TEMPLATES
from tests.conftest import a_minute_later

SEND_SMS = "SendSms"
MP = "/mp/v1"


class MiniProgram:
    """The test client as the mini-program on one phone."""

    def __init__(self, client, token: str) -> None:
        self.client = client
        self.token = token

    def _call(self, method, path, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return getattr(self.client, method)(f"{MP}{path}", headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self._call("get", path, **kwargs)

    def post(self, path, **kwargs):
        return self._call("post", path, **kwargs)


def sign_in(client, wechat_sim, openid: str, **kwargs) -> MiniProgram:
    code = wechat_sim.state.issue_login_code(openid, **kwargs)
    response = client.post(f"{MP}/login", json={"code": code})
    assert response.status_code == 200, response.get_json()
    return MiniProgram(client, response.get_json()["token"])


def bind_code_for(app, user) -> str:
    with app.app_context():
        user_row = db.session.get(User, user.id)
        code, _ = issue_bind_code(Actor.of(user_row), user.id, now_utc(), reconfirmed=True)
        db.session.commit()
        return code


@pytest.fixture
def people(factory):
    institution = factory.institution("医疗机构测试1")
    return {
        "institution": institution,
        "clinician": factory.user(Role.CLINICIAN, institution=institution, display_name="王医生", phone="13800000001"),
        "manager": factory.manager(institution),
    }


# --- login -------------------------------------------------------------------------------------


def test_login_answers_our_token_never_the_session_key(app, client, wechat_sim):
    code = wechat_sim.state.issue_login_code("o-mini-1", unionid="u-1", session_key="SECRET-SESSION-KEY")
    response = client.post(f"{MP}/login", json={"code": code})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["bound"] is False and body["user"] is None and body["token"]
    assert "SECRET-SESSION-KEY" not in response.get_data(as_text=True)
    assert "session_key" not in body and "openid" not in body
    with app.app_context():
        identity = db.session.scalar(db.select(WeChatIdentity))
        assert identity.miniprogram_openid == "o-mini-1" and identity.unionid == "u-1"
    me = MiniProgram(client, body["token"]).get("/me")
    assert me.status_code == 200 and me.get_json() == {"bound": False, "user": None}


def test_a_used_or_unknown_code_is_refused(client, wechat_sim):
    code = wechat_sim.state.issue_login_code("o-mini-2")
    assert client.post(f"{MP}/login", json={"code": code}).status_code == 200
    again = client.post(f"{MP}/login", json={"code": code})
    assert again.status_code == 401
    assert again.get_json()["error"]["message"] == "登录凭证无效或已使用，请重新进入小程序"
    assert client.post(f"{MP}/login", json={"code": "never-issued"}).status_code == 401
    missing = client.post(f"{MP}/login", json={})
    assert missing.status_code == 422 and missing.get_json()["error"]["fields"] == {"code": "必填"}
    assert client.post(f"{MP}/login", data="code=1").status_code == 422


def test_wechat_down_is_a_502_not_a_crash(client, wechat_sim):
    code = wechat_sim.state.issue_login_code("o-mini-3")
    wechat_sim.state.inject(wx_api.JSCODE2SESSION, status=500)
    response = client.post(f"{MP}/login", json={"code": code})
    assert response.status_code == 502
    assert response.get_json()["error"]["message"] == "微信服务暂时不可用，请稍后重试"


def test_forged_missing_and_expired_tokens_are_401(app, client, wechat_sim):
    assert client.get(f"{MP}/me").status_code == 401
    forged = URLSafeTimedSerializer("not-our-secret", salt=SESSION_SALT).dumps({"wid": 1, "v": 1})
    response = client.get(f"{MP}/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    assert client.get(f"{MP}/me", headers={"Authorization": "Bearer garbage"}).status_code == 401
    phone = sign_in(client, wechat_sim, "o-mini-4")
    app.config["MINIPROGRAM_SESSION_MAX_AGE_SECONDS"], saved = -1, app.config["MINIPROGRAM_SESSION_MAX_AGE_SECONDS"]
    try:
        assert phone.get("/me").status_code == 401
    finally:
        app.config["MINIPROGRAM_SESSION_MAX_AGE_SECONDS"] = saved


def test_an_unbound_session_may_not_use_the_bound_endpoints(client, wechat_sim):
    phone = sign_in(client, wechat_sim, "o-mini-5")
    for path in ("/work-orders?mine=reported", "/work-orders/queue", "/scan?q=000001", "/alerts", "/inbox"):
        response = phone.get(path)
        assert response.status_code == 403, path
        assert response.get_json()["error"]["message"] == "请先绑定平台账号"
    assert phone.post("/work-orders", json={}).status_code == 403


# --- binding -----------------------------------------------------------------------------------


def test_bind_by_code_then_unbind(app, client, wechat_sim, people):
    phone = sign_in(client, wechat_sim, "o-clinician")
    code = bind_code_for(app, people["clinician"])
    response = phone.post("/bind", json={"bind_code": code.lower()})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["bound"] is True
    assert response.get_json()["user"]["display_name"] == "王医生"
    assert response.get_json()["user"]["institution"] == "医疗机构测试1"
    assert phone.get("/me").get_json()["user"]["id"] == people["clinician"].id
    with app.app_context():
        assert db.session.get(User, people["clinician"].id).wechat_miniprogram_openid == "o-clinician"
    # used up: a second phone cannot reuse the code
    other = sign_in(client, wechat_sim, "o-other")
    again = other.post("/bind", json={"bind_code": code})
    assert again.status_code == 404 and again.get_json()["error"]["message"] == "绑定码无效或已过期"
    # signing in again finds the binding
    assert sign_in(client, wechat_sim, "o-clinician").get("/me").get_json()["bound"] is True
    unbound = phone.post("/unbind")
    assert unbound.status_code == 200
    answer = unbound.get_json()
    assert answer["bound"] is False and answer["user"] is None
    # The token issued while bound is revoked with the binding; the new one is the unbound session.
    assert phone.get("/me").status_code == 401
    phone.token = answer["token"]
    assert phone.get("/work-orders/queue").status_code == 403
    assert phone.post("/unbind").status_code == 409
    assert phone.post("/logout").status_code == 204
    assert phone.get("/me").status_code == 401


def test_guessing_bind_codes_is_rate_limited(app, client, wechat_sim, people):
    phone = sign_in(client, wechat_sim, "o-guesser")
    for _ in range(5):
        assert phone.post("/bind", json={"bind_code": "ABCDEFGH"}).status_code == 404
    code = bind_code_for(app, people["clinician"])
    response = phone.post("/bind", json={"bind_code": code})
    assert response.status_code == 429
    assert "10 分钟" in response.get_json()["error"]["message"]
    assert phone.get("/me").get_json()["bound"] is False
    # the valid code was not consumed by the refused attempt
    assert sign_in(client, wechat_sim, "o-honest").post("/bind", json={"bind_code": code}).status_code == 200


def test_bad_bind_input_is_422_and_changes_nothing(client, wechat_sim):
    phone = sign_in(client, wechat_sim, "o-typo")
    assert phone.post("/bind", json={"bind_code": 12345678}).status_code == 422
    assert phone.post("/bind", json={"bind_code": "x", "extra": 1}).status_code == 422
    assert phone.post("/bind", data="nope").status_code == 422
    assert phone.get("/me").get_json()["bound"] is False


def test_bind_by_wechat_phone_code(client, wechat_sim, people):
    phone = sign_in(client, wechat_sim, "o-by-phone")
    code = wechat_sim.state.issue_phone_code("13800000001")
    response = phone.post("/bind/phone", json={"phone_code": code})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["id"] == people["clinician"].id
    other = sign_in(client, wechat_sim, "o-by-phone-2")
    used = other.post("/bind/phone", json={"phone_code": code})
    assert (
        used.status_code == 422
        and used.get_json()["error"]["fields"]["phone_code"] == "手机号授权无效或已使用，请重新授权"
    )
    nobody = other.post("/bind/phone", json={"phone_code": wechat_sim.state.issue_phone_code("13900000009")})
    assert nobody.status_code == 404 and "没有使用该手机号的账号" in nobody.get_json()["error"]["message"]


def _sms_code(sms_sim) -> str:
    record = sms_sim.state.records(SEND_SMS)[-1]
    params = record.payload["TemplateParam"]
    return (json.loads(params) if isinstance(params, str) else params)["code"]


def test_bind_by_sms_code(app, client, wechat_sim, sms_sim, people):
    phone = sign_in(client, wechat_sim, "o-by-sms")
    sent = phone.post("/bind/sms-code", json={"phone": "13800000001"})
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["phone"] == "138****0001"
    record = sms_sim.state.records(SEND_SMS)[-1]
    assert record.payload["PhoneNumbers"] == "13800000001" and record.payload["TemplateCode"] == "SMS_SIM_VERIFY"
    code = _sms_code(sms_sim)
    assert len(code) == 6 and code.isdigit()
    wrong = "000000" if code != "000000" else "111111"
    bad = phone.post("/bind/sms", json={"phone": "13800000001", "code": wrong})
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"] == {"code": "验证码错误"}
    response = phone.post("/bind/sms", json={"phone": "13800000001", "code": code})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["id"] == people["clinician"].id
    # once only
    other = sign_in(client, wechat_sim, "o-by-sms-2")
    assert other.post("/bind/sms", json={"phone": "13800000001", "code": code}).status_code == 422
    # the code is kept only as a hash
    from connections import redis as redis_connection

    with app.app_context():
        for key in redis_connection.redis().scan_iter("weixiu:sms-code:*"):
            assert code.encode() not in b"".join(redis_connection.redis().hvals(key))


def test_sms_codes_are_rate_limited_and_tried_at_most_five_times(client, wechat_sim, sms_sim, people):
    phone = sign_in(client, wechat_sim, "o-sms-limits")
    assert phone.post("/bind/sms-code", json={"phone": "13800000001"}).status_code == 200
    again = phone.post("/bind/sms-code", json={"phone": "13800000001"})
    assert again.status_code == 429 and again.get_json()["error"]["message"] == "验证码已发送，请 1 分钟后再试"
    assert sms_sim.state.count(SEND_SMS) == 1
    code = _sms_code(sms_sim)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert phone.post("/bind/sms", json={"phone": "13800000001", "code": wrong}).status_code == 422
    locked = phone.post("/bind/sms", json={"phone": "13800000001", "code": code})
    assert locked.status_code == 429 and locked.get_json()["error"]["message"] == "验证码错误次数过多，请重新获取"
    assert phone.get("/me").get_json()["bound"] is False


def test_sms_code_input_and_unknown_numbers(client, wechat_sim, sms_sim, people):
    phone = sign_in(client, wechat_sim, "o-sms-input")
    bad = phone.post("/bind/sms-code", json={"phone": "12345"})
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"] == {"phone": "请输入 11 位中国大陆手机号"}
    # A number no account uses gets the same answer as a registered one (nothing to enumerate),
    # but no SMS; binding with it then fails like a wrong code.
    unknown = phone.post("/bind/sms-code", json={"phone": "13900000009"})
    assert unknown.status_code == 200 and unknown.get_json()["sent"] is True
    assert sms_sim.state.count(SEND_SMS) == 0
    assert phone.post("/bind/sms", json={"phone": "13900000009", "code": "123456"}).status_code == 422
    assert phone.post("/bind/sms", json={"phone": "13800000001", "code": "123456"}).status_code == 422


def test_a_refused_send_spends_none_of_the_persons_quota(client, wechat_sim, sms_sim, people):
    phone = sign_in(client, wechat_sim, "o-sms-refused")
    sms_sim.state.inject(SEND_SMS, code="isv.BUSINESS_LIMIT_CONTROL", message="触发分钟级流控", times=6)
    for _ in range(6):  # more than the number's 5 an hour
        refused = phone.post("/bind/sms-code", json={"phone": "13800000001"})
        assert refused.status_code == 502
        assert refused.get_json()["error"]["message"] == "短信发送过于频繁，请稍后再试"
    # The retry within the minute is not told "验证码已发送": it sends, and its code binds.
    sent = phone.post("/bind/sms-code", json={"phone": "13800000001"})
    assert sent.status_code == 200 and sent.get_json()["sent"] is True, sent.get_json()
    assert sent.get_json()["message"] == "验证码已发送"
    assert phone.post("/bind/sms", json={"phone": "13800000001", "code": _sms_code(sms_sim)}).status_code == 200


def test_an_unreachable_provider_spends_no_quota(configure, client, wechat_sim, sms_sim, people):
    phone = sign_in(client, wechat_sim, "o-sms-unreachable")
    configure(SMS_ENDPOINT="127.0.0.1:1")  # nothing listens there: connection refused
    failed = phone.post("/bind/sms-code", json={"phone": "13800000001"})
    assert failed.status_code == 502 and failed.get_json()["error"]["message"] == "短信发送失败，请稍后重试"
    configure(SMS_ENDPOINT=sms_sim.netloc)
    assert phone.post("/bind/sms-code", json={"phone": "13800000001"}).status_code == 200
    assert sms_sim.state.count(SEND_SMS) == 1


def test_without_settings_every_number_is_told_so_and_nothing_is_counted(
    configure, client, wechat_sim, sms_sim, people
):
    phone = sign_in(client, wechat_sim, "o-sms-unconfigured")
    configure(SMS_VERIFY_TEMPLATE_CODE=None)
    for number in ("13800000001", "13900000009"):  # registered or not: the same answer
        answer = phone.post("/bind/sms-code", json={"phone": number})
        assert answer.status_code == 503 and answer.get_json()["error"]["message"] == "短信验证码未配置"
    configure(SMS_VERIFY_TEMPLATE_CODE="SMS_SIM_VERIFY")
    assert phone.post("/bind/sms-code", json={"phone": "13800000001"}).status_code == 200


def test_a_timed_out_send_keeps_its_code_valid_and_counts(app, configure, client, wechat_sim, sms_sim, people):
    # Aliyun may have accepted a send whose answer never came (and counts it): the SMS may arrive.
    phone = sign_in(client, wechat_sim, "o-sms-slow")
    configure(SMS_TIMEOUT_SECONDS=0.3)
    sms_sim.state.inject(SEND_SMS, delay=1.0)
    answer = phone.post("/bind/sms-code", json={"phone": "13800000001"})

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {
        "sent": False,
        "message": "短信发送结果未知：验证码可能稍后送达，5 分钟内有效；如 1 分钟后仍未收到，请重新获取",
        "expires_in": 300,
        "resend_in": 60,
        "phone": "138****0001",
    }
    again = phone.post("/bind/sms-code", json={"phone": "13800000001"})
    assert again.status_code == 429 and again.get_json()["error"]["message"] == "验证码已发送，请 1 分钟后再试"
    wait_for(lambda: sms_sim.state.count(SEND_SMS) == 1)  # the SMS arrives after all
    bound = phone.post("/bind/sms", json={"phone": "13800000001", "code": _sms_code(sms_sim)})
    assert bound.status_code == 200 and bound.get_json()["user"]["id"] == people["clinician"].id


def test_a_request_refused_by_its_own_limit_spends_nothing_of_the_numbers(client, wechat_sim, sms_sim, people):
    greedy = sign_in(client, wechat_sim, "o-sms-greedy")
    for n in range(10):  # the identity's 10 an hour, on numbers no account uses
        assert greedy.post("/bind/sms-code", json={"phone": f"1390000{n:04d}"}).status_code == 200
    refused = greedy.post("/bind/sms-code", json={"phone": "13800000001"})
    assert refused.status_code == 429 and refused.get_json()["error"]["message"] == "获取验证码过于频繁，请稍后再试"
    # The number's owner is not told "验证码已发送" for a code that never went out.
    owner = sign_in(client, wechat_sim, "o-sms-owner")
    assert owner.post("/bind/sms-code", json={"phone": "13800000001"}).status_code == 200
    assert sms_sim.state.count(SEND_SMS) == 1


def test_a_resend_that_fails_leaves_the_last_code_valid(app, client, wechat_sim, sms_sim, people):
    phone = sign_in(client, wechat_sim, "o-sms-resend")
    assert phone.post("/bind/sms-code", json={"phone": "13800000001"}).status_code == 200
    first_code = _sms_code(sms_sim)
    a_minute_later(app, "13800000001")
    sms_sim.state.inject(SEND_SMS, code="isv.AMOUNT_NOT_ENOUGH")
    assert phone.post("/bind/sms-code", json={"phone": "13800000001"}).status_code == 502
    assert phone.post("/bind/sms", json={"phone": "13800000001", "code": first_code}).status_code == 200


# --- subscribe messages ------------------------------------------------------------------------


def test_subscribe_consents(app, client, wechat_sim):
    phone = sign_in(client, wechat_sim, "o-subscriber")
    odd = phone.post("/subscriptions", json={"results": {SUBSCRIBE_TEMPLATES["alert"]: ["accept"], "x": {"a": 1}}})
    assert odd.status_code == 422  # values that are not words are refused, not a 500
    listed = phone.get("/subscriptions").get_json()
    assert set(listed["template_ids"]) == set(SUBSCRIBE_TEMPLATES.values())
    assert all(item["status"] is None and item["remaining"] == 0 for item in listed["items"])
    work_order, alert = SUBSCRIBE_TEMPLATES["work_order"], SUBSCRIBE_TEMPLATES["alert"]
    results = {"errMsg": "requestSubscribeMessage:ok", work_order: "accept", alert: "reject"}
    assert phone.post("/subscriptions", json={"results": results}).status_code == 200
    response = phone.post("/subscriptions", json={"results": {work_order: "accept"}})
    items = {item["purpose"]: item for item in response.get_json()["items"]}
    assert items["work_order"]["status"] == "accept" and items["work_order"]["remaining"] == 2
    assert items["alert"]["status"] == "reject" and items["alert"]["remaining"] == 0
    banned = phone.post("/subscriptions", json={"results": {work_order: "ban"}}).get_json()
    assert {item["purpose"]: item for item in banned["items"]}["work_order"]["remaining"] == 0
    bad = phone.post("/subscriptions", json={"results": {"unknown-template": "accept", alert: "maybe"}})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"results.unknown-template", f"results.{alert}"}
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(SubscribeConsent)) == 2
