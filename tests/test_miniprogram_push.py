"""The mini-program's message push (`/wechat/miniprogram`) as WeChat calls it: signed pushes over
HTTP, XML or JSON, plain or safe (AES) mode, where a subscribe-message event's `List` is an
object for one template and an array for several. The answers are the mini-program's consents:
the ones its subscribe messages spend, counted once even when the mini-program reports the same
popup itself."""

from __future__ import annotations

import itertools
import json
import time

import pytest
from sqlalchemy import select
from test_miniprogram_session import sign_in

from config.instance_files import new_encoding_aes_key, new_webhook_token
from models import SubscribeConsent, db
from simulators.local import SUBSCRIBE_TEMPLATES
from simulators.push import Pusher, cdata

URL = "/wechat/miniprogram"
ACCOUNT = "gh_weixiu_mini"
WORK_ORDER, ALERT = SUBSCRIBE_TEMPLATES["work_order"], SUBSCRIBE_TEMPLATES["alert"]
POPUP, CHANGE, SENT = "subscribe_msg_popup_event", "subscribe_msg_change_event", "subscribe_msg_sent_event"
ELEMENTS = {POPUP: "SubscribeMsgPopupEvent", CHANGE: "SubscribeMsgChangeEvent", SENT: "SubscribeMsgSentEvent"}
_times = itertools.count(int(time.time()))


def event_body(openid: str, event: str, answers: list[tuple[str, str]], *, json_format: bool, **extra) -> str:
    """The push of one subscribe-message event as WeChat writes it in either format."""
    entries = [
        {"TemplateId": template, "SubscribeStatusString": status, "PopupScene": "0"} for template, status in answers
    ]
    fields = {"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": next(_times), "MsgType": "event"}
    fields |= {"Event": event, **extra}
    if json_format:  # the answers under a top-level List: the object itself when there is one
        return json.dumps(fields | {"List": entries[0] if len(entries) == 1 else entries}, ensure_ascii=False)
    lists = "".join(
        "<List>" + "".join(f"<{name}>{cdata(value)}</{name}>" for name, value in entry.items()) + "</List>"
        for entry in entries
    )
    body = "".join(f"<{name}>{cdata(value)}</{name}>" for name, value in fields.items())
    return f"<xml>{body}<{ELEMENTS[event]}>{lists}</{ELEMENTS[event]}></xml>"


class MiniProgramPush:
    """WeChat's side of the mini-program's 消息推送, with the app's token and key."""

    def __init__(self, client, *, json_format: bool, safe: bool) -> None:
        config = client.application.config
        self.client = client
        self.safe = safe
        self.json_format = json_format
        self.pusher = Pusher(
            config["WECHAT_MINIPROGRAM_TOKEN"],
            config["WECHAT_MINIPROGRAM_ENCODING_AES_KEY"],
            config["WECHAT_MINIPROGRAM_APP_ID"],
            ACCOUNT,
            json_format=json_format,
        )

    def post(self, body: str, *, query: dict | None = None, encrypt: bool | None = None):
        query, wrapped = self.pusher.push(body, query, safe=self.safe if encrypt is None else encrypt)
        content_type = "application/json" if self.json_format else "text/xml"
        return self.client.post(URL, query_string=query, data=wrapped, content_type=content_type)

    def event(self, openid: str, event: str, answers: list[tuple[str, str]]) -> str:
        response = self.post(event_body(openid, event, answers, json_format=self.json_format))
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_data(as_text=True)


def configure_push(configure, *, safe: bool) -> None:
    configure(
        WECHAT_MINIPROGRAM_TOKEN=new_webhook_token(),
        WECHAT_MINIPROGRAM_ENCODING_AES_KEY=new_encoding_aes_key() if safe else None,
    )


@pytest.fixture(params=["xml-plain", "xml-safe", "json-plain", "json-safe"])
def push(request, client, configure) -> MiniProgramPush:
    data_format, mode = request.param.split("-")
    configure_push(configure, safe=mode == "safe")
    return MiniProgramPush(client, json_format=data_format == "json", safe=mode == "safe")


@pytest.fixture
def json_push(client, configure) -> MiniProgramPush:
    configure_push(configure, safe=True)
    return MiniProgramPush(client, json_format=True, safe=True)


def consents(app) -> dict[tuple[str, str, str], tuple[str, int]]:
    with app.app_context():
        rows = {
            (c.app.value, c.openid, c.template_id): (c.status.value, c.remaining)
            for c in db.session.scalars(select(SubscribeConsent))
        }
        db.session.remove()
    return rows


def test_popup_answers_are_the_mini_programs_consents(app, push):
    assert push.event("mp-nurse", POPUP, [(WORK_ORDER, "accept")]) == "success"  # List: one object
    assert consents(app) == {("miniprogram", "mp-nurse", WORK_ORDER): ("accept", 1)}
    assert push.event("mp-nurse", POPUP, [(WORK_ORDER, "accept"), (ALERT, "reject")]) == "success"  # an array
    assert consents(app) == {
        ("miniprogram", "mp-nurse", WORK_ORDER): ("accept", 2),
        ("miniprogram", "mp-nurse", ALERT): ("reject", 0),
    }
    # Switched off in the mini-program's settings: nothing is left to send.
    assert push.event("mp-nurse", CHANGE, [(WORK_ORDER, "reject")]) == "success"
    assert consents(app)[("miniprogram", "mp-nurse", WORK_ORDER)] == ("reject", 0)
    assert push.event("mp-nurse", SENT, [(WORK_ORDER, "accept")]) == "success"  # logged only
    assert len(consents(app)) == 2


def test_the_url_check_and_signatures(app, client, push):
    good = client.get(URL, query_string=push.pusher.query() | {"echostr": "echo-mini"})
    assert good.status_code == 200 and good.get_data(as_text=True) == "echo-mini"
    assert client.get(URL, query_string=push.pusher.query() | {"signature": "0" * 40}).status_code == 403
    body = event_body("mp-nurse", POPUP, [(WORK_ORDER, "accept")], json_format=push.json_format)
    forged = push.post(body, query=push.pusher.query() | {"signature": "f" * 40})
    assert forged.status_code == 403
    # Signed with the official account's token: another app's push is not this one's.
    official = Pusher(app.config["WECHAT_OFFICIAL_TOKEN"], None, "wx", ACCOUNT).query()
    assert push.post(body, query=official).status_code == 403
    assert consents(app) == {}


def test_without_a_token_the_push_is_off(client, configure):
    configure(WECHAT_MINIPROGRAM_TOKEN=None)
    assert client.get(URL, query_string={"echostr": "x"}).status_code == 404


def test_an_app_with_a_key_takes_safe_mode_only(app, configure, client):
    configure_push(configure, safe=True)
    push = MiniProgramPush(client, json_format=True, safe=True)
    response = push.post(event_body("mp-nurse", POPUP, [(WORK_ORDER, "accept")], json_format=True), encrypt=False)
    assert response.status_code == 403
    assert consents(app) == {}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('["not", "an", "object"]', 400),
        ("[" * 40_000 + "]" * 40_000, 413),
        ("[" * 30_000 + "]" * 30_000, 400),  # nested past the parser's recursion limit
        ('{"FromUserName": "mp-nurse"', 400),
        ('<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><FromUserName>&x;</FromUserName></xml>', 400),
        ('{"MsgType": "event", "Event": "subscribe_msg_popup_event"}', 400),  # no sender
    ],
    ids=["array", "oversized", "deep", "truncated", "xxe", "no-sender"],
)
def test_broken_and_hostile_bodies_are_refused(app, client, configure, body, status):
    configure_push(configure, safe=False)
    response = MiniProgramPush(client, json_format=True, safe=False).post(body)
    assert response.status_code == status, response.get_data(as_text=True)
    assert consents(app) == {}


def test_a_safe_mode_envelope_without_a_message_is_refused(app, json_push):
    query = json_push.pusher.query() | {"encrypt_type": "aes", "msg_signature": "0" * 40}
    for envelope in ('{"ToUserName": "gh", "Encrypt": ["x"]}', '{"ToUserName": "gh"}'):
        assert json_push.client.post(URL, query_string=query, data=envelope).status_code == 400
    assert consents(app) == {}


def test_lone_surrogates_anywhere_in_a_json_push_are_not_a_500(app, json_push):
    body = event_body("mp-nurse", POPUP, [(WORK_ORDER, "accept")], json_format=True)
    hostile = body.replace('"PopupScene": "0"', '"PopupScene": "\\ud800"').replace(
        '"MsgType"', '"Extra": "\\udfff", "MsgType"'
    )
    assert "\\ud800" in hostile and "\\udfff" in hostile
    response = json_push.post(hostile)
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert consents(app) == {("miniprogram", "mp-nurse", WORK_ORDER): ("accept", 1)}


def test_a_retried_push_counts_once(app, json_push):
    body = event_body("mp-nurse", POPUP, [(WORK_ORDER, "accept")], json_format=True)
    assert json_push.post(body).get_data(as_text=True) == "success"
    assert json_push.post(body).get_data(as_text=True) == "success"  # WeChat's retry: the same event
    assert consents(app) == {("miniprogram", "mp-nurse", WORK_ORDER): ("accept", 1)}


def test_answers_outside_subscribe_messages_are_acknowledged(app, json_push):
    text = {"ToUserName": ACCOUNT, "FromUserName": "mp-nurse", "CreateTime": 1, "MsgType": "text", "MsgId": 7}
    assert json_push.post(json.dumps(text | {"Content": "你好"})).get_data(as_text=True) == "success"
    odd = event_body("mp-nurse", POPUP, [("x" * 65, "accept"), (WORK_ORDER, "maybe")], json_format=True)
    assert json_push.post(odd).get_data(as_text=True) == "success"
    assert consents(app) == {}


def test_a_popup_the_mini_program_also_reports_counts_once(app, client, wechat_sim, json_push):
    """wx.requestSubscribeMessage's result reaches us twice: the mini-program reports it, and
    WeChat pushes it. With the push configured, WeChat's push is the count; the report records
    the answer at once."""
    phone = sign_in(client, wechat_sim, "mp-nurse")
    reported = phone.post("/subscriptions", json={"results": {WORK_ORDER: "accept"}})
    assert reported.status_code == 200
    assert consents(app) == {("miniprogram", "mp-nurse", WORK_ORDER): ("accept", 0)}
    json_push.event("mp-nurse", POPUP, [(WORK_ORDER, "accept")])
    listed = {item["purpose"]: item for item in phone.get("/subscriptions").get_json()["items"]}
    assert (listed["work_order"]["status"], listed["work_order"]["remaining"]) == ("accept", 1)
    # Reported again (a client repeating itself) adds nothing either.
    phone.post("/subscriptions", json={"results": {WORK_ORDER: "accept"}})
    assert consents(app) == {("miniprogram", "mp-nurse", WORK_ORDER): ("accept", 1)}
