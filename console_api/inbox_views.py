"""电脑首页通知: the signed-in user's messages, unread count, mark read; an alert message can be
handled from here (POST /alert-plans/<id>/handle)."""

from __future__ import annotations

from flask import jsonify

from console_api.alert_serializers import inbox_json
from console_api.http import commit, current_actor
from console_api.route_table import request_query
from console_api.routes import paging, route
from console_api.validation import Field
from models import AlertPlan, db
from operations import inbox
from operations.alerts import plans as alert_plans

INBOX_QUERY = {"unread": Field("bool", description="true：只看未读"), **paging()}


def inbox_payloads(messages, actor=None) -> list[dict]:
    actor = actor or current_actor()
    plan_ids = {message.alert_plan_id for message in messages if message.alert_plan_id}
    plans = {plan.id: plan for plan in db.session.scalars(db.select(AlertPlan).where(AlertPlan.id.in_(plan_ids)))}
    handleable = {plan_id for plan_id, plan in plans.items() if alert_plans.can_handle_now(actor, plan)}
    return [
        inbox_json(message, plans.get(message.alert_plan_id), message.alert_plan_id in handleable)
        for message in messages
    ]


def inbox_page_payload(actor) -> dict:
    """A page of the actor's messages (?unread=true, page, per_page) with the unread count."""
    query = request_query()
    page = inbox.list_messages(actor, unread_only=bool(query["unread"]), page=query["page"], per_page=query["per_page"])
    return {
        "items": inbox_payloads(page.items),
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "unread": inbox.unread_count(actor),
    }


@route("GET", "/inbox", "电脑首页通知（新的在前）与未读数", query=INBOX_QUERY, response="InboxPage")
def list_inbox():
    return jsonify(inbox_page_payload(current_actor()))


@route("GET", "/inbox/unread-count", "未读通知数", response="UnreadCount")
def inbox_unread_count():
    return jsonify({"unread": inbox.unread_count(current_actor())})


@route("POST", "/inbox/<bigid:message_id>/read", "标为已读", response="InboxMessage")
def mark_inbox_message_read(message_id: int):
    message = inbox.mark_read(current_actor(), message_id)
    commit()
    return jsonify(inbox_payloads([message])[0])


@route("POST", "/inbox/read-all", "全部标为已读", response="ReadAll")
def mark_inbox_read():
    count = inbox.mark_all_read(current_actor())
    commit()
    return jsonify({"marked": count, "unread": 0})
