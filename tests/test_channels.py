"""The WeChat and SMS channels over real HTTP, against the session's simulators.

The real wechatpy and aliyunsdkcore code paths run; faults are injected into the simulators.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from channels.base import Outcome, OutcomeKind, OutgoingMessage
from channels.providers import TOKEN_KEY_PREFIX, SharedTokenWeChatClient, without_request_id
from channels.registry import get_channel, reset_channels
from channels.sms import flow_control_seconds
from simulators import wechat as wx_api
from simulators.state import WeChatLimits

SMS = "SendSms"
VALUES = {"subject": "高压注射器 CT-01", "kind": "保修到期", "due_on": "2025-06-01", "status": "即将到期"}
PAGE = "pages/alerts/detail?id=7"


def message(number: int = 1, **fields) -> OutgoingMessage:
    defaults = {
        "delivery_id": number,
        "idempotency_key": f"alert:7:user:{number}:2025-06-01",
        "recipient_id": number,
        "topic": "alert.reminder",
        "title": "设备即将到期",
        "body": "高压注射器 CT-01 的保修将于 2025-06-01 到期",
        "values": dict(VALUES),
        "page": PAGE,
        "phone": "13800138000",
        "wechat_openid": f"o-user-{number}",
    }
    return OutgoingMessage(**{**defaults, **fields})


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Let a request still running in a simulator finish before the test ends (and it is reset)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the simulator did not get there in time"
        time.sleep(0.02)


@pytest.fixture
def wechat(app_context):
    return get_channel("wechat")


@pytest.fixture
def sms(app_context):
    return get_channel("sms")


@pytest.fixture
def redis(app_context):
    from connections import redis as redis_connection

    return redis_connection.redis()


def template_sends(wechat_sim) -> list:
    return wechat_sim.state.records(wx_api.TEMPLATE_SEND)


def token_fetches(wechat_sim) -> list:
    return wechat_sim.state.records(wx_api.STABLE_TOKEN)


# -- WeChat: what is sent -----------------------------------------------------------------------


def test_wechat_sends_the_template_with_mapped_fields_page_and_client_msg_id(wechat, wechat_sim):
    (outcome,) = wechat.send([message()])

    (record,) = template_sends(wechat_sim)
    assert outcome == Outcome.sent(str(record.response["msgid"]))
    body = record.payload["body"]
    assert body == {
        "touser": "o-user-1",
        "template_id": "sim-alert-template",
        "data": {
            "thing1": {"value": "高压注射器 CT-01"},
            "thing2": {"value": "保修到期"},
            "time3": {"value": "2025-06-01"},
            "thing4": {"value": "即将到期"},
        },
        "client_msg_id": "alert:7:user:1:2025-06-01",
        "miniprogram": {"appid": "wx-sim-miniprogram", "pagepath": PAGE},
    }
    assert wechat_sim.state.count(wx_api.TOKEN) == 0  # only stable_token, which never invalidates


def test_wechat_cuts_fields_to_20_characters_on_one_line_with_the_configured_mapping(
    configure, app_context, wechat_sim
):
    fields = {"thing7": "subject", "character_string9": "device_code", "thing2": "title"}
    configure(WECHAT_ALERT_TEMPLATE_FIELDS=fields)
    long_subject = "北京市第一人民医院放射科\n高压注射器 CT-01 号机 保修"
    (outcome,) = get_channel("wechat").send([message(values={"subject": long_subject}, page=None)])

    assert outcome.kind == OutcomeKind.SENT
    body = template_sends(wechat_sim)[0].payload["body"]
    assert body["data"] == {
        "thing7": {"value": "北京市第一人民医院放射科 高压注射器…"},
        "character_string9": {"value": "-"},  # no such value: WeChat refuses empty fields
        "thing2": {"value": "设备即将到期"},  # names the message's own title
    }
    assert all(len(field["value"]) <= 20 for field in body["data"].values())
    assert "miniprogram" not in body  # no page, no jump


def test_the_same_client_msg_id_is_delivered_once(wechat, wechat_sim):
    first = wechat.send([message()])[0]
    again = wechat.send([message()])[0]
    assert first == again  # WeChat answers a duplicate with the first message's msgid
    assert [record.note for record in template_sends(wechat_sim)][1].startswith("duplicate client_msg_id")


# -- WeChat: outcomes -------------------------------------------------------------------------


def test_wechat_skips_people_without_openid_or_not_following(wechat, wechat_sim):
    wechat_sim.state.set_user("o-user-2", follows=False)
    outcomes = wechat.send([message(1, wechat_openid=None), message(2)])
    assert outcomes == [Outcome.skipped("未绑定微信"), Outcome.skipped("未关注公众号 (43004)")]
    assert len(template_sends(wechat_sim)) == 1  # no request for the unbound one


def test_wechat_token_rejected_once_is_refreshed_and_the_message_sent(wechat, wechat_sim):
    wechat_sim.state.inject(wx_api.TEMPLATE_SEND, errcode=40001)
    (outcome,) = wechat.send([message()])

    assert outcome.kind == OutcomeKind.SENT
    assert len(template_sends(wechat_sim)) == 2
    fetches = token_fetches(wechat_sim)
    assert [f.payload["body"]["force_refresh"] for f in fetches] == [False, True]
    first, second = (r.payload["query"]["access_token"] for r in template_sends(wechat_sim))
    assert first != second


def test_wechat_token_rejected_twice_is_a_retry_with_bounded_fetches(wechat, wechat_sim):
    wechat_sim.state.inject(wx_api.TEMPLATE_SEND, errcode=40001, times=5)
    (outcome,) = wechat.send([message()])

    assert outcome == Outcome.retry("微信 access_token 连续失效 (40001)")
    assert len(template_sends(wechat_sim)) == 2  # one call, one retry: never wechatpy's endless loop
    assert len(token_fetches(wechat_sim)) == 2  # the cold fetch and one forced refresh


def test_an_expired_token_is_refreshed_once_for_many_concurrent_sends(wechat, wechat_sim, redis):
    wechat.send([message(0)])
    wechat_sim.state.expire_tokens()  # every sender now holds a token WeChat answers 42001 to

    outcomes = wechat.send([message(n) for n in range(1, 9)])

    assert {o.kind for o in outcomes} == {OutcomeKind.SENT}
    fetches = token_fetches(wechat_sim)
    assert [f.payload["body"]["force_refresh"] for f in fetches] == [False, True]  # cold, then one refresh
    answers = [r.response.get("errcode") for r in template_sends(wechat_sim)[1:]]
    # Each send was refused at most once: 42001, or 40001 once the refresh had replaced the old
    # token; a late starter may find the new token already there and be refused not at all.
    refused = [answer for answer in answers if answer != 0]
    assert answers.count(0) == 8
    assert 1 <= len(refused) <= 8
    assert set(refused) <= {40001, 42001}


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"errcode": -1}, "微信系统繁忙 (-1)"),
        ({"status": 502}, "微信服务端错误 (HTTP 502)"),
        ({"status": 503}, "微信服务端错误 (HTTP 503)"),
    ],
)
def test_wechat_transient_errors_are_retries(wechat, wechat_sim, fault, reason):
    wechat_sim.state.inject(wx_api.TEMPLATE_SEND, **fault)
    assert wechat.send([message()]) == [Outcome.retry(reason)]


def test_wechat_daily_quota_of_template_sends_is_a_quota_and_quota_get_reads_it(configure, app_context, wechat_sim):
    """45009 on a template send: the day's template sends are used up (the send job pauses them,
    jobs.quotas); quota/get reports the day's limit and use."""
    configure(DELIVERY_CONCURRENCY=1)
    wechat = get_channel("wechat")
    wechat_sim.state.limits = WeChatLimits(template_sends_per_day=1)
    try:
        first, second = wechat.send([message(1), message(2)])
        assert first.kind == OutcomeKind.SENT
        assert second == Outcome.limited("微信接口调用超过限额 (45009)", "45009")
        assert wechat.template_quota() == (1, 1)
    finally:
        wechat_sim.state.limits = WeChatLimits()


@pytest.mark.parametrize(("errcode", "errmsg"), [(40003, "invalid openid"), (40037, "invalid template_id")])
def test_wechat_permanent_errors_fail_with_code_and_errmsg(wechat, wechat_sim, errcode, errmsg):
    wechat_sim.state.inject(wx_api.TEMPLATE_SEND, errcode=errcode)
    (outcome,) = wechat.send([message()])
    assert outcome.kind == OutcomeKind.FAILED
    assert outcome.reason.startswith(f"微信错误 {errcode}: {errmsg}")


@pytest.mark.parametrize(
    ("errmsg", "kept"),
    [
        ("invalid template_id rid: 6746f3a2-1b2c3d4e-5f6a7b8c", "invalid template_id"),
        ("invalid openid hint: [tP3aW0370ge20] rid: 6746f3a2-1b2c3d4e-5f6a7b8c", "invalid openid"),
        (
            "invalid credential, access_token is invalid or not latest hint: [xYz A]",
            "invalid credential, access_token is invalid or not latest",
        ),
        ("argument invalid! data.thing1.value invalid", "argument invalid! data.thing1.value invalid"),
        (None, ""),
    ],
)
def test_wechats_request_ids_are_not_part_of_a_reason(errmsg, kept):
    assert without_request_id(errmsg) == kept


def test_wechat_slow_answer_beyond_the_timeout_is_a_retry(configure, app_context, wechat_sim):
    configure(WECHAT_TIMEOUT_SECONDS=0.3)
    channel = get_channel("wechat")
    channel.send([message(0)])  # warm the token so only the send is slow
    wechat_sim.state.inject(wx_api.TEMPLATE_SEND, delay=0.8)

    started = time.monotonic()
    (outcome,) = channel.send([message()])

    assert time.monotonic() - started < 0.75
    assert outcome == Outcome.retry("微信接口超时 (ReadTimeout)", unconfirmed=True)  # it may have gone out
    wait_for(lambda: len(template_sends(wechat_sim)) == 2)


def test_wechat_token_fetch_trouble_is_a_retry_and_a_wrong_secret_holds_the_channel(configure, app_context, wechat_sim):
    wechat_sim.state.inject(wx_api.STABLE_TOKEN, status=500)
    assert get_channel("wechat").send([message()]) == [Outcome.retry("微信服务端错误 (HTTP 500)")]

    # The account itself is refused: every message would be, until someone fixes the secret.
    configure(WECHAT_OFFICIAL_APP_SECRET="not-the-secret")
    assert get_channel("wechat").send([message()]) == [Outcome.held("公众号AppSecret无效", "40125")]
    assert template_sends(wechat_sim) == []


@pytest.mark.parametrize(
    ("errcode", "reason"), [(40164, "服务器IP不在公众号IP白名单"), (48001, "公众号未获得该接口权限")]
)
def test_wechat_account_refusals_hold_the_channel(app_context, wechat_sim, errcode, reason):
    wechat_sim.state.inject(wx_api.TEMPLATE_SEND, errcode=errcode)
    assert get_channel("wechat").send([message()]) == [Outcome.held(reason, str(errcode))]


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"WECHAT_OFFICIAL_APP_ID": None, "WECHAT_OFFICIAL_APP_SECRET": None}, "微信通道未配置"),
        ({"WECHAT_ALERT_TEMPLATE_ID": None}, "未配置微信模板（预警）"),
    ],
)
def test_wechat_not_configured_skips_every_message(configure, app_context, wechat_sim, settings, reason):
    configure(**settings)
    assert get_channel("wechat").send([message(1), message(2)]) == [Outcome.skipped(reason)] * 2
    assert wechat_sim.state.records() == []


def test_wechat_outcomes_keep_the_order_of_the_messages_under_concurrency(wechat, wechat_sim):
    for openid in ("o-user-3", "o-user-8"):
        wechat_sim.state.set_user(openid, follows=False)
    batch = [message(n, wechat_openid=None if n == 5 else f"o-user-{n}") for n in range(12)]
    wechat.send([message(99)])  # warm token: the sends below race each other, not the fetch
    # The first sends to arrive are the slowest: they finish after the ones sent later.
    wechat_sim.state.inject(wx_api.TEMPLATE_SEND, delay=0.3, times=3)

    outcomes = wechat.send(batch)

    sends = template_sends(wechat_sim)[1:]
    msgids = {r.payload["body"]["touser"]: str(r.response.get("msgid")) for r in sends}
    expected = []
    for n in range(12):
        if n == 5:
            expected.append(Outcome.skipped("未绑定微信"))
        elif n in (3, 8):
            expected.append(Outcome.skipped("未关注公众号 (43004)"))
        else:
            expected.append(Outcome.sent(msgids[f"o-user-{n}"]))
    assert outcomes == expected
    arrival = [r.payload["body"]["touser"] for r in sends]
    assert arrival != [m.wechat_openid for m in batch if m.wechat_openid]  # it really ran concurrently


# -- WeChat: the shared access token --------------------------------------------------------------


def shared_client(app, wechat_sim, redis, timeout: float = 5) -> SharedTokenWeChatClient:
    return SharedTokenWeChatClient(
        app.config["WECHAT_OFFICIAL_APP_ID"],
        app.config["WECHAT_OFFICIAL_APP_SECRET"],
        redis=redis,
        base_url=wechat_sim.url,
        timeout=timeout,
    )


def test_the_token_is_shared_between_clients_through_redis(app, wechat_sim, redis):
    first, second = shared_client(app, wechat_sim, redis), shared_client(app, wechat_sim, redis)
    try:
        token = first.access_token
        assert second.access_token == token  # the other "process" fetched nothing
        assert len(token_fetches(wechat_sim)) == 1
        key = f"{TOKEN_KEY_PREFIX}wx-sim-official"
        assert redis.get(key).decode() == token
        assert 7200 - 300 - 5 <= redis.ttl(key) <= 7200 - 300  # stored for less than it lives

        # One refreshes after a rejection ...
        wechat_sim.state.inject(wx_api.USER_INFO, errcode=40001)
        assert first.user.get("o-1")["subscribe"] == 1
        renewed = redis.get(key).decode()
        assert renewed != token
        # ... and the other, rejected with the same old token meanwhile, takes the new one.
        assert second.refresh_access_token(rejected=token) == renewed
        assert [f.payload["body"]["force_refresh"] for f in token_fetches(wechat_sim)] == [False, True]
    finally:
        first.close()
        second.close()


def test_eight_cold_threads_fetch_the_token_exactly_once(app, wechat_sim, redis):
    clients = [shared_client(app, wechat_sim, redis) for _ in range(8)]  # as if eight processes
    start = threading.Barrier(len(clients))
    tokens: list[str] = []

    def take(client: SharedTokenWeChatClient) -> None:
        start.wait()
        tokens.append(client.access_token)

    threads = [threading.Thread(target=take, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()

    assert len(tokens) == 8
    assert len(set(tokens)) == 1
    assert len(token_fetches(wechat_sim)) == 1


def test_a_cold_concurrent_batch_fetches_the_token_once(wechat, wechat_sim):
    outcomes = wechat.send([message(n) for n in range(8)])
    assert {o.kind for o in outcomes} == {OutcomeKind.SENT}
    assert len(token_fetches(wechat_sim)) == 1


def test_a_client_without_timeout_is_refused(redis):
    with pytest.raises(ValueError, match="timeout"):
        SharedTokenWeChatClient("wx", "secret", redis=redis, timeout=None)


# -- SMS -----------------------------------------------------------------------------------------


def sms_sends(sms_sim) -> list:
    return sms_sim.state.records(SMS)


def test_sms_sends_the_template_with_mapped_params_and_out_id(sms, sms_sim):
    (outcome,) = sms.send([message()])

    (record,) = sms_sends(sms_sim)
    assert outcome == Outcome.sent(record.response["BizId"])
    assert record.method == "POST"
    assert {key: record.payload[key] for key in ("PhoneNumbers", "SignName", "TemplateCode", "OutId")} == {
        "PhoneNumbers": "13800138000",
        "SignName": "微修",
        "TemplateCode": "SMS_SIM_ALERT",
        "OutId": "alert:7:user:1:2025-06-01",
    }
    assert record.payload["TemplateParam"] == {
        "name": "高压注射器 CT-01",
        "kind": "保修到期",
        "date": "2025-06-01",
        "status": "即将到期",
    }


def test_sms_cuts_each_param_to_35_characters_with_the_configured_mapping(configure, app_context, sms_sim):
    configure(SMS_ALERT_TEMPLATE_PARAMS={"device": "subject", "site": "site"})
    (outcome,) = get_channel("sms").send([message(values={"subject": "设" * 50})])

    assert outcome.kind == OutcomeKind.SENT
    params = sms_sends(sms_sim)[0].payload["TemplateParam"]
    assert params == {"device": "设" * 34 + "…", "site": "-"}


def test_sms_free_text_goes_out_without_links_e_mail_addresses_or_phone_numbers(sms, sms_sim):
    values = {**VALUES, "subject": "高压注射器 见 https://pan.example.com/s/1", "status": "请联系a@b.cn或13912345678"}
    (outcome,) = sms.send([message(values=values)])

    assert outcome.kind == OutcomeKind.SENT, outcome
    params = sms_sends(sms_sim)[0].payload["TemplateParam"]
    assert (params["name"], params["status"]) == ("高压注射器 见 …", "请联系…或…")


# The templates an Aliyun account registers for weixiu, each variable with its attribute (变量属性).
REGISTERED_TEMPLATES = {
    "SMS_SIM_ALERT": {"name": "others", "kind": "others", "date": "time", "status": "others"},
    "SMS_SIM_WORK_ORDER": {"number": "other_number2", "device": "others", "status": "others", "detail": "others"},
}


@pytest.fixture
def registered_sms(configure, app_context):
    """An Aliyun account holding REGISTERED_TEMPLATES, and the SMS channel with its default settings."""
    from simulators import SimulatorServer, SmsState, create_aliyun_sms_simulator

    state = SmsState(templates=REGISTERED_TEMPLATES)
    with SimulatorServer(create_aliyun_sms_simulator(state)) as server:
        configure(SMS_ENDPOINT=server.netloc)
        yield get_channel("sms"), state


def test_sms_default_attributes_fit_the_templates_as_registered(registered_sms):
    sms, state = registered_sms
    messy = "屏幕闪烁，视频见 https://pan.example.com/s/1AbC 邮件fix@example.com 电话13912345678"
    work_order = {"number": "GD000123", "device": "高压注射器(000027)", "status": "待接单", "detail": messy}
    outcomes = sms.send(
        [message(1, values={**VALUES, "subject": messy}), message(2, topic="work_order.created", values=work_order)]
    )

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 2
    sent = {record.payload["TemplateCode"]: record.payload["TemplateParam"] for record in state.records(SMS)}
    alert, order = sent["SMS_SIM_ALERT"], sent["SMS_SIM_WORK_ORDER"]  # sent concurrently: in any order
    assert alert == {
        "name": "屏幕闪烁，视频见 … 邮件… 电话…",
        "kind": "保修到期",
        "date": "2025-06-01",
        "status": "即将到期",
    }
    assert order == {"number": "GD000123", "device": "高压注射器(000027)", "status": "待接单", "detail": alert["name"]}


def test_sms_value_its_attribute_does_not_allow_fails_without_a_send(configure, app_context, sms_sim):
    configure(SMS_ALERT_TEMPLATE_ATTRIBUTES={"name": "other_number2", "date": "time"})
    (outcome,) = get_channel("sms").send([message()])

    assert outcome == Outcome.failed(
        "短信变量 name 不符合其变量属性“其他号码”（不是其他号码），"
        "请核对 SMS_ALERT_TEMPLATE_PARAMS 与 SMS_ALERT_TEMPLATE_ATTRIBUTES"
    )
    assert sms_sends(sms_sim) == []


def test_sms_unknown_attribute_skips_its_family_only(configure, app_context, sms_sim):
    configure(SMS_ALERT_TEMPLATE_ATTRIBUTES={"date": "date", "status": "others"})
    work_order = {"number": "GD000123", "device": "高压注射器", "status": "待接单", "detail": "无法开机"}
    alert, order = get_channel("sms").send([message(1), message(2, topic="work_order.created", values=work_order)])

    assert alert == Outcome.skipped("短信模板变量属性未知（预警：date=date）")
    assert order.kind == OutcomeKind.SENT
    assert [record.payload["TemplateCode"] for record in sms_sends(sms_sim)] == ["SMS_SIM_WORK_ORDER"]


def test_sms_skips_people_without_a_phone(sms, sms_sim):
    assert sms.send([message(phone=None), message(phone="  ")]) == [Outcome.skipped("未登记手机号")] * 2
    assert sms_sends(sms_sim) == []


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("isv.DAY_LIMIT_CONTROL", "短信发送被限流 (isv.DAY_LIMIT_CONTROL)"),
        ("Throttling.User", "短信发送被限流 (Throttling.User)"),
        ("isp.SYSTEM_ERROR", "阿里云短信系统错误 (isp.SYSTEM_ERROR)"),
    ],
)
def test_sms_rate_limits_and_system_errors_are_retries(sms, sms_sim, code, reason):
    sms_sim.state.inject(SMS, code=code)
    assert sms.send([message()]) == [Outcome.retry(reason)]


def test_sms_flow_control_per_number_is_a_quota_not_a_retry(sms, sms_sim):
    """isv.BUSINESS_LIMIT_CONTROL: the number's quota is used up; the send job holds the message
    until it frees (jobs.quotas), rather than spending its attempts on it."""
    sms_sim.state.inject(SMS, code="isv.BUSINESS_LIMIT_CONTROL", message="触发小时级流控Permits:5")
    (outcome,) = sms.send([message()])
    assert outcome == Outcome.limited(
        "短信发送被限流 (isv.BUSINESS_LIMIT_CONTROL: 触发小时级流控Permits:5)", "isv.BUSINESS_LIMIT_CONTROL"
    )
    assert flow_control_seconds(outcome) == 3600


def test_sms_illegal_number_fails_with_aliyuns_reason(sms, sms_sim):
    assert sms.send([message(phone="1380013800")]) == [Outcome.failed("isv.MOBILE_NUMBER_ILLEGAL: 非法手机号")]


@pytest.mark.parametrize(
    "code",
    [
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
    ],
)
def test_sms_other_business_errors_fail(sms, sms_sim, code):
    sms_sim.state.inject(SMS, code=code)
    (outcome,) = sms.send([message()])
    assert outcome.kind == OutcomeKind.FAILED
    assert outcome.reason.startswith(f"{code}: ")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("isv.AMOUNT_NOT_ENOUGH", "阿里云短信账户余额不足"),
        ("isv.OUT_OF_SERVICE", "阿里云短信账户已停机"),
        ("isv.ACCOUNT_ABNORMAL", "阿里云短信账户异常"),
        ("SignatureDoesNotMatch", "短信 AccessKey 签名校验失败"),
        ("InvalidAccessKeyId.NotFound", "短信 AccessKey 不存在"),
        ("InvalidAccessKeyId.Inactive", "短信 AccessKey 已停用"),
    ],
)
def test_sms_account_refusals_hold_the_channel(sms, sms_sim, code, reason):
    """Business codes (HTTP 200) and the gateway's key errors (HTTP 400/404), through the SDK."""
    sms_sim.state.inject(SMS, code=code)
    assert sms.send([message()]) == [Outcome.held(reason, code)]


@pytest.mark.parametrize("status", [500, 503])
def test_sms_server_errors_are_retries(sms, sms_sim, status):
    sms_sim.state.inject(SMS, status=status)
    (outcome,) = sms.send([message()])
    assert outcome.kind == OutcomeKind.RETRY
    assert f"HTTP {status}" in outcome.reason
    assert len(sms_sends(sms_sim)) == 1  # never resent by the SDK


def test_sms_rejected_credentials_hold_the_channel(configure, app_context, sms_sim):
    configure(SMS_ACCESS_KEY_SECRET="not-the-secret")
    assert get_channel("sms").send([message()]) == [
        Outcome.held("短信 AccessKey 签名校验失败", "SignatureDoesNotMatch")
    ]
    configure(SMS_ACCESS_KEY_ID="no-such-key")
    assert get_channel("sms").send([message()]) == [
        Outcome.held("短信 AccessKey 不存在", "InvalidAccessKeyId.NotFound")
    ]


def test_sms_slow_answer_beyond_the_timeout_is_a_retry(configure, app_context, sms_sim):
    configure(SMS_TIMEOUT_SECONDS=0.3)
    sms_sim.state.inject(SMS, delay=0.8)
    started = time.monotonic()
    (outcome,) = get_channel("sms").send([message()])
    assert time.monotonic() - started < 0.75
    assert outcome == Outcome.retry("短信接口超时 (SDK.HttpError)")
    wait_for(lambda: len(sms_sends(sms_sim)) == 1)


def test_sms_unreachable_endpoint_is_a_retry(configure, app_context):
    configure(SMS_ENDPOINT="127.0.0.1:1")  # nothing listens there: connection refused
    assert get_channel("sms").send([message()]) == [Outcome.retry("短信接口连接失败 (SDK.HttpError)")]


def test_sms_outcome_is_unknown_only_when_the_request_went_out_and_no_answer_came():
    """Aliyun may have accepted a request whose answer was lost, never one that did not connect."""
    from aliyunsdkcore.acs_exception.exceptions import ClientException

    from channels.providers import send_sms_request, sms_client, sms_outcome_unknown

    def error_from(netloc: str) -> ClientException:
        client = sms_client("ak", "secret", timeout=0.3, connect_timeout=0.3)
        request = send_sms_request("13800138000", "微修", "SMS_1", {"code": "123456"}, domain=netloc, protocol="http")
        with pytest.raises(ClientException) as caught:
            client.do_action_with_exception(request)
        client.session.close()
        return caught.value

    def hang_up(server: socket.socket) -> None:
        connection, _ = server.accept()
        connection.recv(65536)
        connection.close()

    with socket.create_server(("127.0.0.1", 0)) as silent, socket.create_server(("127.0.0.1", 0)) as rude:
        threading.Thread(target=hang_up, args=(rude,), daemon=True).start()
        assert sms_outcome_unknown(error_from(f"127.0.0.1:{silent.getsockname()[1]}"))  # read timed out
        assert sms_outcome_unknown(error_from(f"127.0.0.1:{rude.getsockname()[1]}"))  # connection dropped
    assert not sms_outcome_unknown(error_from("127.0.0.1:1"))  # connection refused


def test_sms_not_configured_skips_every_message(configure, app_context, sms_sim):
    configure(SMS_ACCESS_KEY_ID=None, SMS_ACCESS_KEY_SECRET=None)
    assert get_channel("sms").send([message(1), message(2)]) == [Outcome.skipped("短信通道未配置")] * 2
    assert sms_sends(sms_sim) == []


def test_sms_outcomes_keep_the_order_of_the_messages_under_concurrency(sms, sms_sim):
    phones = [f"1390000{n:04d}" for n in range(12)]
    phones[2] = None
    phones[6] = "12345"
    sms_sim.state.inject(SMS, delay=0.3, times=3)

    outcomes = sms.send([message(n, phone=phone) for n, phone in enumerate(phones)])

    biz_ids = {r.payload["PhoneNumbers"]: r.response.get("BizId") for r in sms_sends(sms_sim)}
    expected = [
        Outcome.skipped("未登记手机号")
        if phone is None
        else Outcome.failed("isv.MOBILE_NUMBER_ILLEGAL: 非法手机号")
        if phone == "12345"
        else Outcome.sent(biz_ids[phone])
        for phone in phones
    ]
    assert outcomes == expected
    assert len(set(biz_ids.values())) == 11


# -- the registry -------------------------------------------------------------------------------


def test_channels_are_built_once_per_app_and_rebuilt_after_reset(app, app_context):
    wechat, sms = get_channel("wechat"), get_channel("sms")
    assert (wechat.name, sms.name) == ("wechat", "sms")
    assert get_channel("wechat") is wechat
    assert get_channel("sms") is sms
    reset_channels(app)
    assert get_channel("wechat") is not wechat
    with pytest.raises(ValueError, match="unknown channel"):
        get_channel("fax")


def test_the_inbox_channel_comes_from_channels_inbox(app_context):
    inbox = pytest.importorskip("channels.inbox")
    assert isinstance(get_channel("inbox"), inbox.InboxChannel)
