"""电脑首页通知: the signed-in user's messages, unread count, mark read; an alert message can be
handled from here (POST /alert-plans/<id>/handle)."""

from __future__ import annotations

from flask import current_app, jsonify

from console_api import api
from console_api.alert_serializers import inbox_json
from console_api.http import commit, current_actor, signed_in
from console_api.validation import query_bool, query_int
from models import AlertPlan, db
from operations import inbox
from operations.alerts import plans as alert_plans


def inbox_payloads(messages) -> list[dict]:
    actor = current_actor()
    plan_ids = {message.alert_plan_id for message in messages if message.alert_plan_id}
    plans = {plan.id: plan for plan in db.session.scalars(db.select(AlertPlan).where(AlertPlan.id.in_(plan_ids)))}
    handleable = {plan_id for plan_id, plan in plans.items() if alert_plans.can_handle_now(actor, plan)}
    return [
        inbox_json(message, plans.get(message.alert_plan_id), message.alert_plan_id in handleable)
        for message in messages
    ]


def inbox_page_payload(actor) -> dict:
    """A page of the actor's messages (?unread=true, page, per_page) with the unread count."""
    config = current_app.config
    page = inbox.list_messages(
        actor,
        unread_only=bool(query_bool("unread")),
        page=query_int("page", 1),
        per_page=query_int("per_page", config["DEFAULT_PAGE_SIZE"], maximum=config["MAX_PAGE_SIZE"]),
    )
    return {
        "items": inbox_payloads(page.items),
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "unread": inbox.unread_count(actor),
    }


@api.get("/inbox")
@signed_in
def list_inbox():
    return jsonify(inbox_page_payload(current_actor()))


@api.get("/inbox/unread-count")
@signed_in
def inbox_unread_count():
    return jsonify({"unread": inbox.unread_count(current_actor())})


@api.post("/inbox/<int:message_id>/read")
@signed_in
def mark_inbox_message_read(message_id: int):
    message = inbox.mark_read(current_actor(), message_id)
    commit()
    return jsonify(inbox_payloads([message])[0])


@api.post("/inbox/read-all")
@signed_in
def mark_inbox_read():
    count = inbox.mark_all_read(current_actor())
    commit()
    return jsonify({"marked": count, "unread": 0})
