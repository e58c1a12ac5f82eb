"""The webhooks' XML. In: the parser (webhooks.security.parse_xml) on ElementTree gives each
message the shape xmltodict gave it, which the commands and events read: WeChat's pushes as they
come, and the odd bodies around them. Out: the official account's passive reply is the text
wechatpy's TextReply renders."""

from __future__ import annotations

import pytest
import xmltodict
from wechatpy import parse_message
from wechatpy.replies import TextReply

from bot import replies
from webhooks.security import BadRequest, parse_xml

TEXT = (
    "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[o-engineer]]></FromUserName>"
    "<CreateTime>1764979200</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[ 我的工单 ]]></Content><MsgId>24617832947238</MsgId></xml>"
)
SCAN = (
    "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[o-nurse]]></FromUserName>"
    "<CreateTime>1764979200</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[scancode_waitmsg]]></Event>"
    "<EventKey><![CDATA[report]]></EventKey><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
    "<ScanResult><![CDATA[https://weixiu.example/d/abc]]></ScanResult></ScanCodeInfo></xml>"
)
POPUP = (
    "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[o-manager]]></FromUserName>"
    "<CreateTime>1764979200</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    "<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent>"
    "<List><TemplateId><![CDATA[tpl-alert]]></TemplateId><SubscribeStatusString><![CDATA[accept]]>"
    "</SubscribeStatusString><PopupScene>2</PopupScene></List>"
    "<List><TemplateId><![CDATA[tpl-order]]></TemplateId><SubscribeStatusString><![CDATA[reject]]>"
    "</SubscribeStatusString><PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent></xml>"
)
ONE_ITEM_POPUP = POPUP.replace(
    POPUP[POPUP.index("<List><TemplateId><![CDATA[tpl-order") : POPUP.rindex("</List>") + 7], ""
)


@pytest.mark.parametrize(
    "body",
    [
        TEXT,
        SCAN,
        POPUP,
        ONE_ITEM_POPUP,
        '<?xml version="1.0" encoding="UTF-8"?>' + TEXT,
        "<xml>\n  <MsgType>text</MsgType>\n  <Content>\n  维修 &amp; 保养 &lt;急&gt; &#20320;\n  </Content>\n</xml>",
        "<xml><Empty></Empty><SelfClosing/><Blank>   </Blank><Cdata><![CDATA[]]></Cdata></xml>",
        "<xml><Tagged kind='a'>x</Tagged><Mixed>head<Inner>1</Inner>tail</Mixed><Bare kind='b'/></xml>",
        "<xml><A>1</A><B>2</B><A>3</A></xml>",
        "<other><A>1</A></other>",
        "<xml/>",
    ],
)
def test_messages_are_shaped_as_xmltodict_shapes_them(body):
    expected = (xmltodict.parse(body, disable_entities=True) or {}).get("xml") or {}
    assert parse_xml(body) == {key: "" if value is None else value for key, value in expected.items()}
    assert parse_xml(body.encode()) == parse_xml(body)


def test_nesting_up_to_the_limit_is_read():
    body = "<xml>" + "<A>" * 15 + "1" + "</A>" * 15 + "</xml>"
    value = parse_xml(body)["A"]
    for _ in range(14):
        value = value["A"]
    assert value == "1"


def test_a_text_message_reads_as_the_commands_expect():
    assert parse_xml(TEXT) == {
        "ToUserName": "gh_account",
        "FromUserName": "o-engineer",
        "CreateTime": "1764979200",
        "MsgType": "text",
        "Content": "我的工单",
        "MsgId": "24617832947238",
    }
    assert [item["TemplateId"] for item in parse_xml(POPUP)["SubscribeMsgPopupEvent"]["List"]] == [
        "tpl-alert",
        "tpl-order",
    ]


@pytest.mark.parametrize(
    "body",
    [
        "<xml><A>&undeclared;</A></xml>",  # no DTD may declare it: refused, never expanded
        "<xml><A>1</B></xml>",
        "<xml><A>1</A>",
        "not xml at all",
        "<xml><p:A>1</p:A></xml>",  # a prefix bound to no namespace (WeChat's XML has none)
        "<xml>only text</xml>",
        "<xml><A>1</A></xml><xml><A>2</A></xml>",
        "<xml>" + "<A>" * 5000 + "1" + "</A>" * 5000 + "</xml>",  # deeper than Python recurses
        "<xml>" + "<A>" * 16 + "1" + "</A>" * 16 + "</xml>",
    ],
)
def test_bodies_that_are_no_wechat_message_are_bad_requests(body):
    with pytest.raises(BadRequest):
        parse_xml(body)


@pytest.mark.parametrize(
    "content",
    [
        "我的工单（待处理）\n【停机】GD000001 输液泵 待接单",
        "a ]]> inside <b> & 'c'",
        "长" * (replies.MAX_REPLY_CHARS + 5),
    ],
)
def test_the_reply_is_the_xml_wechatpy_renders(content, monkeypatch):
    monkeypatch.setattr(replies.time, "time", lambda: 1764979200.6)
    xml = replies.text_reply("o-engineer", "gh_account", content)
    safe = replies._cdata_safe
    rendered = TextReply(
        source="gh_account", target="o-engineer", content=safe(replies.clip(content)), time=1764979200
    ).render()
    assert xml == rendered
    reply = parse_message(xml)  # as WeChat reads it: from the account to the sender
    assert (reply.source, reply.target, reply.type) == ("gh_account", "o-engineer", "text")
    assert reply.content == safe(replies.clip(content)) and len(reply.content) <= replies.MAX_REPLY_CHARS
