"""The minute sweep: due alert plans become delivery rows.

Each call handles one batch of plans whose next_run_at has come and returns the ids of the
deliveries to send; the job commits after each batch and hands the ids to the queue. Plans
are locked with SKIP LOCKED on PostgreSQL, so two sweeps share the work instead of doubling
it; and the deliveries' idempotency keys (plan + day + recipient + channel) make even a
doubled decision one message.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import select

from models import (
    AlertPlan,
    AlertPlanRecipient,
    AlertPlanStatus,
    ChannelName,
    DeliveryStatus,
    User,
    db,
)
from operations import outbox
from operations.alert_plans import reschedule, schedule_of
from operations.alert_schedule import step
from operations.alert_subjects import SubjectInfo, describe_subjects
from operations.alert_templates import expiry_notice, render, status_text

BATCH_SIZE = 1000
REMINDER, EXPIRED = "alert.reminder", "alert.expired"
NO_PHONE = "未登记手机号"
NO_WECHAT = "未绑定微信（需登录小程序绑定账号并关注公众号）"


def _due_plans(now: datetime, limit: int) -> list[AlertPlan]:
    query = (
        select(AlertPlan)
        .where(AlertPlan.status == AlertPlanStatus.ACTIVE, AlertPlan.next_run_at <= now)
        .order_by(AlertPlan.next_run_at, AlertPlan.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(db.session.scalars(query))


def sweep_batch(now: datetime, limit: int = BATCH_SIZE) -> tuple[int, list[int]]:
    """Process up to `limit` due plans: (plans processed, ids of new deliveries to send)."""
    plans = _due_plans(now, limit)
    if not plans:
        return 0, []
    subjects = describe_subjects(plans)
    designated: dict[int, list[int]] = defaultdict(list)
    for plan_id, user_id in db.session.execute(
        select(AlertPlanRecipient.alert_plan_id, AlertPlanRecipient.user_id)
        .where(AlertPlanRecipient.alert_plan_id.in_([p.id for p in plans]))
        .order_by(AlertPlanRecipient.user_id)
    ):
        designated[plan_id].append(user_id)

    sends: list[tuple[AlertPlan, date, SubjectInfo, list[int]]] = []
    for plan in plans:
        decision = step(schedule_of(plan), now, plan.last_occurrence_on)
        if decision is None:  # next_run_at was stale (edited outside the operations): recompute
            reschedule(plan)
            if plan.next_run_at is not None and plan.next_run_at <= now:
                plan.next_run_at = None
            continue
        subject = subjects.get(plan.id)
        if decision.send_day is not None and subject is not None:
            related = subject.related if plan.notify_related else []
            recipients = list(dict.fromkeys(u for u in [*related, *designated[plan.id]] if u is not None))
            sends.append((plan, decision.send_day, subject, recipients))
        plan.last_occurrence_on = decision.handled_day
        plan.next_run_at = decision.next_run_at
        if decision.finished:
            plan.status = AlertPlanStatus.EXPIRED

    users = _contacts({user_id for *_, recipients in sends for user_id in recipients})
    rows = [row for send in sends for row in _rows(*send, users, now)]
    ids = outbox.add_deliveries(rows)
    db.session.flush()
    return len(plans), ids


def _contacts(user_ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
    if not user_ids:
        return {}
    return {
        user_id: (phone, openid)
        for user_id, phone, openid in db.session.execute(
            select(User.id, User.phone, User.wechat_openid).where(User.id.in_(user_ids), User.is_active)
        )
    }


def _rows(plan: AlertPlan, day: date, subject: SubjectInfo, recipients: list[int], users, now: datetime) -> list[dict]:
    days_left = (plan.due_on - day).days
    due_text = plan.due_on.isoformat()
    values = {**subject.values, "due_on": due_text, "days_left": max(days_left, 0), "status": status_text(days_left)}
    if days_left >= 0:
        topic, title = REMINDER, f"{values['kind']}即将到期"
        body = render(plan.template, plan.subject, values)
    else:
        topic, title = EXPIRED, f"{values['kind']}已过期"
        body = expiry_notice(values["subject"], values["kind"], due_text)
    payload = {"values": values}
    rows = []
    for user_id in recipients:
        if user_id not in users:  # deactivated since it was chosen
            continue
        phone, openid = users[user_id]
        for channel in plan.channels:
            reason = None
            if channel is ChannelName.SMS and not phone:
                reason = NO_PHONE
            elif channel is ChannelName.WECHAT and not openid:
                reason = NO_WECHAT
            rows.append(
                {
                    "idempotency_key": f"alert:{plan.id}:{day:%Y%m%d}:{user_id}:{channel.value}",
                    "institution_id": plan.institution_id,
                    "channel": channel,
                    "recipient_id": user_id,
                    "alert_plan_id": plan.id,
                    "topic": topic,
                    "title": title,
                    "body": body,
                    "payload": payload,
                    "status": DeliveryStatus.SKIPPED if reason else DeliveryStatus.PENDING,
                    "reason": reason,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "finished_at": now if reason else None,
                }
            )
    return rows
