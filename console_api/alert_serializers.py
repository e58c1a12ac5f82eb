"""JSON shapes of 预警计划, deliveries and the inbox. Moments are shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import datetime

from console_api.serializers import moment
from models import (
    ALERT_PLAN_STATUS_LABELS,
    CHANNEL_LABELS,
    DELIVERY_STATUS_LABELS,
    AlertDroppedDay,
    AlertPlan,
    AlertSubject,
    Delivery,
    InboxMessage,
    OutboxMessage,
)
from models.outbox import idempotency_key
from operations import outbox
from operations.alerts.phases import PHASE_LABELS, phase_of
from operations.alerts.plans import DeliverySummary, schedule_of, shown_due_on
from operations.alerts.schedule import local_day, next_send
from operations.alerts.subjects import SubjectInfo

DROPPED, DROPPED_LABEL = "dropped", "已错过"


def person(user_id: int | None, names: dict[int, str]) -> dict | None:
    return None if user_id is None else {"id": user_id, "display_name": names.get(user_id, "")}


def plan_json(
    plan: AlertPlan,
    info: SubjectInfo | None,
    names: dict[int, str],
    *,
    recipient_ids: list[int],
    summary: DeliverySummary,
    can_handle: bool,
    now: datetime,
) -> dict:
    values = info.values if info else {}
    related = info.related if info and plan.notify_related else []
    schedule = schedule_of(plan)
    # What the sweep will send, not what the plan waits for: a due one that no sweep has taken
    # yet is due now, and one a late sweep will drop is passed over for the one it sends.
    phase = phase_of(plan, local_day(now))
    upcoming = next_send(schedule, now, plan.next_run_at, plan.last_occurrence_on)
    return {
        "id": plan.id,
        "subject": plan.subject.value,
        "credential_id": plan.credential_id,
        "authorization_id": plan.authorization_id,
        "kind_label": values.get("kind"),
        "subject_name": values.get("subject"),
        "unique_codes": values.get("unique_codes"),
        "vendor_name": values.get("vendor_name") if plan.subject is AlertSubject.AUTHORIZATION else None,
        "due_on": shown_due_on(plan).isoformat(),
        "warn_days": plan.warn_days,
        "window_starts_on": schedule.first_day.isoformat(),
        "send_time": plan.send_time.isoformat(timespec="seconds"),
        "channels": [channel.value for channel in plan.channels],
        "channel_labels": [CHANNEL_LABELS[channel] for channel in plan.channels],
        "notify_related": plan.notify_related,
        "related": [person(user_id, names) for user_id in dict.fromkeys(related) if user_id is not None],
        "recipient_ids": recipient_ids,
        "recipients": [person(user_id, names) for user_id in recipient_ids],
        "template": plan.template,
        "status": plan.status.value,
        "status_label": ALERT_PLAN_STATUS_LABELS[plan.status],
        "phase": phase.value,
        "phase_label": PHASE_LABELS[phase],
        "next_send_at": moment(upcoming[0]) if upcoming else None,
        "due_now": upcoming[1] if upcoming else False,
        "last_sent_on": summary.last_sent_on.isoformat() if summary.last_sent_on else None,
        "handled_by": person(plan.handled_by_id, names),
        "handled_at": moment(plan.handled_at),
        "handled_note": plan.handled_note,
        "deliveries": summary.counts,
        "can_handle": can_handle,
    }


def delivery_json(delivery: Delivery, message: OutboxMessage, names: dict[int, str]) -> dict:
    return {
        "date": message.occurrence_on.isoformat() if message.occurrence_on else None,
        "id": delivery.id,
        "key": idempotency_key(message.key, delivery.recipient_id, delivery.channel.value),
        "channel": delivery.channel.value,
        "channel_label": CHANNEL_LABELS[delivery.channel],
        "recipient": person(delivery.recipient_id, names),
        "topic": message.topic,
        "title": message.title,
        "body": message.body,
        "status": delivery.status.value,
        "status_label": DELIVERY_STATUS_LABELS[delivery.status],
        "reason": delivery.reason,
        "provider_id": delivery.provider_id,
        "attempts": delivery.attempts,
        "created_at": moment(delivery.created_at),
        "finished_at": moment(delivery.finished_at),
        # None once finished, and while it waits for its digest (it is not sent on its own).
        "next_attempt_at": (
            moment(delivery.next_attempt_at)
            if delivery.finished_at is None and delivery.next_attempt_at != outbox.HELD_FOR_DIGEST
            else None
        ),
    }


def dropped_json(dropped: AlertDroppedDay) -> dict:
    """A day of the plan that was owed and not sent, in 发送记录 beside the deliveries."""
    return {"date": dropped.day.isoformat(), "status": DROPPED, "status_label": DROPPED_LABEL, "reason": dropped.reason}


def inbox_json(message: InboxMessage, plan: AlertPlan | None, can_handle: bool) -> dict:
    return {
        "id": message.id,
        "topic": message.topic,
        "title": message.title,
        "body": message.body,
        "created_at": moment(message.created_at),
        "read": message.read_at is not None,
        "read_at": moment(message.read_at),
        "alert_plan_id": message.alert_plan_id,
        "alert_status": plan.status.value if plan else None,
        "alert_status_label": ALERT_PLAN_STATUS_LABELS[plan.status] if plan else None,
        "can_handle": can_handle,
        # A work-order message opens its order (工单号 in the title).
        "work_order_id": message.work_order_id,
    }
