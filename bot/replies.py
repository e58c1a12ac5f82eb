"""The bot's words, and the passive reply they travel in (the XML of wechatpy's TextReply)."""

from __future__ import annotations

import html
import time

from flask import current_app

MAX_REPLY_CHARS = 600

HELP = (
    "微修 · 可用指令：\n"
    "我的工单 — 待处理的工单\n"
    "接单 GD000123 — 接单\n"
    "出发 GD000123 — 已出发\n"
    "到场 GD000123 — 已到场\n"
    "完成 GD000123 — 填写服务报告\n"
    "我的预警 — 预警中的计划\n"
    "处理 预警号 [备注] — 处理预警\n"
    "帮助 — 显示本说明"
)
WELCOME = (
    "欢迎关注微修！工单与预警会通过本公众号通知您。\n"
    "请在电脑端「绑定微信」扫码，或在小程序中输入绑定码完成绑定。\n\n" + HELP
)
NOT_BOUND = "您的微信尚未绑定平台账号。请在电脑端「绑定微信」扫描二维码，或在小程序中输入绑定码完成绑定。"
BIND_FAILED = "绑定失败：绑定码无效或已过期，请在电脑端重新生成绑定二维码。"
BIND_LIMITED = "绑定尝试过于频繁，请稍后再试。"
COMMANDS_LIMITED = "操作过于频繁，请稍后再试。"
TRY_LATER = "系统繁忙，请稍后再试。"
NEED_NUMBER = "请在指令后加上工单号，例如：{command} GD000123"
NEED_PLAN = "请在指令后加上预警号，例如：处理 12 已续期"


def clip(text: str, limit: int = MAX_REPLY_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cdata_safe(text: str) -> str:
    # wechatpy writes every field as <![CDATA[…]]>: a "]]>" inside would end it early.
    return text.replace("]]>", "]] >")


def text_reply(to_openid: str, from_account: str, content: str) -> str:
    """A passive text reply (XML), at most MAX_REPLY_CHARS characters: the text wechatpy's
    TextReply renders, written out (its field objects cost 30–35 µs of the webhook's 我的工单)."""
    return (
        "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n"
        f"<Content><![CDATA[{_cdata_safe(clip(content))}]]></Content>\n"
        f"<FromUserName><![CDATA[{_cdata_safe(from_account)}]]></FromUserName>\n"
        f"<ToUserName><![CDATA[{_cdata_safe(to_openid)}]]></ToUserName>\n"
        f"<CreateTime>{int(time.time())}</CreateTime>\n</xml>"
    )


def miniprogram_link(label: str, path: str) -> str:
    """A text link that opens the mini-program (works when it is linked to the official account);
    the plain label with the page when no mini-program is configured."""
    appid = current_app.config.get("WECHAT_MINIPROGRAM_APP_ID")
    if not appid:
        return f"{label}（小程序页面：{path}）"
    return (
        f'<a data-miniprogram-appid="{html.escape(appid)}" data-miniprogram-path="{html.escape(path)}" '
        f'href="https://mp.weixin.qq.com">{html.escape(label)}</a>'
    )
