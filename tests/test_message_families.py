"""Message families: alerts and work orders each go out with their own WeChat template, SMS
template and mini-program page, over real HTTP against the session's simulators.

A family is its topic's part before the first dot; a family whose template is not configured is
skipped with a reason naming it, and the other messages of the batch still go out.
"""

from __future__ import annotations

from types import SimpleNamespace

from channels.base import Outcome, OutcomeKind, OutgoingMessage, ProviderTemplate, family_of
from channels.registry import get_channel
from channels.wechat import WeChatChannel, WeChatSettings, field_limit
from jobs.outbox import _outgoing
from operations.outbox import Claimed
from simulators import wechat as wx_api

SMS = "SendSms"
WORK_ORDER_VALUES = {
    "number": "GD000123",
    "device": "高压注射器(000027)",
    "status": "待接单",
    "time": "2026-11-22 10:05",
    "detail": "故障：无法开机",
}
ALERT_VALUES = {"subject": "高压注射器 CT-01", "kind": "保修到期", "due_on": "2025-06-01", "status": "即将到期"}


def work_order_message(number: int = 1, **fields) -> OutgoingMessage:
    defaults = {
        "delivery_id": number,
        "idempotency_key": f"work_order:12:created:user:{number}:wechat",
        "recipient_id": number,
        "topic": "work_order.created",
        "title": "新工单 GD000123",
        "body": "高压注射器(000027) 故障：无法开机",
        "values": dict(WORK_ORDER_VALUES),
        "page": "pages/work-orders/detail?id=12",
        "phone": "13800138000",
        "wechat_openid": f"o-user-{number}",
        "work_order_id": 12,
    }
    return OutgoingMessage(**{**defaults, **fields})


def alert_message(number: int = 1, **fields) -> OutgoingMessage:
    defaults = {
        "delivery_id": number,
        "idempotency_key": f"alert:7:user:{number}:2025-06-01",
        "recipient_id": number,
        "topic": "alert.reminder",
        "title": "设备即将到期",
        "body": "高压注射器 CT-01 的保修将于 2025-06-01 到期",
        "values": dict(ALERT_VALUES),
        "page": "pages/alerts/detail?id=7",
        "phone": "13800138000",
        "wechat_openid": f"o-user-{number}",
        "alert_plan_id": 7,
    }
    return OutgoingMessage(**{**defaults, **fields})


def template_sends(wechat_sim) -> list[dict]:
    return [record.payload["body"] for record in wechat_sim.state.records(wx_api.TEMPLATE_SEND)]


def sms_sends(sms_sim) -> list[dict]:
    return [record.payload for record in sms_sim.state.records(SMS)]


def test_a_family_is_the_topic_before_its_first_dot():
    assert family_of("work_order.escalated") == "work_order"
    assert family_of("alert.reminder") == "alert"
    assert family_of("survey") == "survey"


# -- WeChat ---------------------------------------------------------------------------------------


def test_a_work_order_message_uses_the_work_order_template_fields_and_page(app_context, wechat_sim):
    (outcome,) = get_channel("wechat").send([work_order_message()])

    (body,) = template_sends(wechat_sim)
    assert outcome.kind == OutcomeKind.SENT
    assert body == {
        "touser": "o-user-1",
        "template_id": "sim-work-order-template",
        "data": {
            "character_string1": {"value": "GD000123"},
            "thing2": {"value": "高压注射器(000027)"},
            "phrase3": {"value": "待接单"},
            "time4": {"value": "2026-11-22 10:05"},
            "thing5": {"value": "故障：无法开机"},
        },
        "client_msg_id": "work_order:12:created:user:1:wechat",
        "miniprogram": {"appid": "wx-sim-miniprogram", "pagepath": "pages/work-orders/detail?id=12"},
    }


def test_alert_and_work_order_messages_of_one_batch_each_use_their_own_template(app_context, wechat_sim):
    outcomes = get_channel("wechat").send([alert_message(1), work_order_message(2)])

    assert {outcome.kind for outcome in outcomes} == {OutcomeKind.SENT}
    by_person = {body["touser"]: body for body in template_sends(wechat_sim)}
    alert, work_order = by_person["o-user-1"], by_person["o-user-2"]
    assert alert["template_id"] == "sim-alert-template"
    assert set(alert["data"]) == {"thing1", "thing2", "time3", "thing4"}
    assert alert["miniprogram"]["pagepath"] == "pages/alerts/detail?id=7"
    assert work_order["template_id"] == "sim-work-order-template"
    assert work_order["miniprogram"]["pagepath"] == "pages/work-orders/detail?id=12"


def test_a_family_without_a_wechat_template_is_skipped_and_the_batch_goes_on(configure, app_context, wechat_sim):
    configure(WECHAT_WORK_ORDER_TEMPLATE_ID=None)
    batch = [alert_message(1), work_order_message(2), alert_message(3), work_order_message(4, wechat_openid=None)]

    outcomes = get_channel("wechat").send(batch)

    skipped = Outcome.skipped("未配置微信模板（工单）")
    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT, OutcomeKind.SKIPPED] * 2
    assert outcomes[1] == outcomes[3] == skipped  # the template's absence first: it is what to fix
    assert sorted(body["touser"] for body in template_sends(wechat_sim)) == ["o-user-1", "o-user-3"]


def test_an_unknown_family_is_skipped_with_its_own_name(app_context, wechat_sim, sms_sim):
    survey = alert_message(topic="survey.sent")
    assert get_channel("wechat").send([survey]) == [Outcome.skipped("未配置微信模板（survey）")]
    assert get_channel("sms").send([survey]) == [Outcome.skipped("未配置短信模板（survey）")]
    assert wechat_sim.state.records() == [] and sms_sends(sms_sim) == []


def test_phrase_fields_take_5_characters_and_character_strings_32():
    assert [field_limit(name) for name in ("phrase3", "character_string1", "thing2", "time4")] == [5, 32, 20, 20]
    template = ProviderTemplate("t", {"phrase3": "status", "character_string1": "number", "thing2": "device"})
    values = {"status": "已超时未接单", "number": "GD" + "0" * 40, "device": "设" * 30}
    offline = WeChatChannel(WeChatSettings("http://127.0.0.1:1", None, None, None))  # not configured: no client

    data = offline.template_message(work_order_message(values=values), template)["data"]

    assert data == {
        "phrase3": {"value": "已超时未…"},
        "character_string1": {"value": "GD" + "0" * 29 + "…"},
        "thing2": {"value": "设" * 19 + "…"},
    }


def test_the_wechat_channel_without_any_template_is_usable_and_skips_by_family(configure, app_context, wechat_sim):
    configure(WECHAT_ALERT_TEMPLATE_ID=None, WECHAT_WORK_ORDER_TEMPLATE_ID=None)
    outcomes = get_channel("wechat").send([alert_message(1), work_order_message(2)])
    assert outcomes == [Outcome.skipped("未配置微信模板（预警）"), Outcome.skipped("未配置微信模板（工单）")]
    assert wechat_sim.state.records() == []


# -- SMS ------------------------------------------------------------------------------------------


def test_sms_picks_the_template_code_and_params_by_family(app_context, sms_sim):
    outcomes = get_channel("sms").send(
        [alert_message(1, phone="13800000001"), work_order_message(2, phone="13800000002")]
    )

    assert {outcome.kind for outcome in outcomes} == {OutcomeKind.SENT}
    by_phone = {payload["PhoneNumbers"]: payload for payload in sms_sends(sms_sim)}
    alert, work_order = by_phone["13800000001"], by_phone["13800000002"]
    assert alert["TemplateCode"] == "SMS_SIM_ALERT"
    assert alert["TemplateParam"] == {
        "name": "高压注射器 CT-01",
        "kind": "保修到期",
        "date": "2025-06-01",
        "status": "即将到期",
    }
    assert work_order["TemplateCode"] == "SMS_SIM_WORK_ORDER"
    assert work_order["TemplateParam"] == {
        "number": "GD000123",
        "device": "高压注射器(000027)",
        "status": "待接单",
        "detail": "故障：无法开机",
    }
    assert work_order["OutId"] == "work_order:12:created:user:2:wechat"


def test_a_family_without_an_sms_template_is_skipped_and_the_batch_goes_on(configure, app_context, sms_sim):
    configure(SMS_ALERT_TEMPLATE_CODE=None)
    outcomes = get_channel("sms").send([alert_message(1), work_order_message(2), alert_message(3, phone=None)])

    assert outcomes[0] == outcomes[2] == Outcome.skipped("未配置短信模板（预警）")
    assert outcomes[1].kind == OutcomeKind.SENT
    assert [payload["TemplateCode"] for payload in sms_sends(sms_sim)] == ["SMS_SIM_WORK_ORDER"]


def test_sms_without_an_access_key_is_still_not_configured_at_all(configure, app_context, sms_sim):
    configure(SMS_ACCESS_KEY_ID=None, SMS_ACCESS_KEY_SECRET=None)
    outcomes = get_channel("sms").send([alert_message(1), work_order_message(2)])
    assert outcomes == [Outcome.skipped("短信通道未配置")] * 2


# -- the send job: which page a message opens --------------------------------------------------------


def claimed(delivery_id: int, channel: str, **message) -> Claimed:
    """A claimed delivery as `operations.outbox.claim` returns it (its message a plain row)."""
    row = {"id": 1, "key": f"m{delivery_id}", "topic": "alert.reminder", "title": "标题", "body": "正文"}
    row |= {"payload": {"values": {}}, "alert_plan_id": None, "work_order_id": None}
    return Claimed(delivery_id, 99, channel, 1, SimpleNamespace(**(row | message)))


def test_the_send_job_opens_the_work_order_or_the_alert_plan_page(app_context):
    outgoing = _outgoing(
        [
            claimed(1, "wechat", topic="work_order.accepted", work_order_id=12, payload={"values": WORK_ORDER_VALUES}),
            claimed(2, "wechat", alert_plan_id=7),
            claimed(3, "inbox", topic="work_order.created", work_order_id=13),
            claimed(4, "wechat"),
        ]
    )

    assert outgoing[1].page == "pages/work-orders/detail?id=12"
    assert outgoing[1].work_order_id == 12 and outgoing[1].values == WORK_ORDER_VALUES
    assert outgoing[1].family == "work_order"
    assert outgoing[2].page == "pages/alerts/detail?id=7"
    assert (outgoing[2].alert_plan_id, outgoing[2].work_order_id) == (7, None)
    assert outgoing[3].work_order_id == 13  # the inbox channel hands it on to the inbox message
    assert outgoing[4].page is None  # nothing to open: the message goes out without a jump
