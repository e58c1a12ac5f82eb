"""The official account's webhook as WeChat calls it: signed XML over HTTP, in plain and safe (AES)
mode — the URL check, binding by a parametric QR, unfollowing, duplicates, hostile and broken
bodies, subscribe-message consents, and the menu command."""

from __future__ import annotations

import time
from datetime import date

import pytest
import xmltodict
from sqlalchemy import func, select

from bot import commands
from config.instance_files import new_encoding_aes_key
from jobs.runtime import make_worker
from models import BindCode, Role, SubscribeConsent, User, db
from operations.actors import Actor
from operations.clock import frozen, now_utc
from operations.wechat_accounts import issue_bind_code
from simulators.push import Pusher, cdata, signature
from webhooks.security import MAX_BODY_BYTES, MAX_FIELD_CHARS

URL = "/wechat/official"
ACCOUNT = "gh_weixiu_sim"
ANSWER_WITHIN_SECONDS = 3


def message_xml(openid: str, msg_type: str, extra: str = "", *, create_time: int | None = None, **fields) -> str:
    body = "".join(f"<{name}>{cdata(value)}</{name}>" for name, value in fields.items())
    return (
        f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
        f"<MsgType>{cdata(msg_type)}</MsgType>{body}{extra}</xml>"
    )


class OfficialAccount:
    """WeChat's side of the webhook: signs (and in safe mode encrypts) what a follower does, and
    reads the passive reply."""

    def __init__(self, client, *, safe: bool = False, aes_key: str | None = None) -> None:
        self.client = client
        self.safe = safe
        config = client.application.config  # the 服务器配置 WeChat holds: the app's token and key
        self.pusher = Pusher(
            config["WECHAT_OFFICIAL_TOKEN"],
            aes_key or config["WECHAT_OFFICIAL_ENCODING_AES_KEY"],
            config["WECHAT_OFFICIAL_APP_ID"],
            ACCOUNT,
        )
        self.msg_ids = iter(range(10**15, 10**16))
        # The same event again is WeChat's retry: a test's quick succession of events from one
        # person gets distinct CreateTimes (seconds), as real taps would.
        self.times = iter(range(int(time.time()), 2**32))

    def query(self, timestamp: str | None = None, **overrides) -> dict[str, str]:
        return self.pusher.query(timestamp or str(int(now_utc().timestamp()))) | overrides

    def post(self, xml: str | bytes, *, query: dict | None = None, encrypt_inner: bool = True):
        query, body = self.pusher.push(xml, query or self.query(), safe=self.safe and encrypt_inner)
        started = time.monotonic()
        response = self.client.post(URL, query_string=query, data=body, content_type="text/xml")
        # WeChat waits 5 s, then retries: every answer here comes well within that.
        assert time.monotonic() - started < ANSWER_WITHIN_SECONDS
        return response

    def reply_of(self, response) -> str:
        """The reply's text, or "success" (no reply)."""
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_data(as_text=True)
        if body == "success":
            return body
        reply = xmltodict.parse(self.pusher.opened(body))["xml"]
        assert reply["MsgType"] == "text" and reply["FromUserName"] == ACCOUNT
        return reply["Content"]

    def text(self, openid: str, content: str, msg_id: int | None = None) -> str:
        msg_id = msg_id or next(self.msg_ids)
        return self.reply_of(self.post(message_xml(openid, "text", Content=content, MsgId=msg_id)))

    def event(self, openid: str, event: str, extra: str = "", **fields) -> str:
        xml = message_xml(openid, "event", extra, create_time=next(self.times), Event=event, **fields)
        return self.reply_of(self.post(xml))


@pytest.fixture(params=["plain", "safe"])
def wechat(request, client, configure) -> OfficialAccount:
    if request.param == "plain":  # an account without an EncodingAESKey: 明文模式
        configure(WECHAT_OFFICIAL_ENCODING_AES_KEY=None)
    return OfficialAccount(client, safe=request.param == "safe")


@pytest.fixture
def plain(client, configure) -> OfficialAccount:
    configure(WECHAT_OFFICIAL_ENCODING_AES_KEY=None)
    return OfficialAccount(client)


@pytest.fixture
def people(app, factory):
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    return {
        "institution": institution,
        "vendor": vendor,
        "manager": factory.manager(institution),
        "clinician": factory.user(Role.CLINICIAN, institution=institution, display_name="王护士"),
        "li": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="李工", phone="13800000003"),
    }


def bind_code_for(app, user) -> str:
    with app.app_context():
        code, _ = issue_bind_code(Actor.of(db.session.get(User, user.id)), user.id, now_utc(), reconfirmed=True)
        db.session.commit()
    return code


def user_row(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
    return user


# --- the URL check and signatures --------------------------------------------------------------


def test_the_url_check_echoes_only_for_a_valid_signature(client, plain):
    good = client.get(URL, query_string=plain.query(echostr="echo-123"))
    assert good.status_code == 200 and good.get_data(as_text=True) == "echo-123"
    wrong = plain.query(echostr="echo-123") | {"signature": "0" * 40}
    assert client.get(URL, query_string=wrong).status_code == 403
    assert client.get(URL, query_string={"echostr": "x"}).status_code == 403
    stale = plain.query(timestamp=str(int(now_utc().timestamp()) - 3600), echostr="x")
    assert client.get(URL, query_string=stale).status_code == 403


def test_posts_with_a_wrong_or_missing_signature_are_refused(app, client, plain, people):
    code = bind_code_for(app, people["li"])
    xml = message_xml("openid-li", "event", Event="subscribe", EventKey=f"qrscene_bind:{code}")
    assert plain.post(xml, query=plain.query() | {"signature": "f" * 40}).status_code == 403
    assert client.post(URL, data=xml, content_type="text/xml").status_code == 403
    replayed = plain.query(timestamp=str(int(now_utc().timestamp()) - 600))
    assert plain.post(xml, query=replayed).status_code == 403
    safe = OfficialAccount(client, safe=True, aes_key=new_encoding_aes_key())
    query = safe.query()
    wrapped = xmltodict.parse(safe.pusher.crypto().encrypt_message(xml, query["nonce"], query["timestamp"]))["xml"]
    body = f"<xml><Encrypt>{cdata(wrapped['Encrypt'])}</Encrypt></xml>"
    bad_msg_signature = query | {"encrypt_type": "aes", "msg_signature": "0" * 40}
    assert client.post(URL, query_string=bad_msg_signature, data=body).status_code == 403
    assert client.post(URL, query_string=query | {"encrypt_type": "aes"}, data=body).status_code == 403
    assert user_row(app, people["li"].id).wechat_openid is None


# --- binding by the parametric QR --------------------------------------------------------------


def test_following_by_the_bind_qr_binds_the_account_once(app, wechat, people):
    code = bind_code_for(app, people["li"])
    reply = wechat.event("openid-li", "subscribe", EventKey=f"qrscene_bind:{code}", Ticket="gQ-ticket")
    assert "绑定成功" in reply and "李工" in reply and "服务商工程师" in reply
    li = user_row(app, people["li"].id)
    assert li.wechat_openid == "openid-li" and li.wechat_following is True
    with app.app_context():
        assert db.session.scalar(select(BindCode.used_via)).value == "official_account"

    # The same code again (someone else scanning the same QR while following): refused.
    again = wechat.event("openid-other", "SCAN", EventKey=f"bind:{code}", Ticket="gQ-ticket")
    assert "绑定失败" in again
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(User.wechat_openid == "openid-other")) == 0


def test_a_follower_scanning_a_bind_qr_is_bound(app, wechat, people):
    assert "欢迎关注" in wechat.event("openid-li", "subscribe")
    assert "尚未绑定" in wechat.text("openid-li", "我的工单")
    code = bind_code_for(app, people["li"])
    assert "绑定成功" in wechat.event("openid-li", "SCAN", EventKey=f"bind:{code}")
    assert user_row(app, people["li"].id).wechat_openid == "openid-li"
    assert "没有待处理" in wechat.text("openid-li", "我的工单")


def test_a_garbled_bind_scene_is_a_clear_failure(app, plain, people):
    assert "绑定失败" in plain.event("openid-x", "subscribe", EventKey="qrscene_bind:not-a-code")
    assert "欢迎关注" in plain.event("openid-y", "subscribe", EventKey="qrscene_other:123")


# --- unfollowing: the next notice goes by SMS ----------------------------------------------------


def test_after_unfollowing_a_new_order_reaches_the_engineer_by_sms(
    app, factory, client, plain, people, sms_sim, wechat_sim
):
    li = people["li"]
    code = bind_code_for(app, li)
    plain.event("openid-li", "subscribe", EventKey=f"qrscene_bind:{code}")
    assert plain.event("openid-li", "unsubscribe") == "success"
    assert user_row(app, li.id).wechat_following is False

    device = factory.device(people["institution"], name="高压注射器")
    factory.authorization(device, people["vendor"], starts_on=date(2020, 1, 1), ends_on=date(2099, 12, 31))
    nurse = factory.api(client, people["clinician"])
    response = nurse.post(
        "/api/v1/work-orders",
        json={
            "device_id": device.id,
            "kind": "repair",
            "contact_name": "王护士",
            "contact_methods": [{"kind": "mobile", "value": "13800000002"}, {"kind": "landline", "value": "8021"}],
            "fault_description": "开机报错",
        },
    )
    assert response.status_code == 201, response.get_json()
    with frozen(now_utc()):
        make_worker(app, simple=True).work(burst=True)
    sms = [r.payload for r in sms_sim.state.records("SendSms") if r.payload.get("PhoneNumbers") == "13800000003"]
    assert len(sms) == 1 and sms[0]["TemplateCode"] == "SMS_SIM_WORK_ORDER"
    template_sends = wechat_sim.state.records("/cgi-bin/message/template/send")
    assert not [r for r in template_sends if r.payload["body"].get("touser") == "openid-li"]

    # Following again makes WeChat reach them again; the binding stayed.
    assert "欢迎回来，李工" in plain.event("openid-li", "subscribe")
    assert user_row(app, li.id).wechat_following is True


# --- duplicates ---------------------------------------------------------------------------------


def test_a_retried_step_runs_once(app, factory, plain, people, monkeypatch):
    """A retried step runs once: the retry is answered `success`."""
    factory.user(Role.VENDOR_ENGINEER, vendor=people["vendor"], wechat_openid="openid-li2")
    calls = []
    original = commands.answer_text

    def counting(openid, text):
        calls.append(text)
        return original(openid, text)

    monkeypatch.setattr(commands, "answer_text", counting)
    first = plain.text("openid-li2", "接单 GD000001", msg_id=1234567890123455)
    second = plain.text("openid-li2", "接单 GD000001", msg_id=1234567890123455)
    assert "不存在" in first and second == "success" and calls == ["接单 GD000001"]


def test_a_retried_list_is_answered_the_list_each_time(factory, wechat, people):
    """A list changes nothing, and WeChat shows the answer to its last try of a push it had no
    answer to within 5 s: each try is answered the list (`success` would show nothing)."""
    factory.user(Role.VENDOR_ENGINEER, vendor=people["vendor"], wechat_openid="openid-li6")
    tries = [wechat.text("openid-li6", "我的工单", msg_id=1234567890123456) for _ in range(3)]
    assert all("没有待处理" in reply for reply in tries), tries


def test_a_list_replayed_on_its_url_reads_nothing_in_plain_mode(factory, wechat, people, monkeypatch):
    """Plain mode: the URL's signature does not cover the body, so a URL seen once must not read
    again; its check goes to Redis with the reads and a replay's reply is dropped. Safe mode:
    msg_signature covers the body, so the same URL carries the same message, whose list is
    encrypted for WeChat alone: it takes no round trip to Redis."""
    from redis import ConnectionPool

    factory.user(Role.VENDOR_ENGINEER, vendor=people["vendor"], wechat_openid="openid-li7")
    taken = []
    real_get = ConnectionPool.get_connection

    def get_connection(pool, *args, **kwargs):
        taken.append(pool)
        return real_get(pool, *args, **kwargs)

    monkeypatch.setattr(ConnectionPool, "get_connection", get_connection)
    query = wechat.query()
    xml = message_xml("openid-li7", "text", Content="我的工单", MsgId=next(wechat.msg_ids))
    first = wechat.reply_of(wechat.post(xml, query=query))
    again = wechat.reply_of(wechat.post(xml, query=query))
    assert "没有待处理" in first
    if wechat.safe:
        assert again == first and taken == []
    else:
        assert again == "success" and len(taken) == 2


def test_a_retried_event_is_taken_once(app, plain, people):
    code = bind_code_for(app, people["li"])
    xml = message_xml("openid-li", "event", Event="subscribe", EventKey=f"qrscene_bind:{code}")
    assert "绑定成功" in plain.reply_of(plain.post(xml))
    assert plain.reply_of(plain.post(xml)) == "success"  # not "绑定失败": the retry is dropped


# --- hostile and broken bodies ------------------------------------------------------------------

XXE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[openid-li]]></FromUserName>
<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]><xml><FromUserName>&lol9;</FromUserName></xml>"
)


@pytest.mark.parametrize("body", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_declarations_are_refused_before_parsing(app, wechat, people, body):
    code = bind_code_for(app, people["li"])
    hostile = body.replace("<MsgId>1</MsgId>", f"<Event>subscribe</Event><EventKey>qrscene_bind:{code}</EventKey>")
    assert wechat.post(hostile).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(BindCode.used_at)) is None


def test_broken_and_oversized_bodies_are_refused(client, wechat):
    assert wechat.post(b"<xml><FromUserName>open").status_code == 400
    assert wechat.post("not xml at all").status_code == 400
    garbled = b"<xml><Content>\xff\xfe</Content></xml>"
    # In safe mode a body must come under msg_signature: an unwrapped one is refused before parsing.
    assert wechat.post(garbled, encrypt_inner=False).status_code == (403 if wechat.safe else 400)
    assert wechat.post("<xml><MsgType>text</MsgType></xml>").status_code == 400  # no sender
    big = message_xml("openid-li", "text", Content="修" * 30000, MsgId=1)
    assert wechat.post(big).status_code == 413


def test_a_signed_url_carries_one_body_only(app, client, plain, people, factory):
    factory.user(Role.VENDOR_ENGINEER, vendor=people["vendor"], wechat_openid="openid-li3")
    code = bind_code_for(app, people["li"])
    query = plain.query()
    first = plain.post(message_xml("openid-li3", "text", Content="帮助", MsgId=1), query=query)
    assert "可用指令" in plain.reply_of(first)
    # The same URL again with another body (a replay from a log): taken as already answered,
    # whether it lists (read, and the reply dropped) or would change something (not run).
    replay = plain.post(message_xml("openid-li3", "text", Content="我的工单", MsgId=2), query=query)
    assert plain.reply_of(replay) == "success"
    bind = message_xml("openid-new", "event", Event="subscribe", EventKey=f"qrscene_bind:{code}")
    assert plain.reply_of(plain.post(bind, query=query)) == "success"
    assert user_row(app, people["li"].id).wechat_openid is None


def test_an_account_in_safe_mode_refuses_plain_bodies(client, people):
    account = OfficialAccount(client)  # the app's config has the EncodingAESKey
    response = account.post(message_xml("openid-x", "text", Content="帮助", MsgId=3))
    assert response.status_code == 403


def test_a_safe_mode_body_that_does_not_decrypt_is_refused(client, plain):
    query = plain.query()
    encrypted = "bm90IGVuY3J5cHRlZCBhdCBhbGw="
    signed = query | {
        "encrypt_type": "aes",
        "msg_signature": signature(plain.pusher.token, query["timestamp"], query["nonce"], encrypted),
    }
    response = client.post(URL, query_string=signed, data=f"<xml><Encrypt>{encrypted}</Encrypt></xml>")
    assert response.status_code == 400


def test_a_long_message_in_safe_mode_is_verified_whole_and_clipped_after(client, wechat, monkeypatch):
    """A message whose Encrypt runs past the 8,192 characters a field is clipped to, in a body
    just under the 64 KB limit: msg_signature is checked over the whole Encrypt, and only the
    decrypted message's fields are clipped."""
    heard = []
    original = commands.answer_text
    monkeypatch.setattr(commands, "answer_text", lambda openid, text: heard.append(text) or original(openid, text))
    length = 22000
    while True:  # the longest Content whose body still fits
        query = wechat.query()
        xml = message_xml("openid-long", "text", Content="修" * length, MsgId=next(wechat.msg_ids))
        _, body = wechat.pusher.push(xml, query, safe=wechat.safe)
        if len(body.encode()) <= MAX_BODY_BYTES:
            break
        length -= 100
    assert len(body.encode()) > MAX_BODY_BYTES - 400
    if wechat.safe:
        assert len(xmltodict.parse(body)["xml"]["Encrypt"]) > MAX_FIELD_CHARS
    assert "可用指令" in wechat.reply_of(wechat.post(xml, query=query))
    assert heard == ["修" * MAX_FIELD_CHARS]


def test_control_characters_and_emoji_get_an_answer(app, wechat, factory, people):
    factory.user(Role.VENDOR_ENGINEER, vendor=people["vendor"], wechat_openid="openid-li2")
    assert "可用指令" in wechat.text("openid-li2", "\x01\x02😀\x7f")
    assert "可用指令" in wechat.text("openid-li2", "你好&#x1;&#31;👍")
    assert "没有待处理" in wechat.text("openid-li2", "我的\u200b工单\x08")
    assert "可用指令" in wechat.text("openid-li2", "]]><xml>")


def test_unknown_messages_and_events_are_answered_calmly(wechat):
    assert wechat.event("openid-x", "some_future_event") == "success"
    assert wechat.event("openid-x", "VIEW", EventKey="https://example.invalid") == "success"
    image = message_xml("openid-x", "image", PicUrl="http://example.invalid/a.jpg", MediaId="m", MsgId=7)
    assert "可用指令" in wechat.reply_of(wechat.post(image))
    no_type = f"<xml><FromUserName>o</FromUserName><ToUserName>{ACCOUNT}</ToUserName></xml>"
    assert "可用指令" in wechat.reply_of(wechat.post(no_type))


def test_a_failure_inside_is_answered_success_not_500(app, plain, monkeypatch):
    def broken(openid, text):
        raise RuntimeError("database fell over")

    monkeypatch.setattr(commands, "answer_text", broken)
    assert plain.text("openid-x", "我的工单") == "success"


# --- subscribe-message consents -----------------------------------------------------------------


def popup(items: list[tuple[str, str]], element: str = "SubscribeMsgPopupEvent") -> str:
    lists = "".join(
        f"<List><TemplateId>{cdata(t)}</TemplateId><SubscribeStatusString>{cdata(s)}</SubscribeStatusString>"
        "<PopupScene>2</PopupScene></List>"
        for t, s in items
    )
    return f"<{element}>{lists}</{element}>"


# The official account's own subscription-notice templates (服务号订阅通知, sent with bizsend).
NOTICE, OTHER_NOTICE = "oa-notice-work-order", "oa-notice-alert"


def official_consents(app) -> dict[tuple[str, str], tuple[str, str, int]]:
    with app.app_context():
        return {
            (c.openid, c.template_id): (c.app.value, c.status.value, c.remaining)
            for c in db.session.scalars(select(SubscribeConsent))
        }


def test_subscribe_message_answers_are_recorded_as_the_official_accounts(app, wechat):
    extra = popup([(NOTICE, "accept"), (OTHER_NOTICE, "reject")])
    assert wechat.event("openid-nurse", "subscribe_msg_popup_event", extra) == "success"
    assert official_consents(app) == {
        ("openid-nurse", NOTICE): ("official_account", "accept", 1),
        ("openid-nurse", OTHER_NOTICE): ("official_account", "reject", 0),
    }

    change = popup([(NOTICE, "reject")], "SubscribeMsgChangeEvent")
    assert wechat.event("openid-nurse", "subscribe_msg_change_event", change) == "success"
    sent = (
        "<SubscribeMsgSentEvent><List><TemplateId>t</TemplateId><MsgID>1</MsgID><ErrorCode>0</ErrorCode>"
        "</List></SubscribeMsgSentEvent>"
    )
    assert wechat.event("openid-nurse", "subscribe_msg_sent_event", sent) == "success"
    assert official_consents(app) == {
        ("openid-nurse", NOTICE): ("official_account", "reject", 0),
        ("openid-nurse", OTHER_NOTICE): ("official_account", "reject", 0),
    }


def test_two_popup_answers_from_one_person_in_one_second_are_both_recorded(app, wechat):
    moment = next(wechat.times)

    def answered(template: str) -> str:
        extra = popup([(template, "accept")])
        return message_xml("openid-nurse", "event", extra, create_time=moment, Event="subscribe_msg_popup_event")

    assert wechat.reply_of(wechat.post(answered(NOTICE))) == "success"
    assert wechat.reply_of(wechat.post(answered(OTHER_NOTICE))) == "success"
    # WeChat's retry of the second (the same message again) is still taken once.
    assert wechat.reply_of(wechat.post(answered(OTHER_NOTICE))) == "success"
    assert official_consents(app) == {
        ("openid-nurse", NOTICE): ("official_account", "accept", 1),
        ("openid-nurse", OTHER_NOTICE): ("official_account", "accept", 1),
    }


# --- the menu -----------------------------------------------------------------------------------


def test_the_menu_is_shown_and_set_through_the_wechat_api(app, wechat_sim):
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["menu", "show"])
    assert shown.exit_code == 0 and '"key": "MY_ORDERS"' in shown.output and '"type": "miniprogram"' in shown.output
    result = runner.invoke(args=["menu", "set"])
    assert result.exit_code == 0, result.output
    menu = wechat_sim.state.current_menu()
    top = [button["name"] for button in menu["button"]]
    assert top == ["我的工单", "我的预警", "更多"]
    more = menu["button"][2]["sub_button"]
    assert more[0]["type"] == "miniprogram" and more[0]["appid"] == "wx-sim-miniprogram"
    assert more[1] == {"type": "click", "name": "帮助", "key": "HELP"}


def test_without_a_mini_program_the_menu_has_three_clicks(app, configure):
    configure(WECHAT_MINIPROGRAM_APP_ID=None)
    from bot.menu import build_menu

    assert [b["key"] for b in build_menu(app.config)["button"]] == ["MY_ORDERS", "MY_ALERTS", "HELP"]


def test_menu_clicks_answer_like_the_words(app, factory, wechat, people):
    factory.user(Role.VENDOR_ENGINEER, vendor=people["vendor"], wechat_openid="openid-li2")
    assert "没有待处理" in wechat.event("openid-li2", "CLICK", EventKey="MY_ORDERS")
    assert "可用指令" in wechat.event("openid-li2", "CLICK", EventKey="HELP")
    # Two different taps in the same second are two events, not a retry.
    moment = next(wechat.times)
    first = message_xml("openid-li2", "event", create_time=moment, Event="CLICK", EventKey="MY_ORDERS")
    second = message_xml("openid-li2", "event", create_time=moment, Event="CLICK", EventKey="HELP")
    assert "没有待处理" in wechat.reply_of(wechat.post(first))
    assert "可用指令" in wechat.reply_of(wechat.post(second))


def test_a_timestamp_of_non_ascii_digits_is_refused(client, plain):
    query = plain.query(timestamp="²")
    query["signature"] = signature(plain.pusher.token, "²", query["nonce"])
    assert client.get(URL, query_string=query | {"echostr": "x"}).status_code == 403


def test_the_url_check_of_a_list_is_the_command_redis_py_would_send():
    """A list's URL check is written to Redis as bytes of its own: the same SET … NX EX that
    redis-py's packing makes, whatever the key holds (non-ASCII included)."""
    from redis.connection import Connection

    from webhooks.inbound import DEDUPE_SECONDS, _set_if_new

    for key in ("weixiu:wechat:seen:official:url:0a1b:ffee", "键:甲", "é"):
        packed = b"".join(Connection().pack_command("SET", key, 1, "NX", "EX", DEDUPE_SECONDS))
        assert _set_if_new(key) == packed, key


def test_a_stalled_redis_does_not_hold_the_answer(app, plain, people, factory):
    """A Redis that accepts connections and never answers: the duplicate check gives up after
    its short request time-out, and WeChat still gets its answer well within 5 s (a step's, and
    a list's, whose check is read after its reads)."""
    import socket
    import threading

    from redis import Redis

    factory.user(Role.VENDOR_ENGINEER, vendor=people["vendor"], wechat_openid="openid-li4")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    real_redis = app.extensions["weixiu.redis"]
    app.extensions["weixiu.redis"] = Redis(host="127.0.0.1", port=listener.getsockname()[1])
    try:
        started = time.monotonic()
        assert "可用指令" in plain.text("openid-li4", "帮助")
        assert time.monotonic() - started < ANSWER_WITHIN_SECONDS
        started = time.monotonic()  # a list: its check is read after the reads
        assert "没有待处理" in plain.text("openid-li4", "我的工单")
        assert time.monotonic() - started < ANSWER_WITHIN_SECONDS
    finally:
        app.extensions["weixiu.redis"] = real_redis
        listener.close()
        for connection, _ in accepted:
            connection.close()


def test_a_list_is_answered_when_redis_fails_before_or_after_the_reads(app, plain, people, factory, monkeypatch):
    """我的工单's URL check is sent before the reads and read after them: Redis failing at
    either point counts the push as new (as the check does without Redis) and the reply is the
    list; every connection taken from the pool is given back, and the checks after it work."""
    from redis import ConnectionPool
    from redis.connection import AbstractConnection
    from redis.exceptions import ConnectionError as RedisConnectionError

    factory.user(Role.VENDOR_ENGINEER, vendor=people["vendor"], wechat_openid="openid-li5")
    taken, given_back = [], []
    real_get, real_release = ConnectionPool.get_connection, ConnectionPool.release

    def get_connection(pool, *args, **kwargs):
        connection = real_get(pool, *args, **kwargs)
        taken.append(connection)
        return connection

    def release(pool, connection):
        given_back.append(connection)
        return real_release(pool, connection)

    def refused(*args, **kwargs):
        raise RedisConnectionError("refused")

    monkeypatch.setattr(ConnectionPool, "get_connection", get_connection)
    monkeypatch.setattr(ConnectionPool, "release", release)
    for step in ("send_packed_command", "read_response"):
        assert "没有待处理" in plain.text("openid-li5", "我的工单")  # a connection in the pool, connected
        taken.clear()
        given_back.clear()
        with monkeypatch.context() as patched:
            patched.setattr(AbstractConnection, step, refused)
            assert "没有待处理" in plain.text("openid-li5", "我的工单"), step
        assert len(taken) == 1 and given_back == taken, step
    query = plain.query()  # the checks after the failures work: a replayed URL reads nothing
    xml = message_xml("openid-li5", "text", Content="我的工单", MsgId=77)
    assert "没有待处理" in plain.reply_of(plain.post(xml, query=query))
    assert plain.reply_of(plain.post(xml, query=query)) == "success"


def test_a_connection_the_database_dropped_is_replaced_and_the_message_answered(
    app, plain, people, factory, monkeypatch, caplog
):
    """The web checks no pooled connection before use (config.settings): when the server has
    dropped one (a restart), the message runs again on a new one instead of going unanswered. The
    list of a sender seen before meets it on the driver's path, which gives that connection up and
    reads once more through SQLAlchemy's."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    li = people["li"]
    with app.app_context():
        db.session.get(User, li.id).wechat_openid = "openid-li"
        db.session.commit()
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("needs a database server that can drop a connection")
        assert plain.text("openid-li", "我的工单") == "目前没有待处理的工单。"  # a pooled connection
        # and again: the sender known, their list is one statement, next time straight to the driver
        assert plain.text("openid-li", "我的工单") == "目前没有待处理的工单。"
    # The pool's idle connections only: other tests' engines in this process keep theirs.
    pooled = [record.dbapi_connection.info.backend_pid for record in list(engine.pool._pool.queue)]
    assert pooled
    # As a web worker runs: the tests' idle check (models.db.ping_when_idle) finds nothing wrong.
    monkeypatch.setattr(engine.dialect, "do_ping", lambda dbapi_connection: True)
    with create_engine(engine.url, poolclass=NullPool).connect() as other:  # not the pool's
        dropped = other.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
            {"pids": pooled},
        )
        assert [row[0] for row in dropped] == [True] * len(pooled)
        other.commit()
    with caplog.at_level("WARNING"):
        assert plain.text("openid-li", "我的工单") == "目前没有待处理的工单。"
    assert "a read on the driver failed (OperationalError)" in caplog.text
    with app.app_context():
        assert engine.pool.checkedout() == 0  # every connection given back, the broken one replaced
    assert plain.text("openid-li", "我的工单") == "目前没有待处理的工单。"
