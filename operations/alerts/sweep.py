"""The minute sweep: due alert plans become delivery rows.

Each call handles one batch of plans whose next_run_at has come and returns the ids of the
deliveries to send; the job commits after each batch and hands the ids to the queue. Plans
are locked with SKIP LOCKED on PostgreSQL, so two sweeps share the work instead of doubling
it; and the outbox's uniqueness (plan + day, then recipient + channel) makes even a doubled
decision one message. Days a late sweep drops are written beside them, as unique per plan and
day (a quiet morning writes none).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import Row, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite

from models import (
    AlertDroppedDay,
    AlertPlan,
    AlertPlanStatus,
    ChannelName,
    Institution,
    db,
)
from models.db import UTCDateTime
from operations import bulk, outbox
from operations.alerts import plans as alert_plans
from operations.alerts.plans import designated_by_plan, schedule_of
from operations.alerts.schedule import ONE_DAY, local_day, step
from operations.alerts.subjects import SubjectInfo, describe_subjects
from operations.alerts.templates import EXPIRED, content

BATCH_SIZE = 2500  # plans per transaction: measured fastest for the 20,000-plan morning (bench/)
DROPPED_REASON = "错过发送时间（定时任务未运行），当天的提醒不再补发"
INACTIVE_REASON = "医疗机构停用期间的提醒不再补发"


# What the sweep reads of a plan: plain rows, not entities (a thousand a batch).
_PLAN_COLUMNS = (
    AlertPlan.id,
    AlertPlan.subject,
    AlertPlan.credential_id,
    AlertPlan.authorization_id,
    AlertPlan.service_plan_id,
    AlertPlan.due_on,
    AlertPlan.warn_days,
    AlertPlan.send_time,
    AlertPlan.next_run_at,
    AlertPlan.last_occurrence_on,
    AlertPlan.notify_related,
    AlertPlan.template,
    AlertPlan.channel_inbox,
    AlertPlan.channel_sms,
    AlertPlan.channel_wechat,
)


def _due_plans(now: datetime, limit: int) -> list[Row]:
    query = (
        select(*_PLAN_COLUMNS)
        .where(
            AlertPlan.status == AlertPlanStatus.ACTIVE,
            AlertPlan.next_run_at <= now,
            # A deactivated institution's plans wait, untouched; reactivation settles the days
            # they missed (drop_missed_while_inactive).
            AlertPlan.institution_id.in_(select(Institution.id).where(Institution.is_active.is_(True))),
        )
        .order_by(AlertPlan.next_run_at, AlertPlan.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=AlertPlan, skip_locked=True)
    return list(db.session.execute(query))


_CHANNEL_COLUMNS = tuple((channel.value, f"channel_{channel.value}") for channel in ChannelName)


def _channels(plan: Row) -> list[str]:
    return [channel for channel, column in _CHANNEL_COLUMNS if getattr(plan, column)]


def any_due(now: datetime) -> bool:
    """Whether a plan is still due (a sweep elsewhere holds it, uncommitted): its reminders are not
    all written yet, so no digest is decided before they are (operations.alerts.digests)."""
    query = select(AlertPlan.id).where(
        AlertPlan.status == AlertPlanStatus.ACTIVE,
        AlertPlan.next_run_at <= now,
        AlertPlan.institution_id.in_(select(Institution.id).where(Institution.is_active.is_(True))),
    )
    return db.session.scalar(query.limit(1)) is not None


def sweep_batch(
    now: datetime, limit: int | None = None, digest_channels: frozenset[str] = frozenset()
) -> tuple[int, list[outbox.NewMessage]]:
    """Process up to `limit` due plans: (plans processed, the new messages to send). Their SMS and
    WeChat on `digest_channels` (those with a digest template) wait for the digest decision."""
    limit = limit or BATCH_SIZE
    plans = _due_plans(now, limit)
    if not plans:
        return 0, []
    subjects = describe_subjects(plans)
    designated = designated_by_plan([plan.id for plan in plans])

    sends: list[tuple[Row, date, SubjectInfo, list[int]]] = []
    dropped: list[dict] = []
    # Each plan's new (last_occurrence_on, next_run_at, status), column by column: one UPDATE for
    # the batch (_move), not an UPDATE per send time with thousands of bound ids.
    moves = Moves([], [], [], [])
    for plan in plans:
        decision = step(schedule_of(plan), now, plan.next_run_at, plan.last_occurrence_on)
        subject = subjects.get(plan.id)
        if decision.send_day is not None and subject is not None:
            related = subject.related if plan.notify_related else []
            recipients = list(dict.fromkeys(u for u in [*related, *designated[plan.id]] if u is not None))
            sends.append((plan, decision.send_day, subject, recipients))
        dropped.extend(
            {"alert_plan_id": plan.id, "day": day, "reason": DROPPED_REASON, "created_at": now}
            for day in decision.dropped
        )
        # A plan whose window has run out is the schedule ending, not a decision: like the sweep's
        # own clock (next_run_at), it is not in the 操作日志.
        status = AlertPlanStatus.EXPIRED if decision.finished else AlertPlanStatus.ACTIVE
        moves.ids.append(plan.id)
        moves.days.append(decision.handled_day)
        moves.next_runs.append(decision.next_run_at)
        moves.statuses.append(status.value)

    _move(moves, now)
    if dropped:
        _record_dropped(dropped)
    return len(plans), outbox.fan_out([_notice(*send, digest_channels) for send in sends], now)


# The batch's plans move on in one statement keyed on their ids (one array each, not a bound
# parameter per plan): the pk index finds the 2,500 rows, as a hand-written UPDATE would. Each array
# goes as one text literal (operations.bulk.array_literal).
_MOVE = """
UPDATE alert_plans
   SET last_occurrence_on = m.last_occurrence_on, next_run_at = m.next_run_at AT TIME ZONE 'UTC', status = m.status,
       updated_at = :now
  FROM unnest(CAST(:ids AS INTEGER[]), CAST(:days AS DATE[]), CAST(:next_runs AS TIMESTAMPTZ[]),
              CAST(:statuses AS VARCHAR[])) AS m (id, last_occurrence_on, next_run_at, status)
 WHERE alert_plans.id = m.id AND alert_plans.id = ANY(CAST(:ids AS INTEGER[]))
"""


class Moves(NamedTuple):
    ids: list[int]
    days: list[date | None]  # last_occurrence_on
    next_runs: list[datetime | None]
    statuses: list[str]


def _move(moves: Moves, now: datetime) -> None:
    """Set each plan's last_occurrence_on, next_run_at and status."""
    if db.session.get_bind().dialect.name != "postgresql":
        rows = zip(*moves, strict=True)
        bulk.update(
            AlertPlan.__table__,
            [
                {"id": plan_id, "last_occurrence_on": day, "next_run_at": at, "status": AlertPlanStatus(status)}
                | {"updated_at": now}
                for plan_id, day, at, status in rows
            ],
        )
        return
    db.session.execute(
        text(_MOVE).bindparams(bindparam("now", type_=UTCDateTime())),
        {
            "ids": bulk.array_literal(moves.ids),
            "days": bulk.array_literal(moves.days),
            "next_runs": bulk.array_literal(moves.next_runs),
            "statuses": bulk.array_literal(moves.statuses),
            "now": now,
        },
    )


def _record_dropped(rows: list[dict]) -> None:
    """One INSERT for the batch; a day already recorded (two sweeps deciding alike) stays once."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(AlertDroppedDay).on_conflict_do_nothing(), rows)


def _notice(
    plan: Row, day: date, subject: SubjectInfo, recipients: list[int], digest_channels: frozenset[str]
) -> outbox.Notice:
    message = content(plan.subject, plan.template, subject.values, plan.due_on, day)
    channels = _channels(plan)
    return outbox.Notice(
        key=f"alert:{plan.id}:{day:%Y%m%d}",  # with recipient and channel: once a day per person and channel
        topic=message.topic,
        title=message.title,
        body=message.body,
        # The send time names its slot: the reminders a digest gathers are those of one slot.
        payload={"values": message.values, "send_time": f"{plan.send_time:%H:%M}"},
        recipient_ids=recipients,
        channels=channels,
        alert_plan_id=plan.id,
        occurrence_on=day,
        digest_channels=digest_channels.intersection(channels),
    )


def drop_missed_while_inactive(institution_id: int, now: datetime) -> int:
    """At reactivation: the reminders the institution's plans owed while it was deactivated are
    dropped (named on the plan's record with INACTIVE_REASON), and each plan goes on from its next
    occurrence, as if the sweep had passed over those days. As after a sweep that was down, the
    expiry notice is the last word and still goes out. Returns how many days were dropped."""
    plans = db.session.scalars(
        select(AlertPlan).where(
            AlertPlan.institution_id == institution_id,
            AlertPlan.status == AlertPlanStatus.ACTIVE,
            AlertPlan.next_run_at <= now,
        )
    ).all()
    dropped: list[dict] = []
    for plan in plans:
        schedule = schedule_of(plan)
        owed_on = local_day(plan.next_run_at)
        latest = schedule.latest_due(now, owed_on)
        if latest is None:  # not the schedule's next_run_at: the sweep sets it right
            continue
        first = max(owed_on, schedule.first_day)
        last_missed = latest - ONE_DAY if schedule.is_expiry_notice(latest) else latest
        missed = [first + ONE_DAY * n for n in range((last_missed - first).days + 1)]
        if not missed:
            continue
        following = latest if schedule.is_expiry_notice(latest) else schedule.next_occurrence(latest)
        plan.last_occurrence_on = last_missed
        plan.next_run_at = schedule.at(following)
        plan.updated_at = now
        dropped.extend(
            {"alert_plan_id": plan.id, "day": day, "reason": INACTIVE_REASON, "created_at": now} for day in missed
        )
    if dropped:
        _record_dropped(dropped)
    db.session.flush()
    return len(dropped)


DAY_PASSED = "提醒日已过"
DUE_DATE_CHANGED = "到期日已变更"


def stale_reasons(deliveries: Sequence[outbox.Claimed], now: datetime) -> dict[int, str]:
    """Delivery id -> why it no longer holds, for those of `deliveries` whose reminder has gone
    stale while it waited (a retry, a send job that came late): its plan was handled or cancelled,
    its subject got a new expiry date, or its day (Shanghai) has passed. As in the sweep's catch-up,
    a reminder from an earlier day is not sent late (the day's own follows), but the expiry notice
    is the last word and still goes. One query for all of them."""
    reminders = [delivery for delivery in deliveries if delivery.message.alert_plan_id is not None]
    if not reminders:
        return {}
    plans = {
        row.id: row
        for row in db.session.execute(
            select(AlertPlan.id, AlertPlan.status, AlertPlan.subject, AlertPlan.due_on, AlertPlan.warn_days).where(
                AlertPlan.id.in_({delivery.message.alert_plan_id for delivery in reminders})
            )
        )
    }
    today = local_day(now)
    reasons = {}
    for delivery in reminders:
        plan = plans.get(delivery.message.alert_plan_id)
        if plan is None:
            continue
        reason = reminder_stale(delivery.message, plan.status, alert_plans.shown_due_on(plan), today)
        if reason:
            reasons[delivery.id] = reason
    return reasons


def reminder_stale(message: Row, status: AlertPlanStatus, due_on: date, today: date) -> str | None:
    """Why a reminder (its message) no longer holds, now that its plan is `status` with the expiry
    date `due_on` (as shown: an overdue occurrence's own, which stays while its reminders are
    carried on) and it is `today` in Shanghai; None while it does."""
    told_due_on = ((message.payload or {}).get("values") or {}).get("due_on")
    if status is AlertPlanStatus.HANDLED:
        return alert_plans.HANDLED
    if status is AlertPlanStatus.CANCELLED:
        return alert_plans.CANCELLED
    if told_due_on is not None and told_due_on != due_on.isoformat():
        return DUE_DATE_CHANGED
    if message.occurrence_on is not None and message.occurrence_on < today and message.topic != EXPIRED:
        return DAY_PASSED
    return None
