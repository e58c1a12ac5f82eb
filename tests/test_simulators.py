"""The WeChat and Aliyun SMS simulators, driven over HTTP by the real wechatpy and aliyunsdkcore.

No app fixture: these check that the simulators answer as the real services do, so that the
product's tests (and the embedded demo) can rely on them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.request import CommonRequest
from wechatpy.exceptions import APILimitedException, WeChatClientException

from channels.providers import BaseUrlWeChatClient, send_sms_request, sms_client, wechat_client
from simulators import SimulatorServer, SmsState, WeChatState, create_aliyun_sms_simulator, create_wechat_simulator
from simulators import wechat as wx_api

OFFICIAL, OFFICIAL_SECRET = "wx-official", "official-secret"
MINI, MINI_SECRET = "wx-mini", "mini-secret"
AK, AK_SECRET = "test-ak", "test-ak-secret"
TEMPLATE = "TPL_device_expiring"
# The simulated account's SMS templates: each variable with the attribute (变量属性) it is registered with.
NOTICE = {"number": "other_number2", "date": "time", "detail": "others"}
TEMPLATES = {"SMS_100": {"code": "numberCaptcha"}, "SMS_NOTICE": NOTICE, "SMS_TEXT": {"text": "others"}}


@pytest.fixture(scope="module")
def wechat_state() -> WeChatState:
    return WeChatState(apps={OFFICIAL: OFFICIAL_SECRET, MINI: MINI_SECRET})


@pytest.fixture(scope="module")
def sms_state() -> SmsState:
    return SmsState(access_keys={AK: AK_SECRET}, sign_names={"微修"}, templates=TEMPLATES)


@pytest.fixture(scope="module")
def wechat_server(wechat_state) -> Iterator[SimulatorServer]:
    with SimulatorServer(create_wechat_simulator(wechat_state)) as server:
        yield server


@pytest.fixture(scope="module")
def sms_server(sms_state) -> Iterator[SimulatorServer]:
    with SimulatorServer(create_aliyun_sms_simulator(sms_state)) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_simulators(wechat_state, sms_state) -> None:
    wechat_state.reset()
    sms_state.reset()


def make_wechat_client(server: SimulatorServer, appid=OFFICIAL, secret=OFFICIAL_SECRET, timeout=5.0):
    return wechat_client(appid, secret, base_url=server.url, timeout=timeout)


@pytest.fixture
def wx(wechat_server) -> Iterator[BaseUrlWeChatClient]:
    client = make_wechat_client(wechat_server)
    yield client
    client.close()


@pytest.fixture
def mini(wechat_server) -> Iterator[BaseUrlWeChatClient]:
    client = make_wechat_client(wechat_server, MINI, MINI_SECRET)
    yield client
    client.close()


@pytest.fixture
def acs():
    client = sms_client(AK, AK_SECRET, timeout=5, connect_timeout=5)
    yield client
    client.session.close()


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Let a request still running in the simulator finish before the next test resets it."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the simulator did not get there in time"
        time.sleep(0.02)


def send_template(client, openid="o-follower", value="设备将于3日后到期", **extra):
    return client.message.send_template(openid, TEMPLATE, {"thing1": {"value": value}}, **extra)


# -- WeChat: tokens ----------------------------------------------------------------------------


def test_each_token_fetch_invalidates_the_previous_token(wx, wechat_state, wechat_server):
    first = wx.fetch_access_token()["access_token"]
    second = wx.fetch_access_token()
    assert second["expires_in"] == 7200
    assert second["access_token"] != first
    assert wechat_state.check_token(first) == (None, 40001)
    assert wechat_state.check_token(second["access_token"]) == (OFFICIAL, 0)
    assert wechat_state.count(wx_api.TOKEN) == 2
    recorded = wechat_state.records(wx_api.TOKEN)[0].payload
    assert recorded["secret"] == "***"  # secrets stay off the page

    stale = requests.post(
        f"{wechat_server.url}/cgi-bin/message/template/send",
        params={"access_token": first},
        json={"touser": "o1", "template_id": TEMPLATE, "data": {}},
        timeout=5,
    ).json()
    assert stale["errcode"] == 40001
    assert stale["errmsg"].startswith("invalid credential")


def test_token_fetch_rejects_a_wrong_secret_or_appid(wechat_server):
    for appid, secret, errcode in [(OFFICIAL, "wrong", 40125), ("wx-nobody", "x", 40013)]:
        client = make_wechat_client(wechat_server, appid, secret)
        with pytest.raises(WeChatClientException) as caught:
            client.fetch_access_token()
        client.close()
        assert caught.value.errcode == errcode


def test_stable_token_is_reused_until_force_refresh_and_independent_of_token(wechat_state, wechat_server):
    def stable(force=False):
        body = {"grant_type": "client_credential", "appid": OFFICIAL, "secret": OFFICIAL_SECRET}
        if force:
            body["force_refresh"] = True
        return requests.post(f"{wechat_server.url}/cgi-bin/stable_token", json=body, timeout=5).json()

    first = stable()
    assert stable()["access_token"] == first["access_token"]
    wechat_state.issue_token(OFFICIAL)  # a /cgi-bin/token fetch does not touch the stable token
    assert wechat_state.check_token(first["access_token"]) == (OFFICIAL, 0)
    refreshed = stable(force=True)["access_token"]
    assert refreshed != first["access_token"]
    assert wechat_state.check_token(first["access_token"]) == (None, 40001)


def test_an_expired_token_answers_42001_and_wechatpy_fetches_a_new_one(wx, wechat_state):
    send_template(wx)
    wechat_state.expire_tokens()
    assert send_template(wx)["errcode"] == 0
    sends = wechat_state.records(wx_api.TEMPLATE_SEND)
    assert [r.response["errcode"] for r in sends] == [0, 42001, 0]
    assert wechat_state.count(wx_api.TOKEN) == 2


# -- WeChat: template messages -----------------------------------------------------------------


def test_template_message_is_sent_and_recorded(wx, wechat_state, wechat_server):
    result = send_template(
        wx,
        url="https://example.test/d/abc",
        mini_program={"appid": MINI, "pagepath": "pages/device/index?id=1"},
    )
    assert result["errcode"] == 0
    assert result["errmsg"] == "ok"
    assert isinstance(result["msgid"], int)

    (record,) = wechat_state.records(wx_api.TEMPLATE_SEND)
    body = record.payload["body"]
    assert body["touser"] == "o-follower"
    assert body["template_id"] == TEMPLATE
    assert body["miniprogram"] == {"appid": MINI, "pagepath": "pages/device/index?id=1"}
    assert body["data"] == {"thing1": {"value": "设备将于3日后到期"}}
    assert record.note == "delivered"

    listed = requests.get(f"{wechat_server.url}/_sim/messages", timeout=5).json()["messages"]
    assert [m["endpoint"] for m in listed] == [wx_api.TEMPLATE_SEND, wx_api.TOKEN]  # newest first
    assert listed[0]["response"]["msgid"] == result["msgid"]


def test_client_msg_id_dedupes_a_resend(wx, wechat_state):
    # wechatpy's send_template has no client_msg_id: post the body ourselves.
    body = {"touser": "o1", "template_id": TEMPLATE, "data": {"thing1": {"value": "x"}}, "client_msg_id": "d-1"}
    first = wx.post("message/template/send", data=body)
    again = wx.post("message/template/send", data=body)
    other = wx.post("message/template/send", data={**body, "client_msg_id": "d-2"})
    assert again["msgid"] == first["msgid"] != other["msgid"]
    notes = [r.note for r in wechat_state.records(wx_api.TEMPLATE_SEND)]
    assert notes == ["delivered", "duplicate client_msg_id: not delivered again", "delivered"]


def test_template_field_over_20_characters_answers_47003(wx):
    assert send_template(wx, value="一" * 20)["errcode"] == 0
    with pytest.raises(WeChatClientException) as caught:
        send_template(wx, value="一" * 21)
    assert caught.value.errcode == 47003
    assert caught.value.errmsg.startswith("argument invalid! data.thing1.value invalid")


def test_injected_40001_makes_wechatpy_refetch_the_token_and_retry(wx, wechat_state):
    wechat_state.inject(wx_api.TEMPLATE_SEND, errcode=40001)
    assert send_template(wx)["errcode"] == 0
    assert [r.response["errcode"] for r in wechat_state.records(wx_api.TEMPLATE_SEND)] == [40001, 0]
    assert wechat_state.count(wx_api.TOKEN) == 2  # the first token, then the refetch


def test_wechatpy_retries_40001_without_any_limit(wx, wechat_state):
    # Why the product must bound retries itself: three 40001s in a row cost three more fetches.
    wechat_state.inject(wx_api.TEMPLATE_SEND, errcode=40001, times=3)
    assert send_template(wx)["errcode"] == 0
    assert wechat_state.count(wx_api.TEMPLATE_SEND) == 4
    assert wechat_state.count(wx_api.TOKEN) == 4


def test_a_user_who_does_not_follow_gets_43004_always(wx, wechat_state, wechat_server):
    response = requests.post(f"{wechat_server.url}/_sim/users", json={"openid": "o-gone", "follows": False}, timeout=5)
    assert response.json()["user"]["follows"] is False
    for _ in range(2):
        with pytest.raises(WeChatClientException) as caught:
            send_template(wx, openid="o-gone")
        assert caught.value.errcode == 43004
    assert send_template(wx, openid="o-other")["errcode"] == 0


def test_rate_limit_and_system_error(wx, wechat_state, wechat_server):
    response = requests.post(
        f"{wechat_server.url}/_sim/inject", json={"endpoint": wx_api.TEMPLATE_SEND, "errcode": 45009}, timeout=5
    )
    assert response.json()["faults"] == [{"endpoint": wx_api.TEMPLATE_SEND, "times": 1, "errcode": 45009}]
    with pytest.raises(APILimitedException) as limited:
        send_template(wx)
    assert limited.value.errcode == 45009

    wechat_state.inject(wx_api.TEMPLATE_SEND, errcode=-1)
    with pytest.raises(WeChatClientException) as failed:
        send_template(wx)
    assert failed.value.errcode == -1
    assert send_template(wx)["errcode"] == 0  # the faults are used up
    assert wechat_state.faults() == []


@pytest.mark.parametrize("status", [500, 503])
def test_http_error_surfaces_as_an_exception(wx, wechat_state, status):
    wechat_state.inject(wx_api.TEMPLATE_SEND, status=status)
    with pytest.raises(WeChatClientException) as caught:
        send_template(wx)
    assert caught.value.errcode is None
    assert caught.value.response.status_code == status


def test_subscribe_message_and_a_user_who_refused(mini, wechat_state):
    sent = mini.wxa.send_subscribe_message("o-mini", "SUB_1", {"thing1": {"value": "工单已受理"}}, page="pages/a")
    assert sent["errcode"] == 0
    wechat_state.set_user("o-refused", refuses_subscribe=True)
    with pytest.raises(WeChatClientException) as caught:
        mini.wxa.send_subscribe_message("o-refused", "SUB_1", {"thing1": {"value": "x"}})
    assert caught.value.errcode == 43101
    with pytest.raises(WeChatClientException) as too_long:
        mini.wxa.send_subscribe_message("o-mini", "SUB_1", {"thing2": {"value": "长" * 21}})
    assert too_long.value.errcode == 47003


def test_slow_answer_can_trip_the_client_timeout(wechat_server, wechat_state):
    client = make_wechat_client(wechat_server, timeout=0.1)
    client.fetch_access_token()
    wechat_state.inject(wx_api.TEMPLATE_SEND, delay=0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):  # wechatpy lets requests' timeout through
        send_template(client)
    client.close()
    wait_for(lambda: wechat_state.count(wx_api.TEMPLATE_SEND) == 1)

    patient = make_wechat_client(wechat_server, timeout=5)
    wechat_state.inject(wx_api.TEMPLATE_SEND, delay=0.3)
    started = time.monotonic()
    assert send_template(patient)["errcode"] == 0
    assert time.monotonic() - started >= 0.3
    patient.close()


# -- WeChat: mini-program and account APIs ----------------------------------------------------


def test_jscode2session_with_a_pre_issued_code(mini, wechat_server):
    issued = requests.post(
        f"{wechat_server.url}/_sim/codes",
        json={"kind": "login", "openid": "o-mini-1", "unionid": "u-1", "code": "wxlogin-1"},
        timeout=5,
    ).json()
    assert issued == {"kind": "login", "code": "wxlogin-1"}
    session = mini.wxa.code_to_session("wxlogin-1")
    assert session["openid"] == "o-mini-1"
    assert session["unionid"] == "u-1"
    assert session["session_key"]
    for code, errcode in [("wxlogin-1", 40163), ("never-issued", 40029)]:
        with pytest.raises(WeChatClientException) as caught:
            mini.wxa.code_to_session(code)
        assert caught.value.errcode == errcode


def test_qrcode_create(wx):
    temporary = wx.qrcode.create(
        {"expire_seconds": 600, "action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "bind:42"}}}
    )
    assert temporary["ticket"]
    assert temporary["url"].startswith("http://weixin.qq.com/q/")
    assert temporary["expire_seconds"] == 600
    numeric = wx.qrcode.create({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 7}}})
    assert numeric["expire_seconds"] == 60
    permanent = wx.qrcode.create({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "x"}}})
    assert "expire_seconds" not in permanent
    with pytest.raises(WeChatClientException) as caught:
        wx.qrcode.create({"action_name": "QR_NOPE", "action_info": {"scene": {"scene_id": 1}}})
    assert caught.value.errcode == 40052


def test_getwxacodeunlimit_returns_png_bytes(mini, wechat_state):
    response = mini.wxa.get_wxa_code_unlimited("d=000027", page="pages/device/index")
    assert response.headers["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    (record,) = wechat_state.records(wx_api.WXACODE_UNLIMIT)
    assert record.response["scene"] == "d=000027"
    with pytest.raises(WeChatClientException) as caught:
        mini.wxa.get_wxa_code_unlimited("d=1", page="/pages/device/index")
    assert caught.value.errcode == 41030


def test_user_info_follows_the_simulated_world(wx, wechat_state):
    wechat_state.set_user("o-fan", unionid="u-fan")
    wechat_state.set_user("o-left", follows=False)
    fan = wx.user.get("o-fan")
    assert fan["subscribe"] == 1
    assert fan["unionid"] == "u-fan"
    assert fan["openid"] == "o-fan"
    assert wx.user.get("o-left") == {"subscribe": 0, "openid": "o-left"}


def test_getuserphonenumber_with_a_pre_issued_code(mini, wechat_state):
    code = wechat_state.issue_phone_code("13800138000")
    # Not in wechatpy 1.8.18: post it through the client (token handling included).
    result = mini.post(f"{mini.base_url}/wxa/business/getuserphonenumber", data={"code": code})
    assert result["phone_info"]["purePhoneNumber"] == "13800138000"
    assert result["phone_info"]["countryCode"] == "86"
    assert result["phone_info"]["watermark"]["appid"] == MINI
    with pytest.raises(WeChatClientException) as caught:
        mini.post(f"{mini.base_url}/wxa/business/getuserphonenumber", data={"code": code})
    assert caught.value.errcode == 40163


# -- Aliyun SMS --------------------------------------------------------------------------------


def send_sms(acs, server, phone="13800138000", template_param=None, **kwargs) -> dict:
    request = send_sms_request(
        phone,
        kwargs.pop("sign_name", "微修"),
        kwargs.pop("template_code", "SMS_100"),
        template_param if template_param is not None else {"code": "123456"},
        domain=server.netloc,
        protocol="http",
        **kwargs,
    )
    return json.loads(acs.do_action_with_exception(request))


def test_sms_send_ok_with_biz_id(acs, sms_server, sms_state):
    result = send_sms(acs, sms_server, out_id="delivery-7")
    assert result["Code"] == "OK"
    assert result["Message"] == "OK"
    assert result["BizId"]
    assert result["RequestId"]
    (record,) = sms_state.records("SendSms")
    assert record.status == 200
    assert record.method == "POST"
    assert record.payload["PhoneNumbers"] == "13800138000"
    assert record.payload["TemplateParam"] == {"code": "123456"}
    assert record.payload["OutId"] == "delivery-7"
    assert "Signature" not in record.payload


def test_sms_signed_query_parameters_are_accepted_too(acs, sms_server):
    # Aliyun's own samples put everything in the query: the signature must hold either way.
    request = CommonRequest(domain=sms_server.netloc, version="2017-05-25", action_name="SendSms")
    request.set_protocol_type("http")
    for key, value in {"PhoneNumbers": "+8613900001111", "SignName": "微修", "TemplateCode": "SMS_TEXT"}.items():
        request.add_query_param(key, value)
    request.add_query_param("TemplateParam", json.dumps({"text": "a b*~+/&="}))
    assert json.loads(acs.do_action_with_exception(request))["Code"] == "OK"


@pytest.mark.parametrize(
    ("phone", "template_param", "code"),
    [
        ("1380013800", None, "isv.MOBILE_NUMBER_ILLEGAL"),
        ("13800138000,12345678901", None, "isv.MOBILE_NUMBER_ILLEGAL"),
        ("13800138000", {}, "isv.TEMPLATE_MISSING_PARAMETERS"),
        ("13800138000", {"code": 1234}, "isv.INVALID_JSON_PARAM"),
    ],
)
def test_sms_business_errors_are_http_200_with_a_code(acs, sms_server, sms_state, phone, template_param, code):
    result = send_sms(acs, sms_server, phone, template_param)  # no exception: HTTP 200
    assert result["Code"] == code
    assert result["Message"]
    assert sms_state.records("SendSms")[0].status == 200


# Aliyun's messages for the codes a variable's content earns.
REFUSALS = {
    "isv.PARAM_NOT_SUPPORT_URL": "不支持url为变量",
    "isv.TEMPLATE_PARAMS_ILLEGAL": "模版变量里包含非法关键字",
    "isv.PARAM_LENGTH_LIMIT": "参数超出长度限制",
}
NOTICE_VALUES = {"number": "GD000123", "date": "2026-11-22 10:05", "detail": "紧急：开机报错 E21，请联系 8021"}


@pytest.mark.parametrize(
    ("variable", "value", "code"),
    [
        ("detail", "说明见 https://pan.example.com/s/1", "isv.PARAM_NOT_SUPPORT_URL"),
        ("detail", "说明见 www.example.com", "isv.PARAM_NOT_SUPPORT_URL"),
        ("detail", "说明见 t.cn/A6x", "isv.PARAM_NOT_SUPPORT_URL"),
        ("detail", "请发邮件到 fix@example.com", "isv.TEMPLATE_PARAMS_ILLEGAL"),
        ("detail", "请回电13912345678", "isv.TEMPLATE_PARAMS_ILLEGAL"),
        ("detail", "请回电1234567", "isv.TEMPLATE_PARAMS_ILLEGAL"),
        ("detail", "设" * 36, "isv.PARAM_LENGTH_LIMIT"),
        ("detail", " ", "isv.TEMPLATE_PARAMS_ILLEGAL"),
        ("number", "GD-0001/2", "isv.TEMPLATE_PARAMS_ILLEGAL"),
        ("number", "工单一", "isv.TEMPLATE_PARAMS_ILLEGAL"),
        ("number", "G" * 21, "isv.PARAM_LENGTH_LIMIT"),
        ("date", "明天上午", "isv.TEMPLATE_PARAMS_ILLEGAL"),
        ("date", "2026-11-22T10:05", "isv.TEMPLATE_PARAMS_ILLEGAL"),
    ],
)
def test_sms_refuses_values_their_variable_attribute_does_not_allow(acs, sms_server, sms_state, variable, value, code):
    result = send_sms(acs, sms_server, template_code="SMS_NOTICE", template_param={**NOTICE_VALUES, variable: value})
    assert (result["Code"], result["Message"]) == (code, REFUSALS[code])
    assert sms_state.records("SendSms")[0].status == 200


@pytest.mark.parametrize(
    "values",
    [
        NOTICE_VALUES,
        {"number": "WO_2026-7", "date": "2026/11/22", "detail": "设" * 35},
        {"number": "1", "date": "20261122", "detail": "电话 138 0013 8000，型号 EP-1"},
        {"number": "GD000123", "date": "2026年11月22日", "detail": "-"},
        {"number": "GD000123", "date": "10点30分", "detail": "…"},
    ],
)
def test_sms_accepts_values_that_fit_their_attributes(acs, sms_server, values):
    assert send_sms(acs, sms_server, template_code="SMS_NOTICE", template_param=values)["Code"] == "OK"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("123456", "OK"), ("1234567", "isv.PARAM_LENGTH_LIMIT"), ("12a4", "isv.TEMPLATE_PARAMS_ILLEGAL")],
)
def test_sms_verification_code_is_digits_only(acs, sms_server, code, expected):
    assert send_sms(acs, sms_server, template_param={"code": code})["Code"] == expected


def test_an_account_without_registered_templates_checks_every_value_as_free_text():
    with SimulatorServer(create_aliyun_sms_simulator(SmsState(access_keys={AK: AK_SECRET}))) as server:
        client = sms_client(AK, AK_SECRET, timeout=5, connect_timeout=5)
        fine = send_sms(client, server, template_code="ANY", template_param={"a": "GD000123", "b": "2026-11-22"})
        link = send_sms(client, server, template_code="ANY", template_param={"a": "GD000123", "b": "见 http://x.cn"})
        client.session.close()
    assert (fine["Code"], link["Code"]) == ("OK", "isv.PARAM_NOT_SUPPORT_URL")


def test_a_template_with_an_unknown_attribute_is_refused():
    with pytest.raises(ValueError, match="unknown variable attributes"):
        SmsState(templates={"SMS_1": {"code": "digits"}})


def test_sms_template_param_must_be_a_json_object(acs, sms_server):
    request = send_sms_request("13800138000", "微修", "SMS_100", domain=sms_server.netloc, protocol="http")
    request.add_body_params("TemplateParam", "{not json")
    assert json.loads(acs.do_action_with_exception(request))["Code"] == "isv.INVALID_JSON_PARAM"


def test_sms_unknown_sign_name_and_template(acs, sms_server):
    assert send_sms(acs, sms_server, sign_name="别家")["Code"] == "isv.SMS_SIGNATURE_ILLEGAL"
    assert send_sms(acs, sms_server, template_code="SMS_999")["Code"] == "isv.SMS_TEMPLATE_ILLEGAL"


def test_sms_injected_business_limit_control(acs, sms_server, sms_state):
    requests.post(
        f"{sms_server.url}/_sim/inject",
        json={"endpoint": "SendSms", "code": "isv.BUSINESS_LIMIT_CONTROL", "times": 2},
        timeout=5,
    )
    assert [send_sms(acs, sms_server)["Code"] for _ in range(3)] == ["isv.BUSINESS_LIMIT_CONTROL"] * 2 + ["OK"]
    assert [r.status for r in sms_state.records("SendSms")] == [200, 200, 200]


def test_sms_wrong_secret_is_rejected(sms_server):
    client = sms_client(AK, "not-the-secret", timeout=5)
    with pytest.raises(ServerException) as caught:
        send_sms(client, sms_server)
    client.session.close()
    assert caught.value.http_status == 400
    # Typed requests would turn this into InvalidAccessKeySecret (the SDK compares the server's
    # string to sign with its own), but CommonRequest keeps its string to sign on an inner request.
    assert caught.value.error_code == "SignatureDoesNotMatch"
    assert "server string to sign is:POST&%2F&AccessKeyId%3Dtest-ak%26" in caught.value.message


def test_sms_tampered_replayed_or_unknown_key_requests_are_rejected(sms_server, sms_state):
    def signed_url(access_key_id=AK) -> str:
        request = CommonRequest(domain=sms_server.netloc, version="2017-05-25", action_name="SendSms")
        for key, value in {"PhoneNumbers": "13800138000", "SignName": "微修", "TemplateCode": "SMS_100"}.items():
            request.add_query_param(key, value)
        request.add_query_param("TemplateParam", '{"code":"123456"}')
        request.trans_to_acs_request()
        return sms_server.url + request.get_url("cn-hangzhou", access_key_id, AK_SECRET)

    tampered = requests.get(signed_url().replace("13800138000", "13900139000"), timeout=5)
    assert tampered.status_code == 400
    assert tampered.json()["Code"] == "SignatureDoesNotMatch"

    url = signed_url()
    assert requests.get(url, timeout=5).json()["Code"] == "OK"
    replayed = requests.get(url, timeout=5)
    assert (replayed.status_code, replayed.json()["Code"]) == (400, "SignatureNonceUsed")

    unknown = requests.get(signed_url("nobody"), timeout=5)
    assert (unknown.status_code, unknown.json()["Code"]) == (404, "InvalidAccessKeyId.NotFound")
    assert [r.status for r in sms_state.records("SendSms")] == [400, 200, 400, 404]


def test_sms_http_500_raises_and_is_not_retried(acs, sms_server, sms_state):
    sms_state.inject("SendSms", status=500)
    with pytest.raises(ServerException) as caught:
        send_sms(acs, sms_server)
    assert caught.value.http_status == 500
    assert caught.value.error_code == "InternalError"
    assert sms_state.count("SendSms") == 1  # SendSms is not idempotent: the SDK must not resend


def test_sms_slow_answer_can_trip_the_client_timeout(sms_server, sms_state):
    impatient = sms_client(AK, AK_SECRET, timeout=0.1, connect_timeout=1)
    sms_state.inject("SendSms", delay=0.3)
    with pytest.raises(ClientException) as caught:
        send_sms(impatient, sms_server)
    impatient.session.close()
    assert caught.value.error_code == "SDK.HttpError"
    assert "timed out" in caught.value.message
    wait_for(lambda: sms_state.count("SendSms") == 1)


# -- the control page --------------------------------------------------------------------------


def test_sim_page_lists_newest_first_and_escapes_html(wx, wechat_server, sms_server, acs):
    send_template(wx, value="older-one")
    send_template(wx, value="<b>x</b>&\"'")
    page = requests.get(f"{wechat_server.url}/_sim/", timeout=5)
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;&amp;" in html
    assert html.index("&lt;b&gt;") < html.index("older-one")  # newest first

    send_sms(acs, sms_server, template_param={"code": "<script>alert(1)</script>"})
    sms_html = requests.get(f"{sms_server.url}/_sim/", timeout=5).text
    assert "<script>alert" not in sms_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sms_html


def test_page_form_injects_and_resets(wechat_server, wechat_state):
    form = {"endpoint": wx_api.USER_INFO, "times": "2", "errcode": "45009", "delay": "", "status": ""}
    response = requests.post(f"{wechat_server.url}/_sim/inject", data=form, allow_redirects=False, timeout=5)
    assert response.status_code == 303
    assert wechat_state.faults() == [{"endpoint": wx_api.USER_INFO, "times": 2, "errcode": 45009}]
    bad = requests.post(f"{wechat_server.url}/_sim/inject", json={"endpoint": "/nope", "errcode": 1}, timeout=5)
    assert bad.status_code == 400
    assert requests.post(f"{wechat_server.url}/_sim/reset", json={}, timeout=5).json() == {"ok": True}
    assert wechat_state.faults() == []


def test_control_api_rejects_bad_input_and_answers_json(wechat_server, wechat_state):
    url = f"{wechat_server.url}/_sim"
    assert requests.post(f"{url}/codes", json={"kind": "login"}, timeout=5).status_code == 400
    assert requests.post(f"{url}/users", json={"openid": "o1", "follows": "no"}, timeout=5).status_code == 400
    assert requests.post(f"{url}/inject", json={"endpoint": wx_api.TOKEN, "times": 0}, timeout=5).status_code == 400
    phone = requests.post(f"{url}/codes", json={"kind": "phone", "phone": "13800138000"}, timeout=5).json()
    assert wechat_state.redeem_phone_code(phone["code"]) == "13800138000"
    assert requests.post(f"{url}/reset", timeout=5).json() == {"ok": True}  # no body: still JSON


def test_server_stops_and_frees_its_port():
    server = SimulatorServer(create_wechat_simulator())
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018 - the property raises before start
    with server:
        url = server.url
        assert requests.get(f"{url}/_sim/messages", timeout=5).json()["messages"] == []
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/_sim/messages", timeout=1)


# -- published limits ----------------------------------------------------------------------------


@pytest.fixture
def limited_sms() -> Iterator[tuple[SmsState, SimulatorServer]]:
    """An account with SMS_100 registered as a 验证码 template (its own limits) and SMS_TEXT a notice."""
    from simulators.state import SmsLimits

    state = SmsState(
        access_keys={AK: AK_SECRET},
        templates=TEMPLATES,
        code_templates={"SMS_100"},
        limits=SmsLimits(whitelist=frozenset({"13900000000"})),
    )
    with SimulatorServer(create_aliyun_sms_simulator(state)) as server:
        yield state, server


def notice(acs, server, phone="13800138000", template="SMS_TEXT") -> dict:
    return send_sms(acs, server, phone, {"text": "证照即将到期"}, template_code=template)


def test_sms_notices_stop_at_50_a_day_per_signature_template_and_number(acs, limited_sms):
    state, server = limited_sms
    assert [notice(acs, server)["Code"] for _ in range(50)] == ["OK"] * 50
    refused = notice(acs, server)
    assert (refused["Code"], refused["Message"]) == ("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:50")
    # another number has its own count; a whitelisted number has none
    assert notice(acs, server, phone="13800138001")["Code"] == "OK"
    assert notice(acs, server, phone="13900000000")["Code"] == "OK"
    # a rolling 24 h: a day on, the number gets notices again
    state.advance_clock(24 * 3600)
    assert notice(acs, server)["Code"] == "OK"


def test_sms_codes_go_1_a_minute_5_an_hour_10_a_day_per_number(acs, limited_sms):
    state, server = limited_sms
    codes = []
    for _ in range(12):
        codes.append(send_sms(acs, server)["Code"])
        codes.append(send_sms(acs, server)["Message"])  # the same minute: refused
        state.advance_clock(61)
    assert codes[:2] == ["OK", "触发分钟级流控Permits:1"]
    assert [code for code in codes[0::2]] == ["OK"] * 5 + ["isv.BUSINESS_LIMIT_CONTROL"] * 7
    assert codes[11] == "触发小时级流控Permits:5"
    # an hour on, five more, then the day's ten are spent
    for _ in range(2):
        state.advance_clock(3600)
        for _ in range(5):
            send_sms(acs, server)
            state.advance_clock(61)
    assert send_sms(acs, server)["Message"] == "触发天级流控Permits:10"
    # a refused submission counts for nothing: the account's record shows 10 accepted
    accepted = [r for r in state.records("SendSms") if r.response.get("Code") == "OK"]
    assert len(accepted) == 10


def test_relaxed_sms_has_no_flow_control(acs):
    state = SmsState(access_keys={AK: AK_SECRET}, templates=TEMPLATES, code_templates={"SMS_100"}, relaxed=True)
    with SimulatorServer(create_aliyun_sms_simulator(state)) as server:
        assert {send_sms(acs, server)["Code"] for _ in range(8)} == {"OK"}
        assert {notice(acs, server)["Code"] for _ in range(60)} == {"OK"}


def test_template_sends_stop_at_the_daily_quota_with_45009_and_quota_get_reports_it():
    from simulators.state import WeChatLimits

    state = WeChatState(apps={OFFICIAL: OFFICIAL_SECRET}, limits=WeChatLimits(template_sends_per_day=3))
    with SimulatorServer(create_wechat_simulator(state)) as server:
        client = make_wechat_client(server)
        for _ in range(3):
            assert send_template(client)["errcode"] == 0
        with pytest.raises(WeChatClientException) as caught:
            send_template(client)
        assert caught.value.errcode == 45009
        quota = client.post(f"{client.base_url}/cgi-bin/openapi/quota/get", data={"cgi_path": wx_api.TEMPLATE_SEND})
        assert quota["quota"] == {"daily_limit": 3, "used": 3, "remain": 0}
        with pytest.raises(WeChatClientException) as unknown:
            client.post(f"{client.base_url}/cgi-bin/openapi/quota/get", data={"cgi_path": "/cgi-bin/nope"})
        assert unknown.value.errcode == 76021
        # the quota starts again at 00:00 Asia/Shanghai
        state.advance_clock(24 * 3600)
        assert send_template(client)["errcode"] == 0
        client.close()


def test_the_local_simulators_enforce_the_limits_unless_relaxed():
    from simulators.local import CODE_TEMPLATES, LocalSimulators

    for relaxed in (False, True):
        running = LocalSimulators.start(relaxed=relaxed)
        try:
            assert running.sms_state.relaxed is relaxed and running.wechat_state.relaxed is relaxed
            assert running.sms_state.code_templates == set(CODE_TEMPLATES)
        finally:
            running.stop()


def test_the_clock_endpoint_lets_time_pass_for_the_limits(acs, limited_sms):
    _, server = limited_sms
    assert send_sms(acs, server)["Code"] == "OK"
    assert send_sms(acs, server)["Code"] == "isv.BUSINESS_LIMIT_CONTROL"
    for bad in ({}, {"seconds": -1}, {"seconds": True}, {"seconds": "61"}):
        assert requests.post(f"{server.url}/_sim/clock", json=bad, timeout=5).status_code == 400
    moved = requests.post(f"{server.url}/_sim/clock", json={"seconds": 61}, timeout=5)
    assert moved.status_code == 200 and moved.json()["ok"] is True
    assert send_sms(acs, server)["Code"] == "OK"
