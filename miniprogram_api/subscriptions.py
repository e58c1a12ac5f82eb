"""订阅消息: which templates the mini-program should ask for (wx.requestSubscribeMessage), and
what the person answered.

How an answer counts is operations.subscribe_consents'; the answer belongs to the WeChat
identity (its mini-program openid), bound or not. WeChat also pushes every popup's answers to the
mini-program's message push (`/wechat/miniprogram`) when it is configured: then those pushes,
signed by WeChat, are the count, and a report here records the answer at once without counting
the same popup a second time (nor letting a client add messages by repeating its report).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from console_api.http import commit
from console_api.route_table import request_body
from console_api.validation import Field
from miniprogram_api.http import current_identity, route
from models import ConsentStatus, WeChatApp
from operations.clock import now_utc
from operations.errors import InvalidInput
from operations.subscribe_consents import consents_of, record_consent

SCHEMA = {"results": Field("object", required=True, nullable=False)}
# wx.requestSubscribeMessage's answer also carries errMsg; "filter" means WeChat hid the prompt
# (a template with the same title): neither is an answer about a template.
IGNORED_KEYS = frozenset({"errMsg"})
IGNORED_VALUES = frozenset({"filter"})
STATUS_LABELS = {ConsentStatus.ACCEPT: "已订阅", ConsentStatus.REJECT: "已拒绝", ConsentStatus.BAN: "已被封禁"}


def configured_templates() -> dict[str, str]:
    """purpose -> template id (WECHAT_SUBSCRIBE_TEMPLATES)."""
    return {str(k): str(v) for k, v in (current_app.config.get("WECHAT_SUBSCRIBE_TEMPLATES") or {}).items() if v}


def subscriptions_payload(openid: str) -> dict[str, Any]:
    templates = configured_templates()
    consents = consents_of(WeChatApp.MINIPROGRAM, openid, list(templates.values()))
    items = []
    for purpose, template_id in templates.items():
        consent = consents.get(template_id)
        items.append(
            {
                "purpose": purpose,
                "template_id": template_id,
                "status": consent.status.value if consent else None,
                "status_label": STATUS_LABELS[consent.status] if consent else "未订阅",
                "remaining": consent.remaining if consent else 0,
            }
        )
    return {"template_ids": list(templates.values()), "items": items}


@route("GET", "/subscriptions", "需要请求订阅的消息模板及我的订阅状态", auth="session", response="Subscriptions")
def list_subscriptions():
    return jsonify(subscriptions_payload(current_identity().miniprogram_openid))


@route(
    "POST",
    "/subscriptions",
    "上报 wx.requestSubscribeMessage 的结果（accept 增加一次可发送次数）",
    auth="session",
    body=SCHEMA,
    response="Subscriptions",
)
def save_subscriptions():
    results = request_body()["results"]
    known = set(configured_templates().values())
    answers: dict[str, ConsentStatus] = {}
    errors: dict[str, str] = {}
    for template_id, value in results.items():
        if template_id in IGNORED_KEYS or (isinstance(value, str) and value in IGNORED_VALUES):
            continue
        if template_id not in known:
            errors[f"results.{template_id[:64]}"] = "不是本小程序请求订阅的模板"
            continue
        try:
            answers[template_id] = ConsentStatus(value) if isinstance(value, str) else None
        except ValueError:
            answers[template_id] = None
        if answers[template_id] is None:
            errors[f"results.{template_id}"] = "取值应为 accept、reject、ban 之一"
    if len(errors) > 20:
        errors = dict(list(errors.items())[:20])
    if errors:
        raise InvalidInput(errors)
    openid = current_identity().miniprogram_openid
    now = now_utc()
    counted = not current_app.config.get("WECHAT_MINIPROGRAM_TOKEN")  # else the message push counts
    for template_id, status in answers.items():
        record_consent(WeChatApp.MINIPROGRAM, openid, template_id, status, now, counted=counted)
    commit()
    return jsonify(subscriptions_payload(openid))
