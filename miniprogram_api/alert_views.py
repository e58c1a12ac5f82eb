"""The equipment manager on the phone: pending 预警计划 and 处理 (acknowledge), and the inbox.

Shapes are the PC API's (console_api.alert_views / inbox_views); the rules (who may list or
handle a plan, whose messages) are the operations'.
"""

from __future__ import annotations

from dataclasses import replace

from flask import jsonify

from console_api.alert_views import HANDLE_SCHEMA, plan_payloads
from console_api.alert_views import LIST_QUERY as PC_ALERTS_QUERY
from console_api.http import commit, current_actor
from console_api.inbox_views import INBOX_QUERY, inbox_page_payload, inbox_payloads
from console_api.route_table import request_body, request_query
from miniprogram_api.http import route
from models import AlertPlanStatus
from operations import inbox
from operations.alerts import plans as alert_plans

# The phone's lists are by phase (预警中, 到期未处理): a phase names its own statuses (到期未处理
# includes a plan whose last notice has gone), so only a bare list defaults to the active plans.
ALERTS_QUERY = {
    **PC_ALERTS_QUERY,
    "status": replace(PC_ALERTS_QUERY["status"], description="不给 status 也不给 phase 时只列提醒中的（active）"),
}


@route(
    "GET",
    "/alerts",
    "预警计划（phase=warning 预警中、overdue 到期未处理；都不给时列提醒中的；最早到期的在前）",
    query=ALERTS_QUERY,
    response="AlertPage",
)
def list_alerts():
    actor = current_actor()
    query = request_query()
    status = query["status"]
    if status is None and query["phase"] is None:
        status = AlertPlanStatus.ACTIVE
    page = alert_plans.list_plans(
        actor,
        status=status,
        phase=query["phase"],
        subject=query["subject"],
        keyword=query["q"],
        page=query["page"],
        per_page=query["per_page"],
    )
    return jsonify(
        {"items": plan_payloads(actor, page.items), "total": page.total, "page": page.page, "per_page": page.per_page}
    )


@route("GET", "/alerts/<int:plan_id>", "预警计划详情", response="AlertPlan")
def alert_detail(plan_id: int):
    actor = current_actor()
    return jsonify(plan_payloads(actor, [alert_plans.get_plan(actor, plan_id)])[0])


@route(
    "POST",
    "/alerts/<int:plan_id>/handle",
    "处理预警：此后不再提醒任何人",
    body=HANDLE_SCHEMA,
    body_required=False,
    response="AlertPlan",
    errors=(409,),
)
def handle_alert(plan_id: int):
    actor = current_actor()
    plan = alert_plans.handle_plan(actor, plan_id, request_body().get("note"))
    commit()
    return jsonify(plan_payloads(actor, [plan])[0])


@route(
    "GET",
    "/inbox",
    "我的消息（unread=true 只看未读）",
    query=INBOX_QUERY,
    response="InboxPage",
)
def list_inbox():
    return jsonify(inbox_page_payload(current_actor()))


@route("POST", "/inbox/<bigid:message_id>/read", "标记消息为已读", response="InboxMessage")
def mark_inbox_read(message_id: int):
    message = inbox.mark_read(current_actor(), message_id)
    commit()
    return jsonify(inbox_payloads([message])[0])
