"""The equipment manager on the phone: pending 预警计划 and 处理 (acknowledge), and the inbox.

Shapes are the PC API's (console_api.alert_views / inbox_views); the rules (who may list or
handle a plan, whose messages) are the operations'.
"""

from __future__ import annotations

from flask import current_app, jsonify

from console_api.alert_views import plan_payloads
from console_api.http import commit, current_actor
from console_api.inbox_views import inbox_page_payload, inbox_payloads
from console_api.validation import Field, optional_body, query_enum, query_int, query_str
from miniprogram_api.http import route
from models import AlertPlanStatus, AlertSubject
from operations import inbox
from operations.alerts import plans as alert_plans

HANDLE_SCHEMA = {"note": Field("str", max_length=200)}
PAGE_QUERY = {"page": "页码，从 1 开始", "per_page": "每页条数"}


@route(
    "GET",
    "/alerts",
    "预警计划（默认只列待处理的，最早到期的在前）",
    query={
        "status": "active|handled|expired|cancelled，默认 active",
        "subject": "credential|authorization",
        "q": "关键字",
        **PAGE_QUERY,
    },
    response="AlertPage",
)
def list_alerts():
    actor = current_actor()
    config = current_app.config
    page = alert_plans.list_plans(
        actor,
        status=query_enum("status", AlertPlanStatus) or AlertPlanStatus.ACTIVE,
        subject=query_enum("subject", AlertSubject),
        keyword=query_str("q", max_length=100),
        page=query_int("page", 1),
        per_page=query_int("per_page", config["DEFAULT_PAGE_SIZE"], maximum=config["MAX_PAGE_SIZE"]),
    )
    return jsonify(
        {"items": plan_payloads(actor, page.items), "total": page.total, "page": page.page, "per_page": page.per_page}
    )


@route("GET", "/alerts/<int:plan_id>", "预警计划详情", response="AlertPlan")
def alert_detail(plan_id: int):
    actor = current_actor()
    return jsonify(plan_payloads(actor, [alert_plans.get_plan(actor, plan_id)])[0])


@route("POST", "/alerts/<int:plan_id>/handle", "处理预警：此后不再提醒任何人", body=HANDLE_SCHEMA, response="AlertPlan")
def handle_alert(plan_id: int):
    actor = current_actor()
    plan = alert_plans.handle_plan(actor, plan_id, optional_body(HANDLE_SCHEMA).get("note"))
    commit()
    return jsonify(plan_payloads(actor, [plan])[0])


@route(
    "GET",
    "/inbox",
    "我的消息（unread=true 只看未读）",
    query={"unread": "true：只看未读", **PAGE_QUERY},
    response="InboxPage",
)
def list_inbox():
    return jsonify(inbox_page_payload(current_actor()))


@route("POST", "/inbox/<int:message_id>/read", "标记消息为已读", response="InboxMessage")
def mark_inbox_read(message_id: int):
    message = inbox.mark_read(current_actor(), message_id)
    commit()
    return jsonify(inbox_payloads([message])[0])
